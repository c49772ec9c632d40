// `logmesh consume`, in the spirit of kafka-console-consumer.sh: records of a topic on stdout,
// one per line, read by a kafkajs consumer in a group (--group, or a throwaway group that
// commits nothing, as Kafka's tool does without --group).
import type { Command } from 'commander';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { type ConnectionFlags, ToolError, failingAs, kafkaClient, kafkaErrorText, withBootstrapOption } from './connection.js';
import { asInt, booleanProperty, propertyCollector, separatorProperty } from './options.js';
import { Spinner } from './spinner.js';

const consumerProperties = ['print.key', 'print.partition', 'print.offset', 'print.timestamp', 'key.separator'] as const;
/** A group's progress is committed this often while the consumer runs, and once more when it stops. */
const commitIntervalMs = 5000;
/** How long a fetch may wait at the broker for records: also how long stopping can take. */
const fetchWaitMsMax = 500;
const sessionTimeoutMs = 10_000;

interface ConsumeFlags extends ConnectionFlags {
  topic: string;
  group?: string;
  fromBeginning?: boolean;
  maxMessages?: number;
  timeoutMs?: number;
  property: Record<string, string>;
}

export interface RecordLayout {
  printKey: boolean;
  printPartition: boolean;
  printOffset: boolean;
  printTimestamp: boolean;
  keySeparator: string;
}

export function registerConsumeCommand(program: Command): void {
  withBootstrapOption(program.command('consume')
    .description('print the records of a topic, one per line (like kafka-console-consumer.sh)'))
    .requiredOption('--topic <name>', 'the topic')
    .option('--group <id>', 'consume as this consumer group and commit its offsets (default: a throwaway group that commits nothing)')
    .option('--from-beginning', 'start at the earliest offset when the group has no committed offset (default: the log end)')
    .option('--max-messages <n>', 'stop after this many records', asInt('--max-messages', 1))
    .option('--timeout-ms <ms>', 'stop when no record arrives for this long', asInt('--timeout-ms', 1))
    .option('--property <key=value>', 'print.key, print.partition, print.offset, print.timestamp (true/false), key.separator (default a tab); repeatable',
      propertyCollector(consumerProperties), {})
    .action(async (flags: ConsumeFlags) => {
      await consume(flags);
    });
}

/** kafka-console-consumer.sh's line: the chosen metadata, each followed by a tab, then key, separator, value. */
export function formatRecord(partition: number, message: KafkaMessage, layout: RecordLayout): string {
  let line = '';
  if (layout.printTimestamp) line += `CreateTime:${message.timestamp}\t`;
  if (layout.printPartition) line += `Partition:${partition}\t`;
  if (layout.printOffset) line += `Offset:${message.offset}\t`;
  if (layout.printKey) line += `${message.key === null ? 'null' : message.key.toString('utf8')}${layout.keySeparator}`;
  return `${line}${message.value === null ? 'null' : message.value.toString('utf8')}\n`;
}

function layoutOf(properties: Record<string, string>): RecordLayout {
  return {
    printKey: booleanProperty(properties, 'print.key'),
    printPartition: booleanProperty(properties, 'print.partition'),
    printOffset: booleanProperty(properties, 'print.offset'),
    printTimestamp: booleanProperty(properties, 'print.timestamp'),
    keySeparator: separatorProperty(properties, 'key.separator', '\t'),
  };
}

async function consume(flags: ConsumeFlags): Promise<void> {
  const layout = layoutOf(flags.property);
  const commits = flags.group !== undefined;
  const groupId = flags.group ?? `logmesh-console-consumer-${Math.floor(Math.random() * 100_000)}`;
  const consumer = kafkaClient(flags.bootstrapServer, 'logmesh-console-consumer').consumer({
    groupId, sessionTimeout: sessionTimeoutMs, maxWaitTimeInMs: fetchWaitMsMax, allowAutoTopicCreation: false,
  });
  // Processed but not yet committed: the next offset to read, per partition.
  const pending = new Map<number, string>();
  let printed = 0;
  let stopping = false;
  let finish!: (error?: Error) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = (error) => {
      stopping = true;
      if (error === undefined) resolve();
      else reject(error);
    };
  });
  finished.catch(() => {}); // a crash before the await below is not an unhandled rejection
  let idleTimer: NodeJS.Timeout | null = null;
  const armIdleTimer = (): void => {
    if (flags.timeoutMs === undefined) return;
    if (idleTimer !== null) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => finish(), flags.timeoutMs);
  };
  const stopOnSignal = (): void => finish();
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  // Only while joining: once records flow, they are on the terminal and a spinner would garble them.
  const spinner = new Spinner(`joining group ${groupId}`);
  consumer.on(consumer.events.GROUP_JOIN, () => spinner.stop());
  consumer.on(consumer.events.CRASH, (event) => {
    if (event.payload.restart !== true) finish(new ToolError(`consume: topic ${flags.topic}: ${kafkaErrorText(event.payload.error)}`));
  });
  let committer: NodeJS.Timeout | null = null;
  let committing: Promise<void> = Promise.resolve();
  const commitPending = (): Promise<void> => {
    committing = committing.then(() => commit(consumer, flags, groupId, pending));
    return committing;
  };

  try {
    await failingAs(`consume: cannot connect to ${flags.bootstrapServer}`, () => consumer.connect());
    await failingAs(`consume: topic ${flags.topic}`, () => consumer.subscribe({ topics: [flags.topic], fromBeginning: flags.fromBeginning === true }));
    await failingAs(`consume: topic ${flags.topic}`, () => consumer.run({
      autoCommit: false, // committed by hand: only what was printed, never a record skipped after --max-messages
      eachMessage: async ({ partition, message }) => {
        if (stopping) return;
        process.stdout.write(formatRecord(partition, message, layout));
        printed += 1;
        if (commits) pending.set(partition, (BigInt(message.offset) + 1n).toString());
        armIdleTimer();
        if (flags.maxMessages !== undefined && printed >= flags.maxMessages) finish();
      },
    }));
    armIdleTimer();
    if (commits) {
      committer = setInterval(() => void commitPending().catch((error: Error) => finish(error)), commitIntervalMs);
    }
    await finished;
    if (commits) await commitPending();
  } finally {
    if (idleTimer !== null) clearTimeout(idleTimer);
    if (committer !== null) clearInterval(committer);
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    spinner.stop();
    await consumer.disconnect().catch(() => {});
  }
  process.stderr.write(`Processed a total of ${printed} messages\n`);
}

async function commit(consumer: Consumer, flags: ConsumeFlags, groupId: string, pending: Map<number, string>): Promise<void> {
  if (pending.size === 0) return;
  const offsets = [...pending].map(([partition, offset]) => ({ topic: flags.topic, partition, offset }));
  pending.clear();
  await failingAs(`consume: committing the offsets of group ${groupId}`, () => consumer.commitOffsets(offsets));
}
