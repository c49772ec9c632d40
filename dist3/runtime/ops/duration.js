// "60s", "2m", "500ms", "1h" -> milliseconds. A bare number means seconds.
export function parseDuration(text) {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
    if (match === null)
        throw new Error(`bad duration "${text}" (examples: 500ms, 60s, 2m)`);
    const value = Number(match[1]);
    const unit = match[2] ?? 's';
    const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
    return Math.round(value * factor);
}
export function formatDuration(ms) {
    if (ms % 60_000 === 0 && ms >= 60_000)
        return `${ms / 60_000}m`;
    if (ms % 1000 === 0)
        return `${ms / 1000}s`;
    return `${ms}ms`;
}
/** "1..200" or "42" -> [from, to]. */
export function parseSeedRange(text) {
    const match = /^(\d+)(?:\.\.(\d+))?$/.exec(text.trim());
    if (match === null)
        throw new Error(`bad seed range "${text}" (examples: 42, 1..200)`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from)
        throw new Error(`bad seed range "${text}": ${to} < ${from}`);
    return [from, to];
}
//# sourceMappingURL=duration.js.map