// `logmesh acls`, in the spirit of kafka-acls.sh: add, list and remove ACLs with CreateAcls,
// DescribeAcls and DeleteAcls. One resource per call (--topic, --group, --cluster or
// --transactional-id), Kafka's pattern types, one or more --operation, principals as User:name.
import { type Command, InvalidArgumentError } from 'commander';
import { errorName } from '../../../actors/protocol/errors.js';
import {
  AclOperation, PatternType, PermissionType, ResourceType, clusterResourceName, codeName,
} from '../../../actors/controller/acls.js';
import { ApiKeys } from '../../kafka/protocol/index.js';
import { type AdminFlags, withAdminOptions, withKafkaClient } from './admin-client.js';
import { ToolError } from './connection.js';

interface AclsFlags extends AdminFlags {
  add?: boolean;
  list?: boolean;
  remove?: boolean;
  allowPrincipal?: string;
  denyPrincipal?: string;
  operation: number[];
  host?: string;
  topic?: string;
  group?: string;
  cluster?: boolean;
  transactionalId?: string;
  resourcePatternType?: number;
  json?: boolean;
}

export interface ListedAcl {
  resourceType: string;
  resourceName: string;
  patternType: string;
  principal: string;
  host: string;
  operation: string;
  permissionType: string;
}

const operationNames = Object.keys(AclOperation).filter((name) => !['UNKNOWN', 'ANY'].includes(name));

function collectOperation(value: string, previous: number[]): number[] {
  const name = value.toUpperCase().replace(/-/g, '_');
  const code = (AclOperation as Record<string, number>)[name];
  if (code === undefined || !operationNames.includes(name)) throw new InvalidArgumentError(`--operation must be one of ${operationNames.join(', ')}`);
  return [...previous, code];
}

function asPatternType(value: string): number {
  const code = (PatternType as Record<string, number>)[value.toUpperCase()];
  if (code === undefined || code === PatternType.UNKNOWN) throw new InvalidArgumentError('--resource-pattern-type must be literal, prefixed, any or match');
  return code;
}

function asPrincipal(value: string): string {
  if (!/^User:.+$/.test(value)) throw new InvalidArgumentError('a principal is User:name (User:* for everyone)');
  return value;
}

/** The one resource the flags name, or null when none is given. */
function resourceOf(flags: AclsFlags): { resourceType: number; resourceName: string } | null {
  const given = [
    flags.topic === undefined ? null : { resourceType: ResourceType.TOPIC, resourceName: flags.topic },
    flags.group === undefined ? null : { resourceType: ResourceType.GROUP, resourceName: flags.group },
    flags.cluster === true ? { resourceType: ResourceType.CLUSTER, resourceName: clusterResourceName } : null,
    flags.transactionalId === undefined ? null : { resourceType: ResourceType.TRANSACTIONAL_ID, resourceName: flags.transactionalId },
  ].filter((r) => r !== null);
  if (given.length > 1) throw new ToolError('acls: give at most one of --topic, --group, --cluster, --transactional-id');
  return given[0] ?? null;
}

function principalOf(flags: AclsFlags): { principal: string; permissionType: number } | null {
  if (flags.allowPrincipal !== undefined && flags.denyPrincipal !== undefined) throw new ToolError('acls: give --allow-principal or --deny-principal, not both');
  if (flags.allowPrincipal !== undefined) return { principal: flags.allowPrincipal, permissionType: PermissionType.ALLOW };
  if (flags.denyPrincipal !== undefined) return { principal: flags.denyPrincipal, permissionType: PermissionType.DENY };
  return null;
}

