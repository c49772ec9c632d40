// pino loggers for node processes and tools. JSON lines on stdout for nodes; tools that
// print results on stdout log to stderr instead.
import pino from 'pino';
export function createLogger(options = {}) {
    const destination = pino.destination({ fd: options.toStderr === true ? 2 : 1, sync: true });
    return pino({ level: options.level ?? process.env.LOGMESH_LOG_LEVEL ?? 'info', name: options.name, base: undefined }, destination);
}
export const silentLogger = pino({ level: 'silent' });
//# sourceMappingURL=logger.js.map