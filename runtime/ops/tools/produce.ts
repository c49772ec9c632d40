// `logmesh produce`, in the spirit of kafka-console-producer.sh: each line of stdin becomes a
// record, optionally `key<separator>value`, sent with the chosen acks through a kafkajs producer.
import { createInterface } from 'node:readline';
import { type Command, InvalidArgumentError } from 'commander';
import { type Message, type PartitionMetadata, Partitioners, type Producer } from 'kafkajs';
import { type ConnectionFlags, ToolError, failingAs, kafkaClient, withAdmin, withBootstrapOption } from './connection.js';
import { asInt, booleanProperty, propertyCollector, separatorProperty } from './options.js';
import { Spinner } from './spinner.js';

const producerProperties = ['parse.key', 'key.separator'] as const;
const sendTimeoutMs = 30_000;
const sendRetriesMax = 5;

interface ProduceFlags extends ConnectionFlags {
  topic: string;
  property: Record<string, string>;
  acks: number;
  batchSize: number;
}

function asAcks(value: string): number {
  const acks = value === 'all' ? -1 : Number(value);
  if (value === '' || ![-1, 0, 1].includes(acks)) throw new InvalidArgumentError('--acks must be all, -1, 0 or 1');
  return acks;
}

export function registerProduceCommand(program: Command): void {
  withBootstrapOption(program.command('produce')
    .description('send the lines of stdin to a topic, one record per line (like kafka-console-producer.sh)'))
    .requiredOption('--topic <name>', 'the topic')
    .option('--property <key=value>', `parse.key=true splits each line into key and value at key.separator (default a tab); repeatable`,
      propertyCollector(producerProperties), {})
    .option('--acks <acks>', 'all (-1: every in-sync replica), 1 (the leader) or 0 (no answer)', asAcks, -1)
    .option('--batch-size <n>', 'records per produce request when stdin is not a terminal', asInt('--batch-size', 1, 10_000), 500)
    .action(async (flags: ProduceFlags) => {
      await produceLines(flags);
    });
}

/** A line as a record: `key<separator>value` with parse.key, the whole line as the value otherwise. */
export function recordOfLine(line: string, lineNumber: number, parseKey: boolean, separator: string): Message {
  if (!parseKey) return { value: line };
  const at = line.indexOf(separator);
  if (at < 0) throw new ToolError(`produce: no key separator ${JSON.stringify(separator)} on line ${lineNumber}`);
  return { key: line.slice(0, at), value: line.slice(at + separator.length) };
}

/**
 * The records of a batch by partition, in line order within each, placed by kafkajs' default
 * partitioner (Java's murmur2: a key lands where Kafka's own clients put it). The tool sends
 * one partition per request because kafkajs 2.2.4 retries a send that spans brokers with new
 * sequence numbers on the brokers that had not answered when one answered NOT_LEADER, which
 * writes those records twice; a one-partition send is retried with the same sequence numbers,
 * and the leader drops the duplicate.
 */
export function recordsByPartition(topic: string, partitionMetadata: PartitionMetadata[], messages: Message[],
  partitioner = Partitioners.DefaultPartitioner()): Map<number, Message[]> {
  const byPartition = new Map<number, Message[]>();
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = byPartition.get(partition) ?? [];
    byPartition.set(partition, list);
    list.push({ ...message, partition });
  }
  return byPartition;
}

async function produceLines(flags: ProduceFlags): Promise<void> {
  const parseKey = booleanProperty(flags.property, 'parse.key');
  const separator = separatorProperty(flags.property, 'key.separator', '\t');
  // Typing at a terminal, each line goes at once; piped input goes in batches.
  const batchRecordsMax = process.stdin.isTTY === true ? 1 : flags.batchSize;
  // The partitions, before reading a line: a missing topic fails at once.
  const partitionMetadata = await withAdmin(flags.bootstrapServer, (admin) => failingAs(`produce: topic ${flags.topic}`,
    async () => (await admin.fetchTopicMetadata({ topics: [flags.topic] })).topics[0]?.partitions ?? []));
  if (partitionMetadata.length === 0) throw new ToolError(`produce: topic ${flags.topic}: no partitions`);
  const partitioner = Partitioners.DefaultPartitioner();
  const producer = kafkaClient(flags.bootstrapServer, 'logmesh-console-producer').producer({
    createPartitioner: Partitioners.DefaultPartitioner, // unused (records carry their partition), but kafkajs warns without one
    allowAutoTopicCreation: false,
    idempotent: flags.acks === -1,
    maxInFlightRequests: 1, // keeps the order of lines per partition across retries
    retry: { retries: sendRetriesMax },
  });
  const spinner = new Spinner(`sending to ${flags.topic}`);
  try {
    await failingAs(`produce: cannot connect to ${flags.bootstrapServer}`, () => producer.connect());
    let sent = 0;
    let lineNumber = 0;
    let batch: Message[] = [];
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of lines) {
      lineNumber += 1;
      batch.push(recordOfLine(line, lineNumber, parseKey, separator));
      if (batch.length >= batchRecordsMax) {
        sent += await send(producer, flags, recordsByPartition(flags.topic, partitionMetadata, batch, partitioner));
        batch = [];
        spinner.update(`sent ${sent} records to ${flags.topic}`);
      }
    }
    if (batch.length > 0) await send(producer, flags, recordsByPartition(flags.topic, partitionMetadata, batch, partitioner));
  } finally {
    spinner.stop();
    await producer.disconnect().catch(() => {});
  }
}

async function send(producer: Producer, flags: ProduceFlags, byPartition: Map<number, Message[]>): Promise<number> {
  let sent = 0;
  for (const [partition, messages] of byPartition) {
    await failingAs(`produce: topic ${flags.topic} partition ${partition}`,
      () => producer.send({ topic: flags.topic, acks: flags.acks, timeout: sendTimeoutMs, messages }));
    sent += messages.length;
  }
  return sent;
}
