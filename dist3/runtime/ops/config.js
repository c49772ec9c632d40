// Node configuration from a server.properties file, with Kafka's key names where Kafka has
// them. Unknown keys, wrong types and missing required keys stop the node with one line
// naming the key (and the line of the file).
export class ConfigError extends Error {
}
const integer = (min, max = Number.MAX_SAFE_INTEGER) => (value) => {
    if (!/^-?\d+$/.test(value))
        throw new Error(`expected an integer, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max)
        throw new Error(`expected an integer in [${min}, ${max}], got ${n}`);
    return n;
};
const text = (value) => {
    if (value === '')
        throw new Error('expected a value');
    return value;
};
const list = (value) => value.split(',').map((v) => v.trim()).filter((v) => v !== '');
const roles = (value) => {
    const parts = list(value);
    for (const role of parts)
        if (role !== 'broker' && role !== 'controller')
            throw new Error(`unknown role "${role}" (broker, controller)`);
    if (parts.length === 0)
        throw new Error('expected broker, controller or both');
    return parts;
};
const voters = (value) => {
    const ids = list(value).map((voter) => {
        const match = /^(\d+)(@.+)?$/.exec(voter);
        if (match === null)
            throw new Error(`expected id or id@host:port, got "${voter}"`);
        return Number(match[1]);
    });
    if (ids.length === 0)
        throw new Error('expected at least one voter');
    return ids;
};
export const configKeys = {
    'node.id': { field: 'nodeId', parse: integer(1, 65535), required: true },
    'process.roles': { field: 'processRoles', parse: roles, default: ['broker', 'controller'] },
    'controller.quorum.voters': { field: 'controllerQuorumVoters', parse: voters, required: true },
    'cluster.id': { field: 'clusterId', parse: text, default: 'logmesh' },
    'log.dirs': { field: 'logDirs', parse: list, required: true },
    'nats.servers': { field: 'natsServers', parse: list, default: ['nats://127.0.0.1:4222'] },
    listeners: { field: 'listeners', parse: text, default: 'PLAINTEXT://127.0.0.1:9092' },
    'advertised.listeners': { field: 'advertisedListeners', parse: text, default: '' },
    'metrics.port': { field: 'metricsPort', parse: integer(0, 65535), default: 0 },
    'controller.quorum.election.timeout.ms': { field: 'electionTimeoutMs', parse: integer(10), default: 1000 },
    'controller.quorum.heartbeat.interval.ms': { field: 'heartbeatIntervalMs', parse: integer(1), default: 500 },
    'broker.heartbeat.interval.ms': { field: 'brokerHeartbeatIntervalMs', parse: integer(1), default: 2000 },
    'broker.session.timeout.ms': { field: 'brokerSessionTimeoutMs', parse: integer(1), default: 9000 },
    'metadata.snapshot.entries': { field: 'metadataSnapshotEntries', parse: integer(1), default: 1000 },
};
/** Parses server.properties text (plus `key=value` overrides). `source` names the file in errors. */
export function parseConfig(textContent, source, overrides = []) {
    const values = new Map();
    textContent.split(/\r?\n/).forEach((rawLine, i) => {
        const line = rawLine.trim();
        if (line === '' || line.startsWith('#') || line.startsWith('!'))
            return;
        const eq = line.search(/[=:]/);
        if (eq <= 0)
            throw new ConfigError(`${source}:${i + 1}: expected key=value, got "${line}"`);
        values.set(line.slice(0, eq).trim(), { value: line.slice(eq + 1).trim(), where: `${source}:${i + 1}` });
    });
    for (const override of overrides) {
        const eq = override.indexOf('=');
        if (eq <= 0)
            throw new ConfigError(`--override: expected key=value, got "${override}"`);
        values.set(override.slice(0, eq).trim(), { value: override.slice(eq + 1).trim(), where: '--override' });
    }
    const config = {};
    for (const [key, { value, where }] of values) {
        const spec = configKeys[key];
        if (spec === undefined)
            throw new ConfigError(`${where}: unknown key "${key}"`);
        try {
            config[spec.field] = spec.parse(value);
        }
        catch (error) {
            throw new ConfigError(`${where}: ${key}: ${error.message}`);
        }
    }
    for (const [key, spec] of Object.entries(configKeys)) {
        if (config[spec.field] !== undefined)
            continue;
        if (spec.required === true)
            throw new ConfigError(`${source}: missing required key "${key}"`);
        config[spec.field] = spec.default;
    }
    const result = config;
    if (result.advertisedListeners === '')
        result.advertisedListeners = result.listeners;
    if (result.processRoles.includes('controller') && !result.controllerQuorumVoters.includes(result.nodeId)) {
        throw new ConfigError(`${source}: controller.quorum.voters does not list node.id ${result.nodeId}, but process.roles includes controller`);
    }
    return result;
}
/** host:port of the first listener, as brokers advertise it. */
export function listenerHostPort(listeners) {
    const first = listeners.split(',')[0].trim();
    return first.replace(/^[A-Z_]+:\/\//, '');
}
//# sourceMappingURL=config.js.map