// `logmesh users`, in the spirit of `kafka-configs.sh --entity-type users --alter
// --add-config SCRAM-SHA-256=[password=...]`: add (or change), list and remove SCRAM
// credentials with AlterUserScramCredentials and DescribeUserScramCredentials. The password
// is salted here (a random salt, PBKDF2); only the salted password leaves this process, and
// only StoredKey and ServerKey reach the metadata log.
import { randomBytes } from 'node:crypto';
import { type Command, InvalidArgumentError } from 'commander';
import { errorName } from '../../../actors/protocol/errors.js';
import { ApiKeys } from '../../kafka/protocol/index.js';
import {
  type ScramMechanism, isScramMechanism, saltedPassword, scramIterationsMax, scramIterationsMin, scramMechanismCodes, scramMechanismOfCode, scramSaltBytes,
} from '../../kafka/scram.js';
import { type AdminFlags, withAdminOptions, withKafkaClient } from './admin-client.js';
import { ToolError } from './connection.js';
import { asInt } from './options.js';

interface UsersFlags extends AdminFlags {
  add?: string;
  remove?: string;
  list?: boolean;
  mechanism: ScramMechanism;
  password?: string;
  iterations: number;
  json?: boolean;
}

function asMechanism(value: string): ScramMechanism {
  if (!isScramMechanism(value)) throw new InvalidArgumentError('--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512');
  return value;
}

export function registerUsersCommand(program: Command): void {
  withAdminOptions(program.command('users')
    .description('add, list or remove SCRAM users (credentials in the metadata log; see docs/operations.md#users)'))
    .option('--add <name>', 'add the user, or change its password, for --mechanism')
    .option('--remove <name>', 'remove the user\'s credential for --mechanism')
    .option('--list', 'list the users and their mechanisms')
    .option('--mechanism <name>', 'SCRAM-SHA-256 or SCRAM-SHA-512', asMechanism, 'SCRAM-SHA-256' as ScramMechanism)
    .option('--password <password>', 'with --add: the password (or the LOGMESH_USER_PASSWORD environment variable)')
    .option('--iterations <n>', 'with --add: PBKDF2 iterations', asInt('--iterations', scramIterationsMin, scramIterationsMax), scramIterationsMin)
    .option('--json', 'print JSON')
    .action(async (flags: UsersFlags) => {
      const modes = [flags.add !== undefined, flags.remove !== undefined, flags.list === true].filter(Boolean).length;
      if (modes !== 1) throw new ToolError('users: give exactly one of --add <name>, --remove <name>, --list');
      await withKafkaClient(flags, async (client) => {
        if (flags.list === true) {
          const answer = await client.request(ApiKeys.DescribeUserScramCredentials, 0, { users: null });
          if (answer.errorCode !== 0) throw new ToolError(`users --list: ${errorName(answer.errorCode)}${answer.errorMessage === null ? '' : `: ${answer.errorMessage}`}`);
          const users = answer.results.map((r) => ({
            user: r.user, credentials: r.credentialInfos.map((c) => ({ mechanism: scramMechanismOfCode(c.mechanism) ?? String(c.mechanism), iterations: c.iterations })),
          }));
          if (flags.json === true) process.stdout.write(`${JSON.stringify(users)}\n`);
          else process.stdout.write(users.map((u) => `${u.user}\t${u.credentials.map((c) => `${c.mechanism} (${c.iterations} iterations)`).join(', ')}\n`).join(''));
          return;
        }
        const name = flags.add ?? flags.remove!;
        const mechanism = scramMechanismCodes[flags.mechanism];
        let body;
        if (flags.add !== undefined) {
          const password = flags.password ?? process.env.LOGMESH_USER_PASSWORD;
          if (password === undefined || password === '') throw new ToolError('users --add: --password is required');
          const salt = randomBytes(scramSaltBytes);
          body = { deletions: [], upsertions: [{ name, mechanism, iterations: flags.iterations, salt, saltedPassword: saltedPassword(flags.mechanism, password, salt, flags.iterations) }] };
        } else {
          body = { deletions: [{ name, mechanism }], upsertions: [] };
        }
        const answer = await client.request(ApiKeys.AlterUserScramCredentials, 0, body, 30_000);
        const result = answer.results[0];
        if (result === undefined || result.errorCode !== 0) {
          const code = result?.errorCode ?? -1;
          throw new ToolError(`users: ${name}: ${errorName(code)}${result?.errorMessage === null || result === undefined ? '' : `: ${result.errorMessage}`}`);
        }
        const done = flags.add !== undefined ? `Added ${flags.mechanism} credential for ${name}.` : `Removed ${flags.mechanism} credential of ${name}.`;
        process.stdout.write(flags.json === true ? `${JSON.stringify({ user: name, mechanism: flags.mechanism, action: flags.add !== undefined ? 'add' : 'remove' })}\n` : `${done}\n`);
      });
    });
}
