import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AclOperation, PatternType, PermissionType, ResourceType, aclBindingProblem, authorize, filterMatches,
} from '../../../actors/controller/acls.js';
import { decideAlterScramCredentials, decideCreateAcls, decideDeleteAcls } from '../../../actors/controller/security-decisions.js';
import { applyEntry, emptyImage, imageFromMessage, imageToMessage } from '../../../actors/controller/metadata-image.js';
import type { AclBinding } from '../../../actors/protocol/messages.js';
import { ErrorCode } from '../../../actors/protocol/errors.js';

const concreteOperations = [AclOperation.ALL, AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE, AclOperation.ALTER,
  AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE];
const names = ['orders', 'ord', 'payments', 'o', '*'];
const principals = ['User:alice', 'User:bob', 'User:*'];
const hosts = ['*', '10.0.0.1', '10.0.0.2'];

const binding = fc.record({
  resourceType: fc.constantFrom(ResourceType.TOPIC, ResourceType.GROUP),
  resourceName: fc.constantFrom(...names),
  patternType: fc.constantFrom(PatternType.LITERAL, PatternType.PREFIXED),
  principal: fc.constantFrom(...principals),
  host: fc.constantFrom(...hosts),
  operation: fc.constantFrom(...concreteOperations),
  permissionType: fc.constantFrom(PermissionType.ALLOW, PermissionType.DENY),
});
const request = fc.record({
  principal: fc.constantFrom('User:alice', 'User:bob'),
  host: fc.constantFrom('10.0.0.1', '10.0.0.2'),
  operation: fc.constantFrom(...concreteOperations.filter((o) => o !== AclOperation.ALL)),
  resourceType: fc.constantFrom(ResourceType.TOPIC, ResourceType.GROUP),
  resourceName: fc.constantFrom('orders', 'payments', 'ord-x'),
});

function covers(b: AclBinding, r: { resourceType: number; resourceName: string }): boolean {
  if (b.resourceType !== r.resourceType) return false;
  return b.patternType === PatternType.PREFIXED ? r.resourceName.startsWith(b.resourceName) : b.resourceName === r.resourceName || b.resourceName === '*';
}

test('DENY wins: adding a matching DENY to any ACL set refuses the request; removing every DENY never refuses more', () => {
  fc.assert(fc.property(fc.array(binding, { maxLength: 12 }), request, fc.boolean(), (acls, r, everyone) => {
    const deny: AclBinding = {
      resourceType: r.resourceType, resourceName: r.resourceName.slice(0, 2), patternType: PatternType.PREFIXED,
      principal: r.principal, host: '*', operation: r.operation, permissionType: PermissionType.DENY,
    };
    assert.equal(authorize([...acls, deny], r, everyone), false);
    assert.equal(authorize([deny, ...acls], r, everyone), false);
    const allowsOnly = acls.filter((a) => a.permissionType === PermissionType.ALLOW);
    if (authorize(acls, r, everyone)) assert.equal(authorize(allowsOnly, r, everyone), true);
  }));
});

test('the decision matches a plain reading of Kafka\'s rules', () => {
  fc.assert(fc.property(fc.array(binding, { maxLength: 12 }), request, fc.boolean(), (acls, r, everyone) => {
    const onResource = acls.filter((a) => covers(a, r));
    const mine = onResource.filter((a) => (a.principal === r.principal || a.principal === 'User:*') && (a.host === r.host || a.host === '*'));
    const denied = mine.some((a) => a.permissionType === PermissionType.DENY && (a.operation === AclOperation.ALL || a.operation === r.operation));
    const implies = (op: number) => op === AclOperation.ALL || op === r.operation
      || (r.operation === AclOperation.DESCRIBE && [AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER].includes(op as never))
      || (r.operation === AclOperation.DESCRIBE_CONFIGS && op === AclOperation.ALTER_CONFIGS);
    const allowed = mine.some((a) => a.permissionType === PermissionType.ALLOW && implies(a.operation));
    const expected = onResource.length === 0 ? everyone : !denied && allowed;
    assert.equal(authorize(acls, r, everyone), expected);
  }));
});

