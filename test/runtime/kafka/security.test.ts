// Listener security against a one-node cluster in this process (ports 22090-22099): a TLS
// listener refuses plaintext clients, SASL gates every API until the client authenticated,
// SCRAM credentials live in the metadata log and work for SCRAM and PLAIN, and the
// authorizer enforces ACLs with Kafka's error codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { ApiKeys, encodeRequestFrame } from '../../../runtime/kafka/protocol/index.js';
import { type ClientSecurity, KafkaClient, SaslRefusedError } from '../../../runtime/kafka/client.js';
import { ErrorCode } from '../../../actors/protocol/errors.js';
import { AclOperation, PatternType, PermissionType, ResourceType } from '../../../actors/controller/acls.js';
import { saltedPassword } from '../../../runtime/kafka/scram.js';
import { encodeRecordBatch } from '../../../runtime/storage/record-batch.js';
import { startSingleNode, waitUntil, type SingleNode } from './single-node.js';
import { makeTestCertificates, type TestCertificates } from './tls-fixtures.js';

const authorizer = 'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer';

function tlsConfig(certs: TestCertificates): string[] {
  return [`ssl.certificate.location=${certs.certPath}`, `ssl.key.location=${certs.keyPath}`];
}

function as(certs: TestCertificates, mechanism: string, username: string, password: string): ClientSecurity {
  return { tls: { ca: readFileSync(certs.caPath) }, sasl: { mechanism, username, password } };
}

/** Sends a plaintext ApiVersions request and collects whatever comes back until the connection closes. */
function plaintextProbe(port: number, timeoutMs: number): Promise<{ closed: boolean; received: Buffer }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write(encodeRequestFrame({ apiKey: ApiKeys.ApiVersions, apiVersion: 3, correlationId: 7, clientId: 'plain' }, {
        clientSoftwareName: 'probe', clientSoftwareVersion: '1',
      }));
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, received: Buffer.concat(chunks) });
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, received: Buffer.concat(chunks) });
    });
  });
}

