// Actors stay pure (shared/DESIGN.md, "Rules that make determinism possible"): nothing in
// actors/ reads the clock, randomness, timers, the file system or the network, or imports
// the hosts. A static scan of the sources, so that a slip fails `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const forbidden = [
    [/\bDate\.now\b|\bnew Date\(/, 'reads the clock'],
    [/\bperformance\.now\b|\bprocess\.hrtime\b/, 'reads the clock'],
    [/\bMath\.random\b|\bcrypto\.getRandomValues\b|\brandomUUID\b/, 'uses randomness'],
    [/\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b|\bqueueMicrotask\b/, 'uses timers'],
    [/from ['"](node:)?(fs|fs\/promises|net|dgram|http|https|child_process|crypto|worker_threads|os)['"]/, 'does I/O or reads the host'],
    [/from ['"](nats|pino|prom-client)['"]/, 'uses a host library'],
    [/from ['"](\.\.\/)+(runtime|sim)\//, 'imports a host layer'],
    [/\bprocess\.(env|argv|stdout|stderr)\b/, 'reads the process'],
];
function sources(dir) {
    return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        if (statSync(path).isDirectory())
            return sources(path);
        return path.endsWith('.ts') ? [path] : [];
    });
}
test('nothing in actors/ touches the clock, randomness, timers, I/O or the hosts', () => {
    const files = sources(join(root, 'actors'));
    assert.ok(files.length >= 8, `found the actor sources (${files.length})`);
    const offences = [];
    for (const file of files) {
        readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
            if (/^\s*(\/\/|\*)/.test(line))
                return;
            for (const [pattern, what] of forbidden) {
                if (pattern.test(line))
                    offences.push(`${relative(root, file)}:${i + 1} ${what}: ${line.trim()}`);
            }
        });
    }
    assert.deepEqual(offences, []);
});
//# sourceMappingURL=purity.test.js.map