// The controller's decisions on security metadata: which SCRAM credential changes and which
// ACL creations and deletions become metadata records. Pure: credentials arrive already
// salted and hashed (the listener draws the salt), so nothing here needs randomness.
import { ErrorCode } from '../protocol/errors.js';
import type {
  AclBinding, AlterUserScramCredentialsRequest, MetadataRecord, RemoveUserScramCredentialRecord, UserResult, UserScramCredentialRecord,
} from '../protocol/messages.js';
import { aclBindingProblem, aclFilterProblem, aclsMax, filterMatches, sameBinding } from './acls.js';
import type { MetadataImage } from './metadata-image.js';

/** Kafka's mechanism numbers: 1 SCRAM-SHA-256 (32-byte keys), 2 SCRAM-SHA-512 (64-byte keys). */
const scramKeyBytes = new Map<number, number>([[1, 32], [2, 64]]);
/** Kafka's bounds on a credential's iterations (ScramMechanism's minIterations / maxIterations). */
export const scramIterationsMin = 4096;
export const scramIterationsMax = 16384;

function credentialProblem(c: UserScramCredentialRecord): number {
  const keyBytes = scramKeyBytes.get(c.mechanism);
  if (keyBytes === undefined) return ErrorCode.UNSUPPORTED_SASL_MECHANISM;
  if (c.name === '' || c.iterations < scramIterationsMin || c.iterations > scramIterationsMax || c.salt.length === 0) return ErrorCode.UNACCEPTABLE_CREDENTIAL;
  if (c.storedKey.length !== keyBytes || c.serverKey.length !== keyBytes) return ErrorCode.UNACCEPTABLE_CREDENTIAL;
  return ErrorCode.NONE;
}

function deletionProblem(image: MetadataImage, d: RemoveUserScramCredentialRecord): number {
  if (!scramKeyBytes.has(d.mechanism)) return ErrorCode.UNSUPPORTED_SASL_MECHANISM;
  return image.scramCredentials.get(d.name)?.has(d.mechanism) === true ? ErrorCode.NONE : ErrorCode.RESOURCE_NOT_FOUND;
}

/**
 * One result per user, as Kafka answers: a user's changes apply together or not at all, and
 * a user named twice for one mechanism in one request is DUPLICATE_RESOURCE.
 */
export function decideAlterScramCredentials(image: MetadataImage, request: AlterUserScramCredentialsRequest): { records: MetadataRecord[]; results: UserResult[] } {
  const users = [...new Set([...request.upsertions.map((u) => u.name), ...request.deletions.map((d) => d.name)])];
  const records: MetadataRecord[] = [];
  const results: UserResult[] = [];
  for (const user of users) {
    const upsertions = request.upsertions.filter((u) => u.name === user);
    const deletions = request.deletions.filter((d) => d.name === user);
    const mechanisms = [...upsertions.map((u) => u.mechanism), ...deletions.map((d) => d.mechanism)];
    let errorCode: number = new Set(mechanisms).size !== mechanisms.length ? ErrorCode.DUPLICATE_RESOURCE : ErrorCode.NONE;
    for (const d of deletions) if (errorCode === ErrorCode.NONE) errorCode = deletionProblem(image, d);
    for (const u of upsertions) if (errorCode === ErrorCode.NONE) errorCode = credentialProblem(u);
    results.push({ user, errorCode });
    if (errorCode !== ErrorCode.NONE) continue;
    for (const d of deletions) records.push({ removeUserScramCredential: { name: d.name, mechanism: d.mechanism } });
    for (const u of upsertions) records.push({ userScramCredential: u });
  }
  return { records, results };
}

/** CreateAcls: an invalid binding is INVALID_REQUEST; one already there is created again silently, as in Kafka. */
export function decideCreateAcls(image: MetadataImage, acls: AclBinding[]): { records: MetadataRecord[]; results: Array<{ errorCode: number }> } {
  const records: MetadataRecord[] = [];
  const results: Array<{ errorCode: number }> = [];
  let count = image.acls.length;
  for (const acl of acls) {
    if (aclBindingProblem(acl) !== null) {
      results.push({ errorCode: ErrorCode.INVALID_REQUEST });
      continue;
    }
    const known = image.acls.some((a) => sameBinding(a, acl)) || records.some((r) => 'acl' in r && sameBinding(r.acl, acl));
    if (!known && count >= aclsMax) {
      results.push({ errorCode: ErrorCode.INVALID_REQUEST });
      continue;
    }
    if (!known) {
      records.push({ acl: { ...acl } });
      count += 1;
    }
    results.push({ errorCode: ErrorCode.NONE });
  }
  return { records, results };
}

/** DeleteAcls: every stored binding each filter selects is removed and reported. */
export function decideDeleteAcls(image: MetadataImage, filters: AclBinding[]): { records: MetadataRecord[]; results: Array<{ errorCode: number; matching: AclBinding[] }> } {
  const records: MetadataRecord[] = [];
  const removed: AclBinding[] = [];
  const results = filters.map((filter) => {
    if (aclFilterProblem(filter) !== null) return { errorCode: ErrorCode.INVALID_REQUEST, matching: [] };
    const matching = image.acls.filter((a) => filterMatches(filter, a));
    for (const acl of matching) {
      if (removed.some((r) => sameBinding(r, acl))) continue;
      removed.push(acl);
      records.push({ removeAcl: { ...acl } });
    }
    return { errorCode: ErrorCode.NONE, matching: matching.map((a) => ({ ...a })) };
  });
  return { records, results };
}