async function produceOne(client: KafkaClient, topic: string, value: string): Promise<number> {
  const records = encodeRecordBatch([{ key: null, value: new TextEncoder().encode(value) }]);
  const answer = await client.request(ApiKeys.Produce, 7, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  return answer.responses[0]!.partitionResponses[0]!.errorCode;
}

async function addScramUser(admin: KafkaClient, name: string, password: string, mechanism: 1 | 2): Promise<number> {
  const salt = randomBytes(16);
  const salted = saltedPassword(mechanism === 1 ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512', password, salt, 4096);
  const answer = await admin.request(ApiKeys.AlterUserScramCredentials, 0, {
    deletions: [], upsertions: [{ name, mechanism, iterations: 4096, salt, saltedPassword: salted }],
  });
  return answer.results[0]!.errorCode;
}

test('a TLS listener serves TLS clients; a plaintext client gets no Kafka answer and is disconnected', { timeout: 60_000 }, async () => {
  const certs = makeTestCertificates();
  let node: SingleNode | null = null;
  try {
    node = await startSingleNode(tlsConfig(certs), null, { port: 22090, protocol: 'SSL', clientSecurity: { tls: { ca: readFileSync(certs.caPath) } } });
    const client = await node.connect();
    const versions = await client.request(ApiKeys.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    assert.equal(versions.errorCode, 0);
    const probe = await plaintextProbe(22090, 15_000);
    assert.ok(probe.closed, 'the listener closes the plaintext connection');
    // Whatever came back is at most a TLS alert record (content type 21), never a Kafka frame.
    assert.ok(probe.received.length === 0 || probe.received[0] === 21, `got ${probe.received.toString('hex').slice(0, 40)}`);
    await assert.rejects(KafkaClient.connect(22090, '127.0.0.1', 'untrusting', { tls: { ca: null } }), /self-signed|unable to verify|certificate/i);
    assert.equal(node.fatal(), null);
  } finally {
    await node?.stop();
    certs.remove();
  }
});

test('SASL: only ApiVersions and the SASL exchange before authentication; SCRAM users live in the metadata log', { timeout: 90_000 }, async () => {
  const certs = makeTestCertificates();
  let node: SingleNode | null = null;
  try {
    node = await startSingleNode([...tlsConfig(certs), 'sasl.bootstrap.users=admin:admin-secret', 'super.users=User:admin'], null, {
      port: 22091, protocol: 'SASL_SSL', clientSecurity: as(certs, 'SCRAM-SHA-256', 'admin', 'admin-secret'),
    });
    const admin = await node.connect();

    // A request other than ApiVersions or SASL before authenticating closes the connection.
    const early = await KafkaClient.connect(22091, '127.0.0.1', 'early', { tls: { ca: readFileSync(certs.caPath) } });
    const versions = await early.request(ApiKeys.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    assert.ok(versions.apiKeys.some((k) => k.apiKey === ApiKeys.SaslAuthenticate));
    await assert.rejects(early.request(ApiKeys.Metadata, 1, { topics: [] }), /connection closed/);

    // A wrong password: SASL_AUTHENTICATION_FAILED with a message, then the connection closes.
    const wrong = await KafkaClient.connect(22091, '127.0.0.1', 'wrong', { tls: { ca: readFileSync(certs.caPath) } });
    let wrongClosed = false;
    void wrong.closed.then(() => { wrongClosed = true; });
    await assert.rejects(wrong.authenticate('SCRAM-SHA-256', 'admin', 'not-the-password'), (error: Error) => {
      assert.ok(error instanceof SaslRefusedError);
      assert.match(error.message, /^SASL_AUTHENTICATION_FAILED: Authentication failed/);
      return true;
    });
    await waitUntil('the refused connection to close', 5000, async () => (wrongClosed ? true : undefined));
    await assert.rejects(node.connect(as(certs, 'PLAIN', 'admin', 'nope')), /SASL_AUTHENTICATION_FAILED/);
    await assert.rejects(node.connect(as(certs, 'SCRAM-SHA-256', 'nobody', 'x')), /SASL_AUTHENTICATION_FAILED/);
    await assert.rejects(node.connect(as(certs, 'GSSAPI', 'admin', 'admin-secret')), /UNSUPPORTED_SASL_MECHANISM: the broker offers PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/);

    // The admin creates alice's credentials; she logs in with SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN.
    assert.equal(await addScramUser(admin, 'alice', 'alice-secret', 2), ErrorCode.NONE);
    assert.equal(await addScramUser(admin, 'alice', 'alice-secret', 1), ErrorCode.NONE);
    for (const mechanism of ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN']) {
      const alice = await node.connect(as(certs, mechanism, 'alice', 'alice-secret'));
      const metadata = await alice.request(ApiKeys.Metadata, 1, { topics: [] });
      assert.equal(metadata.brokers.length, 1, mechanism);
    }
    await assert.rejects(node.connect(as(certs, 'SCRAM-SHA-512', 'alice', 'admin-secret')), /SASL_AUTHENTICATION_FAILED/);
    const described = await admin.request(ApiKeys.DescribeUserScramCredentials, 0, { users: null });
    assert.deepEqual(described.results.map((r) => [r.user, r.credentialInfos.map((c) => [c.mechanism, c.iterations])]), [['alice', [[1, 4096], [2, 4096]]]]);
    const missing = await admin.request(ApiKeys.DescribeUserScramCredentials, 0, { users: [{ name: 'bob' }] });
    assert.equal(missing.results[0]?.errorCode, ErrorCode.RESOURCE_NOT_FOUND);

    // Bad credentials are refused by name; a deletion removes the credential.
    const few = await admin.request(ApiKeys.AlterUserScramCredentials, 0, {
      deletions: [], upsertions: [{ name: 'carol', mechanism: 1, iterations: 10, salt: randomBytes(8), saltedPassword: randomBytes(32) }],
    });
    assert.equal(few.results[0]?.errorCode, ErrorCode.UNACCEPTABLE_CREDENTIAL);
    const unknownMechanism = await admin.request(ApiKeys.AlterUserScramCredentials, 0, {
      deletions: [], upsertions: [{ name: 'carol', mechanism: 9, iterations: 4096, salt: randomBytes(8), saltedPassword: randomBytes(32) }],
    });
    assert.equal(unknownMechanism.results[0]?.errorCode, ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    const removed = await admin.request(ApiKeys.AlterUserScramCredentials, 0, { deletions: [{ name: 'alice', mechanism: 2 }], upsertions: [] });
    assert.equal(removed.results[0]?.errorCode, ErrorCode.NONE);
    await assert.rejects(node.connect(as(certs, 'SCRAM-SHA-512', 'alice', 'alice-secret')), /SASL_AUTHENTICATION_FAILED/);
    const again = await admin.request(ApiKeys.AlterUserScramCredentials, 0, { deletions: [{ name: 'alice', mechanism: 2 }], upsertions: [] });
    assert.equal(again.results[0]?.errorCode, ErrorCode.RESOURCE_NOT_FOUND);
    assert.equal(node.fatal(), null);
  } finally {
    await node?.stop();
    certs.remove();
  }
});

test('ACLs: TOPIC_AUTHORIZATION_FAILED without one, allowed with one, DENY wins, super users pass', { timeout: 90_000 }, async () => {
  const certs = makeTestCertificates();
  let node: SingleNode | null = null;
  try {
    node = await startSingleNode([...tlsConfig(certs), authorizer, 'sasl.bootstrap.users=admin:admin-secret,alice:alice-secret', 'super.users=User:admin'], null, {
      port: 22092, protocol: 'SASL_SSL', clientSecurity: as(certs, 'SCRAM-SHA-256', 'admin', 'admin-secret'),
    });
    const admin = await node.connect();
    const created = await admin.request(ApiKeys.CreateTopics, 5, { topics: [{ name: 'orders', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000 });
    assert.equal(created.topics[0]?.errorCode, 0);
    await waitUntil('orders to take a write', 10_000, async () => (await produceOne(admin, 'orders', 'by admin')) === 0 ? true : undefined);

    const alice = await node.connect(as(certs, 'SCRAM-SHA-256', 'alice', 'alice-secret'));
    assert.equal(await produceOne(alice, 'orders', 'no acl'), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const hidden = await alice.request(ApiKeys.Metadata, 9, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.deepEqual(hidden.topics.map((t) => t.name), [], 'an all-topics Metadata leaves out what alice may not describe');
    const named = await alice.request(ApiKeys.Metadata, 9, { topics: [{ name: 'orders', topicId: null as never }], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.equal(named.topics[0]?.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const refusedCreate = await alice.request(ApiKeys.CreateTopics, 5, { topics: [{ name: 'mine', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000 });
    assert.equal(refusedCreate.topics[0]?.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    const refusedAcl = await alice.request(ApiKeys.CreateAcls, 2, { creations: [] });
    assert.deepEqual(refusedAcl.results, []);
    const refusedDescribe = await alice.request(ApiKeys.DescribeAcls, 2, {
      resourceTypeFilter: ResourceType.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null,
      operation: AclOperation.ANY, permissionType: PermissionType.ANY,
    });
    assert.equal(refusedDescribe.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const refusedGroup = await alice.request(ApiKeys.FindCoordinator, 3, { key: 'billing', keyType: 0 });
    assert.equal(refusedGroup.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);

    // A prefixed WRITE for User:alice on ord*: she may write (and so describe) orders.
    const grant = (principal: string, operation: number, permissionType: number, name: string, patternType: number) => ({
      resourceType: ResourceType.TOPIC, resourceName: name, resourcePatternType: patternType, principal, host: '*', operation, permissionType,
    });
    const granted = await admin.request(ApiKeys.CreateAcls, 2, { creations: [grant('User:alice', AclOperation.WRITE, PermissionType.ALLOW, 'ord', PatternType.PREFIXED)] });
    assert.deepEqual(granted.results.map((r) => r.errorCode), [0]);
    assert.equal(await produceOne(alice, 'orders', 'with acl'), ErrorCode.NONE);
    const visible = await alice.request(ApiKeys.Metadata, 9, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    assert.deepEqual(visible.topics.map((t) => t.name), ['orders'], 'WRITE implies DESCRIBE');
    const fetched = await alice.request(ApiKeys.Fetch, 11, {
      replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    assert.equal(fetched.responses[0]?.partitions[0]?.errorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'WRITE does not imply READ');

    // A DENY for everyone on the literal topic wins over alice's ALLOW; the super user still passes.
    const denied = await admin.request(ApiKeys.CreateAcls, 2, { creations: [grant('User:*', AclOperation.ALL, PermissionType.DENY, 'orders', PatternType.LITERAL)] });
    assert.deepEqual(denied.results.map((r) => r.errorCode), [0]);
    assert.equal(await produceOne(alice, 'orders', 'denied'), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    assert.equal(await produceOne(admin, 'orders', 'super user'), ErrorCode.NONE);

    const listed = await admin.request(ApiKeys.DescribeAcls, 2, {
      resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: null, hostFilter: null,
      operation: AclOperation.ANY, permissionType: PermissionType.ANY,
    });
    assert.deepEqual(listed.resources.map((r) => [r.resourceName, r.patternType, r.acls.map((a) => [a.principal, a.operation, a.permissionType])]), [
      ['ord', PatternType.PREFIXED, [['User:alice', AclOperation.WRITE, PermissionType.ALLOW]]],
      ['orders', PatternType.LITERAL, [['User:*', AclOperation.ALL, PermissionType.DENY]]],
    ]);
    const invalid = await admin.request(ApiKeys.CreateAcls, 2, { creations: [grant('alice', AclOperation.READ, PermissionType.ALLOW, 'orders', PatternType.LITERAL)] });
    assert.equal(invalid.results[0]?.errorCode, ErrorCode.INVALID_REQUEST);
    assert.match(invalid.results[0]?.errorMessage ?? '', /principal "alice" is not User:name/);

    const deleted = await admin.request(ApiKeys.DeleteAcls, 2, { filters: [{
      resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: 'orders', patternTypeFilter: PatternType.LITERAL, principalFilter: null, hostFilter: null,
      operation: AclOperation.ANY, permissionType: PermissionType.DENY,
    }] });
    assert.deepEqual(deleted.filterResults[0]?.matchingAcls.map((a) => [a.resourceName, a.principal]), [['orders', 'User:*']]);
    assert.equal(await produceOne(alice, 'orders', 'allowed again'), ErrorCode.NONE);
    assert.equal(node.fatal(), null);
  } finally {
    await node?.stop();
    certs.remove();
  }
});

test('SASL_PLAINTEXT: the same SASL gate without TLS; ApiVersions still answers before authentication', { timeout: 60_000 }, async () => {
  const node = await startSingleNode(['sasl.bootstrap.users=admin:admin-secret', 'sasl.enabled.mechanisms=PLAIN'], null, {
    port: 22093, protocol: 'SASL_PLAINTEXT', clientSecurity: { sasl: { mechanism: 'PLAIN', username: 'admin', password: 'admin-secret' } },
  });
  try {
    const admin = await node.connect();
    assert.equal((await admin.request(ApiKeys.Metadata, 1, { topics: [] })).brokers.length, 1);
    await assert.rejects(node.connect({ sasl: { mechanism: 'SCRAM-SHA-256', username: 'admin', password: 'admin-secret' } }), /UNSUPPORTED_SASL_MECHANISM: the broker offers PLAIN$/);
    await assert.rejects(node.connect({ sasl: { mechanism: 'PLAIN', username: 'admin', password: 'wrong' } }), /SASL_AUTHENTICATION_FAILED: Authentication failed: Invalid username or password/);
    const anonymous = await node.connect({});
    assert.equal((await anonymous.request(ApiKeys.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })).errorCode, 0);
    await assert.rejects(anonymous.request(ApiKeys.Produce, 7, { acks: -1, timeoutMs: 1000, topicData: [] }), /connection closed/);
    assert.equal(node.fatal(), null);
  } finally {
    await node.stop();
  }
});