export function formatAcls(acls: ListedAcl[]): string {
  if (acls.length === 0) return 'No ACLs.\n';
  const rows = [['RESOURCE', 'NAME', 'PATTERN', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION'],
    ...acls.map((a) => [a.resourceType, a.resourceName, a.patternType, a.principal, a.host, a.operation, a.permissionType])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

function listed(a: { resourceType: number; resourceName: string; patternType: number; principal: string; host: string; operation: number; permissionType: number }): ListedAcl {
  return {
    resourceType: codeName(ResourceType, a.resourceType), resourceName: a.resourceName, patternType: codeName(PatternType, a.patternType),
    principal: a.principal, host: a.host, operation: codeName(AclOperation, a.operation), permissionType: codeName(PermissionType, a.permissionType),
  };
}

export function registerAclsCommand(program: Command): void {
  withAdminOptions(program.command('acls')
    .description('add, list or remove ACLs (like kafka-acls.sh; see docs/operations.md#acls)'))
    .option('--add', 'add an ACL for each --operation on the resource')
    .option('--list', 'list ACLs (all, or those on the resource and of the principal given)')
    .option('--remove', 'remove the ACLs matching the resource, principal and operations given')
    .option('--allow-principal <User:name>', 'an ALLOW for this principal (User:* for everyone)', asPrincipal)
    .option('--deny-principal <User:name>', 'a DENY for this principal', asPrincipal)
    .option('--operation <name>', `repeatable: ${operationNames.join(', ')} (--add defaults to ALL)`, collectOperation, [] as number[])
    .option('--host <ip>', 'the client address the ACL applies to (* for any)')
    .option('--topic <name>', 'the resource: a topic (* for every topic)')
    .option('--group <id>', 'the resource: a consumer group')
    .option('--cluster', `the resource: the cluster (${clusterResourceName})`)
    .option('--transactional-id <id>', 'the resource: a transactional id')
    .option('--resource-pattern-type <type>', 'literal or prefixed (--list and --remove also any, match)', asPatternType)
    .option('--json', 'print JSON')
    .action(async (flags: AclsFlags) => {
      const modes = [flags.add, flags.list, flags.remove].filter((m) => m === true).length;
      if (modes !== 1) throw new ToolError('acls: give exactly one of --add, --list, --remove');
      const resource = resourceOf(flags);
      const who = principalOf(flags);
      await withKafkaClient(flags, async (client) => {
        if (flags.add === true) {
          if (resource === null) throw new ToolError('acls --add: give --topic, --group, --cluster or --transactional-id');
          if (who === null) throw new ToolError('acls --add: give --allow-principal or --deny-principal');
          const operations = flags.operation.length === 0 ? [AclOperation.ALL] : flags.operation;
          const creations = operations.map((operation) => ({
            ...resource, resourcePatternType: flags.resourcePatternType ?? PatternType.LITERAL, principal: who.principal, host: flags.host ?? '*',
            operation, permissionType: who.permissionType,
          }));
          const answer = await client.request(ApiKeys.CreateAcls, 2, { creations }, 30_000);
          const failed = answer.results.find((r) => r.errorCode !== 0);
          if (failed !== undefined) throw new ToolError(`acls --add: ${errorName(failed.errorCode)}${failed.errorMessage === null ? '' : `: ${failed.errorMessage}`}`);
          const added = creations.map((c) => listed({ ...c, patternType: c.resourcePatternType }));
          process.stdout.write(flags.json === true ? `${JSON.stringify(added)}\n` : `Added:\n${formatAcls(added)}`);
          return;
        }
        const operations = flags.operation.length === 0 ? [AclOperation.ANY] : flags.operation;
        const filters = operations.map((operation) => ({
          resourceTypeFilter: resource?.resourceType ?? ResourceType.ANY, resourceNameFilter: resource?.resourceName ?? null,
          patternTypeFilter: flags.resourcePatternType ?? (flags.remove === true && resource !== null ? PatternType.LITERAL : PatternType.ANY),
          principalFilter: who?.principal ?? null, hostFilter: flags.host ?? null, operation, permissionType: who?.permissionType ?? PermissionType.ANY,
        }));
        if (flags.list === true) {
          const acls: ListedAcl[] = [];
          for (const filter of filters) {
            const answer = await client.request(ApiKeys.DescribeAcls, 2, filter, 30_000);
            if (answer.errorCode !== 0) throw new ToolError(`acls --list: ${errorName(answer.errorCode)}${answer.errorMessage === null ? '' : `: ${answer.errorMessage}`}`);
            for (const r of answer.resources) for (const a of r.acls) acls.push(listed({ ...r, ...a }));
          }
          process.stdout.write(flags.json === true ? `${JSON.stringify(acls)}\n` : formatAcls(acls));
          return;
        }
        const answer = await client.request(ApiKeys.DeleteAcls, 2, { filters }, 30_000);
        const failed = answer.filterResults.find((r) => r.errorCode !== 0);
        if (failed !== undefined) throw new ToolError(`acls --remove: ${errorName(failed.errorCode)}${failed.errorMessage === null ? '' : `: ${failed.errorMessage}`}`);
        const removed = answer.filterResults.flatMap((r) => r.matchingAcls.map(listed));
        process.stdout.write(flags.json === true ? `${JSON.stringify(removed)}\n` : `Removed:\n${formatAcls(removed)}`);
      });
    });
}
