import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, configKeys, logConfigOf, parseConfig } from '../../../runtime/ops/config.js';
import { repoRoot } from '../real-cluster-harness.js';

const good = [
  '# a comment',
  'node.id=2',
  'controller.quorum.voters=1@127.0.0.1:9093,2@127.0.0.1:9094,3@127.0.0.1:9095',
  'log.dirs=/tmp/x',
  'nats.servers=nats://127.0.0.1:4222',
].join('\n');

test('a server.properties file parses into typed settings with Kafka defaults', () => {
  const config = parseConfig(good, 'server.properties');
  assert.equal(config.nodeId, 2);
  assert.deepEqual(config.controllerQuorumVoters, [1, 2, 3]);
  assert.deepEqual(config.processRoles, ['broker', 'controller']);
  assert.equal(config.brokerSessionTimeoutMs, 9000);
  assert.equal(config.advertisedListeners, config.listeners);
  assert.equal(parseConfig(good, 'f', ['node.id=3']).nodeId, 3);
  const secured = parseConfig(good, 'f', [
    'listeners=SASL_SSL://127.0.0.1:9092', 'ssl.certificate.location=/c.pem', 'ssl.key.location=/k.pem', 'super.users=User:admin;User:ops',
    'sasl.bootstrap.users=admin:a:b,ops:x',
  ]);
  assert.deepEqual(secured.superUsers, ['User:admin', 'User:ops']);
  assert.deepEqual(secured.saslBootstrapUsers, [{ name: 'admin', password: 'a:b' }, { name: 'ops', password: 'x' }]);
  assert.deepEqual(secured.saslEnabledMechanisms, ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']);
  assert.equal(secured.allowEveryoneIfNoAclFound, false);
});

test('bad configuration stops with one line naming the file, line and key', () => {
  const cases: Array<[string, string[], RegExp]> = [
    [`${good}\nlog.retention.weeks=3`, [], /^server\.properties:6: unknown key "log\.retention\.weeks"$/],
    [good.replace('node.id=2', 'node.id=two'), [], /^server\.properties:2: node\.id: expected an integer, got "two"$/],
    [good.replace('node.id=2\n', ''), [], /^server\.properties: missing required key "node\.id"$/],
    [good, ['broker.session.timeout.ms=-5'], /^--override: broker\.session\.timeout\.ms: expected an integer/],
    [good, ['process.roles=router'], /process\.roles: unknown role "router"/],
    [`${good}\njust words`, [], /^server\.properties:6: expected key=value/],
    [good, ['controller.quorum.voters=1,3'], /does not list node\.id 2/],
    [good, ['broker.session.timeout.ms=1000', 'broker.heartbeat.interval.ms=500'], /broker\.session\.timeout\.ms \(1000\) must be at least 3 x broker\.heartbeat\.interval\.ms/],
    [good, ['unclean.leader.election.enable=maybe'], /unclean\.leader\.election\.enable: expected true or false/],
    [good, ['min.insync.replicas=0'], /min\.insync\.replicas: expected an integer in \[1/],
    [good, ['log.level=loud'], /^--override: log\.level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"$/],
    [good, ['group.min.session.timeout.ms=9000', 'group.max.session.timeout.ms=8000'], /group\.max\.session\.timeout\.ms \(8000\) is below group\.min\.session\.timeout\.ms \(9000\)/],
    [good, ['offsets.retention.minutes=0'], /offsets\.retention\.minutes: expected an integer in \[1/],
    [good, ['listeners=TLS://127.0.0.1:9092'], /^--override: listeners: unknown security protocol "TLS" \(PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL\)$/],
    [good, ['listeners=SASL_SSL://127.0.0.1:9092'], /listeners uses SASL_SSL, which needs ssl\.certificate\.location and ssl\.key\.location/],
    [good, ['sasl.enabled.mechanisms=GSSAPI'], /sasl\.enabled\.mechanisms: unsupported SASL mechanism "GSSAPI"/],
    [good, ['super.users=admin'], /super\.users: expected User:name, got "admin"/],
    [good, ['sasl.bootstrap.users=admin'], /sasl\.bootstrap\.users: expected name:password/],
    [good, ['authorizer.class.name=com.example.Mine'], /authorizer\.class\.name: expected org\.apache\.kafka\.metadata\.authorizer\.StandardAuthorizer/],
  ];
  for (const [text, overrides, message] of cases) {
    assert.throws(() => parseConfig(text, 'server.properties', overrides), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, message);
      assert.ok(!error.message.includes('\n'), 'one line');
      return true;
    });
  }
});

test('log.* keys become the partition logs\' settings, with Kafka\'s hours and ms forms', () => {
  const defaults = logConfigOf(parseConfig(good, 'server.properties'));
  assert.deepEqual(defaults, {
    segmentBytes: 1024 ** 3, segmentMs: 168 * 3600 * 1000, indexIntervalBytes: 4096, retentionMs: 168 * 3600 * 1000,
    retentionBytes: -1, flushMessages: 1, flushMs: 1000, maxBatchBytes: 1024 * 1024 + 12,
  });
  const tuned = logConfigOf(parseConfig(good, 'server.properties', [
    'log.segment.bytes=1048576', 'log.retention.hours=-1', 'log.retention.bytes=5000000', 'log.roll.ms=60000', 'log.flush.interval.messages=100',
  ]));
  assert.deepEqual([tuned.segmentBytes, tuned.retentionMs, tuned.retentionBytes, tuned.segmentMs, tuned.flushMessages], [1048576, -1, 5000000, 60000, 100]);
  assert.equal(logConfigOf(parseConfig(good, 'f', ['log.retention.ms=1000', 'log.retention.hours=5'])).retentionMs, 1000, 'ms wins over hours, as in Kafka');
  assert.throws(() => parseConfig(good, 'f', ['log.segment.bytes=12']), /log\.segment\.bytes: expected an integer in \[1024/);
});

test('consumer-group keys: Kafka\'s names and defaults, minutes converted', () => {
  const defaults = parseConfig(good, 'server.properties');
  assert.deepEqual([defaults.offsetsTopicNumPartitions, defaults.offsetsTopicReplicationFactor, defaults.offsetsRetentionMs, defaults.groupMinSessionTimeoutMs, defaults.logLevel],
    [50, 3, 7 * 24 * 3600_000, 6000, null]);
  const tuned = parseConfig(good, 'server.properties', ['offsets.topic.num.partitions=3', 'offsets.retention.minutes=2', 'log.level=debug']);
  assert.deepEqual([tuned.offsetsTopicNumPartitions, tuned.offsetsRetentionMs, tuned.logLevel], [3, 120_000, 'debug']);
});

test('docs/operations.md documents every configuration key', () => {
  const docs = readFileSync(join(repoRoot, 'docs', 'operations.md'), 'utf8');
  const missing = Object.keys(configKeys).filter((key) => !docs.includes(`\`${key}\``));
  assert.deepEqual(missing, [], 'keys missing from the configuration reference');
});
