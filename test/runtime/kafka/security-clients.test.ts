// Real clients against a SASL_SSL listener with the authorizer on (a one-node cluster in this
// process, port 22100): kcat (librdkafka) and kafkajs authenticate with SCRAM-SHA-256 over TLS
// and produce and consume; a wrong password, a missing ACL and a plaintext client on the TLS
// listener are each refused with the client's own error for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKeys } from '../../../runtime/kafka/protocol/index.js';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import { saltedPassword } from '../../../runtime/kafka/scram.js';
import { startSingleNode, waitUntil } from './single-node.js';
import { makeTestCertificates } from './tls-fixtures.js';
import { runClient } from '../real-cluster-harness.js';

const port = 22100;
const bootstrap = `127.0.0.1:${port}`;
const ci = process.env.CI === 'true';

async function kcatFound(): Promise<boolean> {
  return (await runClient('kcat', ['-V'], { timeoutMs: 5000 })).status === 0;
}

test('kcat and kafkajs: SCRAM-SHA-256 over TLS; wrong password, missing ACL and plaintext refused', { timeout: 180_000 }, async (t) => {
  if (!(await kcatFound()) && !ci) {
    t.skip('kcat not installed');
    return;
  }
  const certs = makeTestCertificates();
  const ca = readFileSync(certs.caPath);
  const node = await startSingleNode([
    `ssl.certificate.location=${certs.certPath}`, `ssl.key.location=${certs.keyPath}`,
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'super.users=User:admin',
    'sasl.bootstrap.users=admin:admin-secret', 'offsets.topic.num.partitions=3', 'auto.create.topics.enable=false',
  ], null, { port, protocol: 'SASL_SSL', clientSecurity: { tls: { ca }, sasl: { mechanism: 'SCRAM-SHA-256', username: 'admin', password: 'admin-secret' } } });
  const kafkajsAs = (username: string, password: string) => new Kafka({
    clientId: 'security-test', brokers: [bootstrap], ssl: { ca: [ca.toString()] }, sasl: { mechanism: 'scram-sha-256', username, password },
    connectionTimeout: 5000, requestTimeout: 10_000, retry: { retries: 2, initialRetryTime: 100 }, logLevel: logLevel.NOTHING,
  });
  const kcatAs = (username: string, password: string) => [
    '-b', bootstrap, '-X', 'security.protocol=SASL_SSL', '-X', 'sasl.mechanisms=SCRAM-SHA-256', '-X', `sasl.username=${username}`,
    '-X', `sasl.password=${password}`, '-X', `ssl.ca.location=${certs.caPath}`,
  ];
  try {
    // alice's SCRAM credential goes into the metadata log (the admin is a bootstrap user).
    const admin = await node.connect();
    const salt = randomBytes(16);
    const credential = await admin.request(ApiKeys.AlterUserScramCredentials, 0, {
      deletions: [], upsertions: [{ name: 'alice', mechanism: 1, iterations: 8192, salt, saltedPassword: saltedPassword('SCRAM-SHA-256', 'alice-secret', salt, 8192) }],
    });
    assert.equal(credential.results[0]?.errorCode, ErrorCode.NONE);

    // kafkajs's admin client (as the super user) creates the topics and alice's ACLs.
    const kafkaAdmin = kafkajsAs('admin', 'admin-secret').admin();
    await kafkaAdmin.connect();
    try {
      assert.equal(await kafkaAdmin.createTopics({ topics: [{ topic: 'orders', numPartitions: 1 }, { topic: 'secret', numPartitions: 1 }], waitForLeaders: true }), true);
      const allow = (resourceType: number, resourceName: string, operation: number) => ({
        resourceType, resourceName, resourcePatternType: 3, principal: 'User:alice', host: '*', operation, permissionType: 3,
      });
      await kafkaAdmin.createAcls({ acl: [allow(2, 'orders', 4), allow(2, 'orders', 3), allow(3, 'audit', 3)] as never });
      const described = await kafkaAdmin.describeAcls({ resourceType: 2, resourcePatternType: 1, operation: 1, permissionType: 1 } as never);
      assert.deepEqual(described.resources.map((r) => r.resourceName), ['orders']);
    } finally {
      await kafkaAdmin.disconnect();
    }

    // kcat produces as alice and reads back.
    const produced = await runClient('kcat', [...kcatAs('alice', 'alice-secret'), '-P', '-t', 'orders', '-p', '0', '-K', ':'], { input: 'k1:from-kcat-1\nk2:from-kcat-2\n', timeoutMs: 30_000 });
    assert.equal(produced.status, 0, produced.stderr);
    const consumed = await runClient('kcat', [...kcatAs('alice', 'alice-secret'), '-C', '-t', 'orders', '-p', '0', '-o', 'beginning', '-e', '-f', '%k:%s\\n'], { timeoutMs: 30_000 });
    assert.equal(consumed.status, 0, consumed.stderr);
    assert.deepEqual(consumed.stdout.trim().split('\n'), ['k1:from-kcat-1', 'k2:from-kcat-2']);

    // kafkajs produces as alice and consumes in group audit.
    const kafka = kafkajsAs('alice', 'alice-secret');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'orders', acks: -1, messages: [{ key: 'k3', value: 'from-kafkajs' }] });
    await assert.rejects(producer.send({ topic: 'secret', acks: -1, messages: [{ value: 'no acl' }] }), (error: Error & { type?: string }) => {
      assert.equal(error.type ?? (error as { cause?: { type?: string } }).cause?.type, 'TOPIC_AUTHORIZATION_FAILED');
      return true;
    });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'audit', sessionTimeout: 10_000, rebalanceTimeout: 10_000 });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'orders', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => { seen.push(message.value!.toString()); } });
      await waitUntil('the consumer to read all three records', 60_000, async () => (seen.length >= 3 ? true : undefined));
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(seen, ['from-kcat-1', 'from-kcat-2', 'from-kafkajs']);

    // A wrong password: both clients report the broker's SASL_AUTHENTICATION_FAILED.
    const wrongKafkajs = kafkajsAs('alice', 'wrong').producer();
    await assert.rejects(wrongKafkajs.connect(), /SASL SCRAM SHA256 authentication failed|SASL_AUTHENTICATION_FAILED|Authentication failed/i);
    const wrongKcat = await runClient('kcat', [...kcatAs('alice', 'wrong'), '-L', '-m', '10'], { timeoutMs: 30_000 });
    assert.notEqual(wrongKcat.status, 0);
    assert.match(wrongKcat.stderr, /Authentication failed/i);

    // A missing ACL: kcat writing to a topic alice has no ACL for is refused as Kafka refuses it.
    const missingAcl = await runClient('kcat', [...kcatAs('alice', 'alice-secret'), '-P', '-t', 'secret', '-p', '0'], { input: 'nope\n', timeoutMs: 30_000 });
    assert.match(missingAcl.stderr, /authorization failed/i);

    // A plaintext client on the TLS listener gets no Kafka answer.
    const plaintext = await runClient('kcat', ['-b', bootstrap, '-L', '-m', '5'], { timeoutMs: 30_000 });
    assert.notEqual(plaintext.status, 0);
    assert.doesNotMatch(plaintext.stdout, /broker 1 at/);
    assert.equal(node.fatal(), null);
  } finally {
    await node.stop();
    certs.remove();
  }
});
