// TypeScript shapes of the protobuf messages in schema.ts (field names camelCased, as
// protobufjs decodes them). Events are named as facts arriving at an actor.
export const wireKinds = [
    'VoteRequest', 'VoteResponse', 'AppendEntriesRequest', 'AppendEntriesResponse',
    'InstallSnapshotRequest', 'InstallSnapshotResponse', 'BrokerRegistrationRequest',
    'BrokerRegistrationResponse', 'BrokerHeartbeatRequest', 'BrokerHeartbeatResponse',
    'MetadataFetchRequest', 'MetadataFetchResponse', 'CreateTopicsRequest', 'CreateTopicsResponse',
    'DeleteTopicsRequest', 'DeleteTopicsResponse', 'DescribeQuorumRequest', 'DescribeQuorumResponse',
];
//# sourceMappingURL=messages.js.map