// `samsa topics`: Kafka 4.0's kafka-topics over the Kafka protocol.
//   --create   CreateTopics (broker defaults for partitions / replication factor when omitted)
//   --list     Metadata for all topics, sorted; --topic filters by regex
//   --describe Metadata + DescribeConfigs (only configs whose source is not the default, as Kafka prints)
//   --alter    CreatePartitions (increase the partition count)
//   --delete   DeleteTopics
// Messages and exit codes follow TopicCommand: argument problems go to
// stderr, broker errors print "Error while executing topic command : ..." to
// stdout; both exit 1.
import { KafkaClient } from '../client/client.js';
import { UnsupportedApiError, type BrokerConnection } from '../client/connection.js';
import { KafkaResponseError } from '../client/errors.js';
import { ZERO_UUID } from '../protocol/codec.js';
import {
  ApiKey,
  type CreatePartitionsRequest,
  type CreatePartitionsResponse,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
  type MetadataResponse,
} from '../protocol/generated/index.js';
import { parseArgs, usage, UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import { formatPartitionLine, formatTopicLine } from './format.js';
import { connectTimeoutMs, printLine, type CliIo } from './io.js';

const OPTIONS: readonly OptionSpec[] = [
  { name: 'bootstrap-server', kind: 'value', argName: '<server to connect to>', description: 'REQUIRED: The Kafka server to connect to.' },
  { name: 'create', kind: 'flag', description: 'Create a new topic.' },
  { name: 'list', kind: 'flag', description: 'List all available topics.' },
  { name: 'describe', kind: 'flag', description: 'List details for the given topics.' },
  { name: 'alter', kind: 'flag', description: 'Alter the number of partitions.' },
  { name: 'delete', kind: 'flag', description: 'Delete a topic.' },
  { name: 'topic', kind: 'value', argName: '<topic>', description: 'The topic to create, alter, describe or delete. It also accepts a regular expression, except for --create option.' },
  { name: 'partitions', kind: 'value', argName: '<# of partitions>', description: 'The number of partitions for the topic being created or altered. If not supplied with --create, the topic uses the cluster default.' },
  { name: 'replication-factor', kind: 'value', argName: '<replication factor>', description: 'The replication factor for each partition in the topic being created. If not supplied, the topic uses the cluster default.' },
  { name: 'config', kind: 'value', argName: '<name=value>', description: 'A topic configuration override for the topic being created (repeatable). Only with --create.' },
  { name: 'if-exists', kind: 'flag', description: 'If set when altering or deleting or describing topics, the action will only execute if the topic exists.' },
  { name: 'if-not-exists', kind: 'flag', description: 'If set when creating topics, the create request will not fail if the topic already exists.' },
  { name: 'exclude-internal', kind: 'flag', description: 'Exclude internal topics when listing or describing topics.' },
  { name: 'help', kind: 'flag', description: 'Print usage information.' },
];

const SUMMARY = 'This tool helps to create, delete, describe, or change a topic.';
const ACTIONS = ['create', 'list', 'alter', 'describe', 'delete'] as const;
const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state', '__share_group_state']);
const ADMIN_TIMEOUT_MS = 30_000;
// ConfigResource.Type.TOPIC and ConfigEntry.ConfigSource.DEFAULT_CONFIG on the wire.
const RESOURCE_TYPE_TOPIC = 2;
const CONFIG_SOURCE_DEFAULT = 5;
const SHORT_MAX = 32767;

/** A broker-side failure, printed the way TopicCommand prints exceptions. */
class TopicCommandError extends Error {}

export async function topicsCommand(argv: string[], io: CliIo): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, OPTIONS);
    if (args.has('help') || argv.length === 0) {
      printLine(io.stdout, usage(SUMMARY, OPTIONS));
      return argv.length === 0 ? 1 : 0;
    }
    checkArgs(args);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    printLine(io.stderr, `${err.message}\n${usage(SUMMARY, OPTIONS)}`);
    return 1;
  }
  let parsed: { partitions?: number; replicationFactor?: number; configs: Array<[string, string]> };
  try {
    parsed = parseNumbersAndConfigs(args);
  } catch (err) {
    printLine(io.stderr, (err as Error).message);
    return 1;
  }
  const client = await KafkaClient.connect({
    bootstrapServers: args.get('bootstrap-server')!,
    clientId: 'samsa-topics',
    connectTimeoutMs: connectTimeoutMs(),
  });
  try {
    const topic = args.get('topic');
    if (args.has('create')) await create(client, io, topic!, parsed, args.has('if-not-exists'));
    else if (args.has('list')) printLine(io.stdout, (await matchingTopics(client, topic, args.has('exclude-internal'))).join('\n'));
    else {
      const topics = await matchingTopics(client, topic, args.has('exclude-internal'));
      if (topic !== undefined && topics.length === 0 && !args.has('if-exists')) {
        printLine(io.stderr, `Topic '${topic}' does not exist as expected`);
        return 1;
      }
      if (topics.length > 0) {
        if (args.has('describe')) await describe(client, io, topics);
        else if (args.has('alter')) await alter(client, topics, parsed.partitions!);
        else await remove(client, topics);
      }
    }
    return 0;
  } catch (err) {
    if (err instanceof TopicCommandError || err instanceof KafkaResponseError || err instanceof UnsupportedApiError) {
      printLine(io.stdout, `Error while executing topic command : ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    client.close();
  }
}

function checkArgs(args: ParsedArgs): void {
  const actions = ACTIONS.filter((a) => args.has(a));
  if (actions.length !== 1) throw new UsageError('Command must include exactly one action: --list, --describe, --create, --alter or --delete');
  const action = actions[0];
  if (!args.has('bootstrap-server')) throw new UsageError('--bootstrap-server must be specified');
  if (action !== 'list' && action !== 'describe' && !args.has('topic')) throw new UsageError('Missing required argument "[topic]"');
  if (action === 'alter') {
    if (args.has('config')) throw new UsageError('Option "[config]" can\'t be used with option "[alter]" (To alter topic configurations, the kafka-configs tool can be used.)');
    if (!args.has('partitions')) throw new UsageError('Missing required argument "[partitions]"');
  }
  const onlyWith: Array<[string, readonly string[]]> = [
    ['config', ['create']],
    ['partitions', ['alter', 'create']],
    ['replication-factor', ['create']],
    ['if-exists', ['alter', 'delete', 'describe']],
    ['if-not-exists', ['create']],
    ['exclude-internal', ['list', 'describe']],
  ];
  for (const [option, allowed] of onlyWith) {
    if (args.has(option) && !allowed.includes(action)) throw new UsageError(`Option "[${option}]" can't be used with option "[${action}]"`);
  }
}

function parseNumbersAndConfigs(args: ParsedArgs) {
  const partitions = args.int('partitions');
  const replicationFactor = args.int('replication-factor');
  if (replicationFactor !== undefined && (replicationFactor < 1 || replicationFactor > SHORT_MAX)) {
    throw new Error(`The replication factor must be between 1 and ${SHORT_MAX} inclusive`);
  }
  if (partitions !== undefined && partitions < 1) throw new Error('The partitions must be greater than 0');
  const configs: Array<[string, string]> = [];
  for (const pair of args.all('config')) {
    const parts = pair.split(/\s*=\s*/);
    if (parts.length !== 2) throw new Error('requirement failed: Invalid topic config: all configs to be added must be in the format "key=val".');
    configs.push([parts[0].trim(), parts[1].trim()]);
  }
  return { partitions, replicationFactor, configs };
}

/** Kafka's IncludeList: commas mean alternation, quotes and spaces are dropped, the whole name must match. */
export function topicFilter(raw: string): RegExp {
  const source = raw.trim().replaceAll(',', '|').replaceAll(' ', '').replace(/^["']+/, '').replace(/["']+$/, '');
  try {
    return new RegExp(`^(?:${source})$`);
  } catch {
    throw new TopicCommandError(`${raw} is an invalid regex.`);
  }
}

async function matchingTopics(client: KafkaClient, pattern: string | undefined, excludeInternal: boolean): Promise<string[]> {
  const metadata = await client.metadata(null);
  const filter = pattern === undefined ? null : topicFilter(pattern);
  return metadata.topics
    .filter((t) => t.errorCode === 0 && t.name !== null)
    .filter((t) => !(excludeInternal && (t.isInternal || INTERNAL_TOPICS.has(t.name!))))
    .map((t) => t.name!)
    .filter((name) => filter === null || filter.test(name))
    .sort();
}

async function create(
  client: KafkaClient,
  io: CliIo,
  topic: string,
  parsed: { partitions?: number; replicationFactor?: number; configs: Array<[string, string]> },
  ifNotExists: boolean,
): Promise<void> {
  if (topic.includes('.') || topic.includes('_')) {
    printLine(io.stdout, "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.");
  }
  const conn = await client.adminConnection();
  const response = await conn.request<CreateTopicsResponse>(ApiKey.CreateTopics, (): CreateTopicsRequest => ({
    topics: [
      {
        name: topic,
        numPartitions: parsed.partitions ?? -1,
        replicationFactor: parsed.replicationFactor ?? -1,
        assignments: [],
        configs: parsed.configs.map(([name, value]) => ({ name, value })),
      },
    ],
    timeoutMs: ADMIN_TIMEOUT_MS,
    validateOnly: false,
  }));
  const result = response.topics.find((t) => t.name === topic);
  if (!result) throw new TopicCommandError(`the broker did not answer for topic ${topic}`);
  if (result.errorCode === 36 && ifNotExists) return; // TOPIC_ALREADY_EXISTS
  if (result.errorCode !== 0) throw new KafkaResponseError(result.errorCode, result.errorMessage);
  printLine(io.stdout, `Created topic ${topic}.`);
}

async function describe(client: KafkaClient, io: CliIo, topics: string[]): Promise<void> {
  const metadata = await client.metadata(topics);
  const configs = await describeTopicConfigs(client.bootstrap, topics);
  const byName = new Map(metadata.topics.map((t) => [t.name, t]));
  for (const name of topics) {
    const t = byName.get(name);
    if (!t) continue;
    if (t.errorCode !== 0) throw new KafkaResponseError(t.errorCode);
    const partitions = [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex);
    printLine(
      io.stdout,
      formatTopicLine({
        name,
        topicId: t.topicId ?? null,
        partitionCount: partitions.length,
        replicationFactor: partitions.length > 0 ? partitions[0].replicaNodes.length : 0,
        configs: configs.get(name) ?? [],
      }),
    );
    for (const p of partitions) printLine(io.stdout, formatPartitionLine(partitionSummary(name, p)));
  }
}

function partitionSummary(topic: string, p: MetadataResponse.MetadataResponsePartition) {
  // Metadata carries no ELR; Kafka 4.0's admin client reports empty lists then.
  return { topic, partition: p.partitionIndex, leader: p.leaderId, replicas: p.replicaNodes, isr: p.isrNodes, elr: [], lastKnownElr: [] };
}

/** Non-default configs per topic; empty when the broker has no DescribeConfigs. */
async function describeTopicConfigs(conn: BrokerConnection, topics: string[]): Promise<Map<string, Array<[string, string | null]>>> {
  const out = new Map<string, Array<[string, string | null]>>();
  if (!conn.supports(ApiKey.DescribeConfigs)) return out;
  const response = await conn.request<DescribeConfigsResponse>(ApiKey.DescribeConfigs, (): DescribeConfigsRequest => ({
    resources: topics.map((name) => ({ resourceType: RESOURCE_TYPE_TOPIC, resourceName: name, configurationKeys: null })),
    includeSynonyms: false,
    includeDocumentation: false,
  }));
  for (const result of response.results) {
    if (result.errorCode !== 0) throw new KafkaResponseError(result.errorCode, result.errorMessage);
    const entries = result.configs
      .filter((c) => (c.configSource !== undefined && c.configSource !== -1 ? c.configSource !== CONFIG_SOURCE_DEFAULT : c.isDefault === false))
      .map((c): [string, string | null] => [c.name, c.value]);
    out.set(result.resourceName, entries);
  }
  return out;
}

async function alter(client: KafkaClient, topics: string[], count: number): Promise<void> {
  const conn = await client.adminConnection();
  const response = await conn.request<CreatePartitionsResponse>(ApiKey.CreatePartitions, (): CreatePartitionsRequest => ({
    topics: topics.map((name) => ({ name, count, assignments: null })),
    timeoutMs: ADMIN_TIMEOUT_MS,
    validateOnly: false,
  }));
  for (const r of response.results) {
    if (r.errorCode !== 0) throw new KafkaResponseError(r.errorCode, r.errorMessage);
  }
}

async function remove(client: KafkaClient, topics: string[]): Promise<void> {
  const conn = await client.adminConnection();
  const response = await conn.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, (version): DeleteTopicsRequest =>
    version >= 6
      ? { topics: topics.map((name) => ({ name, topicId: ZERO_UUID })), timeoutMs: ADMIN_TIMEOUT_MS }
      : { topicNames: topics, timeoutMs: ADMIN_TIMEOUT_MS },
  );
  for (const r of response.responses) {
    if (r.errorCode !== 0) throw new KafkaResponseError(r.errorCode, r.errorMessage);
  }
}