test('prefixed patterns cover names that start with them; literal ones only their name or *', () => {
  const acl = (resourceName: string, patternType: number): AclBinding => ({
    resourceType: ResourceType.TOPIC, resourceName, patternType, principal: 'User:alice', host: '*', operation: AclOperation.READ, permissionType: PermissionType.ALLOW,
  });
  const reads = (acls: AclBinding[], name: string) => authorize(acls, { principal: 'User:alice', host: '1.2.3.4', operation: AclOperation.READ, resourceType: ResourceType.TOPIC, resourceName: name }, false);
  assert.ok(reads([acl('ord', PatternType.PREFIXED)], 'orders'));
  assert.ok(!reads([acl('ord', PatternType.PREFIXED)], 'payments'));
  assert.ok(!reads([acl('ord', PatternType.LITERAL)], 'orders'));
  assert.ok(reads([acl('*', PatternType.LITERAL)], 'anything'));
  assert.ok(!reads([acl('*', PatternType.PREFIXED)], 'anything'), 'a prefixed * is the prefix "*", not a wildcard');
  assert.ok(!reads([], 'orders'), 'no ACL: refused by default');
  fc.assert(fc.property(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), (prefix, rest) => {
    fc.pre(prefix !== '');
    assert.ok(reads([acl(prefix, PatternType.PREFIXED)], prefix + rest));
  }));
});

test('filters: ANY and empty fields match all, MATCH finds the bindings that apply to a name', () => {
  const stored: AclBinding = { resourceType: ResourceType.TOPIC, resourceName: 'ord', patternType: PatternType.PREFIXED, principal: 'User:alice', host: '*', operation: AclOperation.READ, permissionType: PermissionType.ALLOW };
  const any: AclBinding = { resourceType: ResourceType.ANY, resourceName: '', patternType: PatternType.ANY, principal: '', host: '', operation: AclOperation.ANY, permissionType: PermissionType.ANY };
  assert.ok(filterMatches(any, stored));
  assert.ok(filterMatches({ ...any, resourceName: 'orders', patternType: PatternType.MATCH }, stored));
  assert.ok(!filterMatches({ ...any, resourceName: 'orders', patternType: PatternType.LITERAL }, stored));
  assert.ok(filterMatches({ ...any, resourceName: 'ord', patternType: PatternType.PREFIXED }, stored));
  assert.ok(!filterMatches({ ...any, principal: 'User:bob' }, stored));
  assert.ok(!filterMatches({ ...any, permissionType: PermissionType.DENY }, stored));
});

test('the controller\'s decisions: invalid ACLs refused, duplicates stored once, deletions report what they removed', () => {
  const image = emptyImage();
  const acl: AclBinding = { resourceType: ResourceType.GROUP, resourceName: 'billing', patternType: PatternType.LITERAL, principal: 'User:alice', host: '*', operation: AclOperation.READ, permissionType: PermissionType.ALLOW };
  assert.match(aclBindingProblem({ ...acl, resourceType: ResourceType.CLUSTER }) ?? '', /kafka-cluster/);
  const created = decideCreateAcls(image, [acl, acl, { ...acl, principal: 'alice' }]);
  assert.deepEqual(created.results.map((r) => r.errorCode), [0, 0, ErrorCode.INVALID_REQUEST]);
  applyEntry(image, { index: 1, term: 1, records: created.records });
  assert.equal(image.acls.length, 1);
  assert.equal(decideCreateAcls(image, [acl]).records.length, 0);
  const deleted = decideDeleteAcls(image, [{ ...acl, resourceName: '', operation: AclOperation.ANY }]);
  assert.deepEqual(deleted.results[0]?.matching, [acl]);
  const copy = imageFromMessage(imageToMessage(image));
  assert.deepEqual(copy.acls, image.acls, 'ACLs survive a snapshot');
  applyEntry(image, { index: 2, term: 1, records: deleted.records });
  assert.equal(image.acls.length, 0);
});

test('SCRAM credential decisions: bounds, unknown mechanisms, missing deletions and duplicates per user', () => {
  const image = emptyImage();
  const credential = { name: 'alice', mechanism: 1, salt: Uint8Array.of(1), storedKey: new Uint8Array(32), serverKey: new Uint8Array(32), iterations: 4096 };
  const decided = decideAlterScramCredentials(image, {
    requestId: 'r', deletions: [{ name: 'bob', mechanism: 1 }],
    upsertions: [credential, { ...credential, name: 'carol', iterations: 100 }, { ...credential, name: 'dave', mechanism: 7 }, { ...credential, name: 'erin' }, { ...credential, name: 'erin' }],
  });
  assert.deepEqual(decided.results, [
    { user: 'alice', errorCode: 0 }, { user: 'carol', errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL }, { user: 'dave', errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM },
    { user: 'erin', errorCode: ErrorCode.DUPLICATE_RESOURCE }, { user: 'bob', errorCode: ErrorCode.RESOURCE_NOT_FOUND },
  ]);
  applyEntry(image, { index: 1, term: 1, records: decided.records });
  assert.equal(image.scramCredentials.get('alice')?.get(1)?.iterations, 4096);
  const copy = imageFromMessage(imageToMessage(image));
  assert.deepEqual([...copy.scramCredentials.get('alice')!.values()].map((c) => c.storedKey.length), [32], 'credentials survive a snapshot');
});
