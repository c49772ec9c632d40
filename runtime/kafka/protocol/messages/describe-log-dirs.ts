// DescribeLogDirs: request and response as Apache Kafka 3.9 declares them in
// clients/src/main/resources/common/message/DescribeLogDirs{Request,Response}.json (v0-4,
// flexible from v2), plus two tagged fields of logmesh's own on each partition: the log
// cleaner's dirty ratio and lag for a compacted log. Tagged fields are Kafka's extension
// mechanism; a client that does not know a tag skips it. The tags are far above any Kafka uses.
import type { MessageSpec } from '../schema.js';

/** Tags of logmesh's cleaner fields on DescribeLogDirsPartition (flexible versions only). */
export const logmeshDirtyRatioTag = 10_000;
export const logmeshCleanerLagMsTag = 10_001;

export const DescribeLogDirsRequest = {
  name: 'DescribeLogDirsRequest',
  apiKey: 35,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '2+',
  fields: [
    // null: every topic and partition.
    { name: 'topics', type: '[]DescribableLogDirTopic', versions: '0+', nullableVersions: '0+', fields: [
      { name: 'topic', type: 'string', versions: '0+' },
      { name: 'partitions', type: '[]int32', versions: '0+' },
    ] },
  ],
} as const satisfies MessageSpec;

export const DescribeLogDirsResponse = {
  name: 'DescribeLogDirsResponse',
  apiKey: 35,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '3+' },
    { name: 'results', type: '[]DescribeLogDirsResult', versions: '0+', fields: [
      { name: 'errorCode', type: 'int16', versions: '0+' },
      { name: 'logDir', type: 'string', versions: '0+' },
      { name: 'topics', type: '[]DescribeLogDirsTopic', versions: '0+', fields: [
        { name: 'name', type: 'string', versions: '0+' },
        { name: 'partitions', type: '[]DescribeLogDirsPartition', versions: '0+', fields: [
          { name: 'partitionIndex', type: 'int32', versions: '0+' },
          { name: 'partitionSize', type: 'int64', versions: '0+' },
          { name: 'offsetLag', type: 'int64', versions: '0+' },
          { name: 'isFutureKey', type: 'bool', versions: '0+' },
          { name: 'logmeshDirtyRatio', type: 'float64', versions: '2+', taggedVersions: '2+', tag: logmeshDirtyRatioTag, default: -1 },
          { name: 'logmeshCleanerLagMs', type: 'int64', versions: '2+', taggedVersions: '2+', tag: logmeshCleanerLagMsTag, default: -1 },
        ] },
      ] },
      { name: 'totalBytes', type: 'int64', versions: '4+', default: -1 },
      { name: 'usableBytes', type: 'int64', versions: '4+', default: -1 },
    ] },
  ],
} as const satisfies MessageSpec;
