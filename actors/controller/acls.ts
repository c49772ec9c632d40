// ACLs as Kafka's StandardAuthorizer reads them: Kafka's numbers for resource types,
// pattern types, operations and permissions; which bindings a DeleteAcls/DescribeAcls filter
// selects; and the authorization decision. Pure, shared by the controller (it stores ACLs in
// the metadata log) and the Kafka listener (it enforces them per request).
import type { AclBinding } from '../protocol/messages.js';

export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7 } as const;
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export const AclOperation = {
  UNKNOWN: 0, ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12, CREATE_TOKENS: 13, DESCRIBE_TOKENS: 14,
} as const;
export const PermissionType = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** The one cluster resource's name, as Kafka spells it. */
export const clusterResourceName = 'kafka-cluster';
export const wildcardResourceName = '*';
export const wildcardPrincipal = 'User:*';
export const wildcardHost = '*';

/** The ACLs a metadata log may hold at once: a bound on what every broker keeps and scans. */
export const aclsMax = 100_000;

/** Kafka's name of a code in one of the tables above ('TOPIC', 'PREFIXED', 'READ', ...), or the number. */
export function codeName(table: Record<string, number>, code: number): string {
  return Object.keys(table).find((name) => table[name] === code) ?? String(code);
}

/** Why a binding cannot be stored, or null. */
export function aclBindingProblem(binding: AclBinding): string | null {
  const { resourceType, resourceName, patternType, principal, host, operation, permissionType } = binding;
  if (resourceType < ResourceType.TOPIC || resourceType > ResourceType.USER) return `resource type ${resourceType} is not a concrete type`;
  if (patternType !== PatternType.LITERAL && patternType !== PatternType.PREFIXED) return `pattern type ${patternType} is neither LITERAL nor PREFIXED`;
  if (resourceName === '') return 'empty resource name';
  if (resourceType === ResourceType.CLUSTER && (resourceName !== clusterResourceName || patternType !== PatternType.LITERAL)) {
    return `the cluster resource is the literal "${clusterResourceName}"`;
  }
  if (!/^User:.+$/.test(principal)) return `principal "${principal}" is not User:name`;
  if (host === '') return 'empty host';
  if (operation < AclOperation.ALL || operation > AclOperation.DESCRIBE_TOKENS) return `operation ${operation} is not a concrete operation`;
  if (permissionType !== PermissionType.DENY && permissionType !== PermissionType.ALLOW) return `permission type ${permissionType} is neither DENY nor ALLOW`;
  return null;
}

export function sameBinding(a: AclBinding, b: AclBinding): boolean {
  return a.resourceType === b.resourceType && a.resourceName === b.resourceName && a.patternType === b.patternType
    && a.principal === b.principal && a.host === b.host && a.operation === b.operation && a.permissionType === b.permissionType;
}

/** Whether a binding's resource pattern covers the named resource (literal, the '*' wildcard, or a prefix). */
function patternCovers(binding: AclBinding, resourceType: number, resourceName: string): boolean {
  if (binding.resourceType !== resourceType) return false;
  if (binding.patternType === PatternType.PREFIXED) return resourceName.startsWith(binding.resourceName);
  return binding.resourceName === resourceName || binding.resourceName === wildcardResourceName;
}

/** Whether a DescribeAcls/DeleteAcls filter selects a binding ('' and ANY match anything; MATCH as Kafka). */
export function filterMatches(filter: AclBinding, binding: AclBinding): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== binding.resourceType) return false;
  if (filter.resourceName !== '') {
    if (filter.patternType === PatternType.MATCH) {
      if (!patternCovers(binding, binding.resourceType, filter.resourceName)) return false;
    } else if (filter.resourceName !== binding.resourceName) {
      return false;
    }
  }
  const patternOk = filter.patternType === PatternType.ANY || filter.patternType === PatternType.MATCH || filter.patternType === binding.patternType;
  return patternOk
    && (filter.principal === '' || filter.principal === binding.principal)
    && (filter.host === '' || filter.host === binding.host)
    && (filter.operation === AclOperation.ANY || filter.operation === binding.operation)
    && (filter.permissionType === PermissionType.ANY || filter.permissionType === binding.permissionType);
}

/** Why a filter cannot be used, or null. */
export function aclFilterProblem(filter: AclBinding): string | null {
  if (filter.resourceType < ResourceType.ANY || filter.resourceType > ResourceType.USER) return `resource type ${filter.resourceType} is unknown`;
  if (filter.patternType < PatternType.ANY || filter.patternType > PatternType.PREFIXED) return `pattern type ${filter.patternType} is unknown`;
  if (filter.operation < AclOperation.ANY || filter.operation > AclOperation.DESCRIBE_TOKENS) return `operation ${filter.operation} is unknown`;
  if (filter.permissionType < PermissionType.ANY || filter.permissionType > PermissionType.ALLOW) return `permission type ${filter.permissionType} is unknown`;
  return null;
}

/** Operations an ALLOW of `granted` also allows (Kafka: READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS). */
function allowImplies(granted: number, wanted: number): boolean {
  if (granted === AclOperation.ALL || granted === wanted) return true;
  if (wanted === AclOperation.DESCRIBE) {
    return granted === AclOperation.READ || granted === AclOperation.WRITE || granted === AclOperation.DELETE || granted === AclOperation.ALTER;
  }
  return wanted === AclOperation.DESCRIBE_CONFIGS && granted === AclOperation.ALTER_CONFIGS;
}

export interface AuthorizationRequest {
  principal: string;
  host: string;
  operation: number;
  resourceType: number;
  resourceName: string;
}

/**
 * Kafka's StandardAuthorizer decision (super users are the caller's business): a matching
 * DENY wins over any ALLOW; with no ACL at all on the resource, `allowEveryoneIfNoAclFound`.
 */
export function authorize(acls: readonly AclBinding[], request: AuthorizationRequest, allowEveryoneIfNoAclFound: boolean): boolean {
  let anyOnResource = false;
  let allowed = false;
  for (const binding of acls) {
    if (!patternCovers(binding, request.resourceType, request.resourceName)) continue;
    anyOnResource = true;
    if (binding.principal !== request.principal && binding.principal !== wildcardPrincipal) continue;
    if (binding.host !== request.host && binding.host !== wildcardHost) continue;
    if (binding.permissionType === PermissionType.DENY) {
      if (binding.operation === AclOperation.ALL || binding.operation === request.operation) return false;
    } else if (allowImplies(binding.operation, request.operation)) {
      allowed = true;
    }
  }
  return anyOnResource ? allowed : allowEveryoneIfNoAclFound;
}
