// Kafka's error codes, by Kafka's own numbers and names. The one table the project uses.
export const ErrorCode = {
    NONE: 0,
    UNKNOWN_TOPIC_OR_PARTITION: 3,
    REQUEST_TIMED_OUT: 7,
    INVALID_TOPIC_EXCEPTION: 17,
    TOPIC_ALREADY_EXISTS: 36,
    INVALID_PARTITIONS: 37,
    INVALID_REPLICATION_FACTOR: 38,
    INVALID_REQUEST: 42,
    NOT_CONTROLLER: 41,
    STALE_BROKER_EPOCH: 77,
    DUPLICATE_BROKER_REGISTRATION: 101,
    BROKER_ID_NOT_REGISTERED: 102,
};
const namesByCode = new Map(Object.entries(ErrorCode).map(([name, code]) => [code, name]));
export function errorName(code) {
    return namesByCode.get(code) ?? `UNKNOWN_ERROR_${code}`;
}
//# sourceMappingURL=errors.js.map