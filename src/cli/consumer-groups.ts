// `samsa consumer-groups`: Kafka 4.0's kafka-consumer-groups
// (ConsumerGroupCommand) over the Kafka protocol.
//   --list            ListGroups on every broker; with --state/--type a GROUP STATE/TYPE table
//   --describe        DescribeGroups + OffsetFetch + ListOffsets: offsets and lag (default),
//                     --members, or --state; --verbose adds Kafka 4.0's extra columns
//   --delete          DeleteGroups
//   --reset-offsets   plans (and with --execute commits) new offsets for inactive groups
//   --delete-offsets  OffsetDelete
// Messages and exit codes follow the Java tool: argument problems print the
// message and the usage to stderr and exit 1; everything that goes wrong
// while talking to the cluster prints "\nError: ..." to stdout and the tool
// still exits 0, as ConsumerGroupCommand does.
import fs from 'node:fs';
import { KafkaClient } from '../client/client.js';
import { UnsupportedApiError } from '../client/connection.js';
import { ConnectionError, KafkaResponseError } from '../client/errors.js';
import {
  ErrorCodes,
  GroupAdmin,
  partitionMapEntries,
  partitionMapGet,
  partitionMapSet,
  type CommittedOffset,
  type GroupDescription,
  type PartitionMap,
  type TopicPartition,
} from '../client/groups.js';
import { parseArgs, usage, UsageError, type OptionSpec, type ParsedArgs } from './args.js';
import {
  exceptionString,
  formatDeleteOffsets,
  formatGroupListing,
  formatMembersTable,
  formatOffsetsTable,
  formatResetPlan,
  formatResetPlanCsv,
  formatStateTable,
  type MemberRow,
  type PartitionAssignmentRow,
} from './group-format.js';
import { connectTimeoutMs, printLine, type CliIo } from './io.js';

const NL = '\n';
const OPTIONS: readonly OptionSpec[] = [
  { name: 'bootstrap-server', kind: 'value', argName: '<server to connect to>', description: 'REQUIRED: The server(s) to connect to.' },
  { name: 'group', kind: 'value', argName: '<consumer group>', description: 'The consumer group we wish to act on.' },
  { name: 'topic', kind: 'value', argName: '<topic>', description: 'The topic whose consumer group information should be deleted or topic whose should be included in the reset offset process. In `reset-offsets` case, partitions can be specified using this format: `topic1:0,1,2`, where 0,1,2 are the partition to be included in the process. Reset-offsets also supports multiple topic inputs.' },
  { name: 'all-topics', kind: 'flag', description: 'Consider all topics assigned to a group in the `reset-offsets` process.' },
  { name: 'list', kind: 'flag', description: 'List all consumer groups.' },
  { name: 'describe', kind: 'flag', description: 'Describe consumer group and list offset lag (number of messages not yet processed) related to given group.' },
  { name: 'all-groups', kind: 'flag', description: 'Apply to all consumer groups.' },
  { name: 'delete', kind: 'flag', description: 'Pass in groups to delete topic partition offsets and ownership information over the entire consumer group. For instance --group g1 --group g2' },
  { name: 'timeout', kind: 'value', argName: '<Long: timeout (ms)>', description: 'The timeout that can be set for some use cases. For example, it can be used when describing the group to specify the maximum amount of time in milliseconds to wait before the group stabilizes (when the group is just created, or is going through some changes). (default: 5000)' },
  { name: 'command-config', kind: 'value', argName: '<command config property file>', description: 'Property file containing configs to be passed to Admin Client and Consumer. Only client.id is used.' },
  { name: 'reset-offsets', kind: 'flag', description: `Reset offsets of consumer group. Supports one consumer group at the time, and instances should be inactive${NL}Has 2 execution options: --dry-run (the default) to plan which offsets to reset, and --execute to update the offsets. Additionally, the --export option is used to export the results to a CSV format.${NL}You must choose one of the following reset specifications: --to-datetime, --by-duration, --to-earliest, --to-latest, --shift-by, --from-file, --to-current, --to-offset.${NL}To define the scope use --all-topics or --topic. One scope must be specified unless you use '--from-file'.` },
  { name: 'delete-offsets', kind: 'flag', description: 'Delete offsets of consumer group. Supports one consumer group at the time, and multiple topics.' },
  { name: 'dry-run', kind: 'flag', description: 'Only show results without executing changes on Consumer Groups. Supported operations: reset-offsets.' },
  { name: 'execute', kind: 'flag', description: 'Execute operation. Supported operations: reset-offsets.' },
  { name: 'export', kind: 'flag', description: 'Export operation execution to a CSV file. Supported operations: reset-offsets.' },
  { name: 'to-offset', kind: 'value', argName: '<Long: offset>', description: 'Reset offsets to a specific offset.' },
  { name: 'from-file', kind: 'value', argName: '<path to CSV file>', description: 'Reset offsets to values defined in CSV file.' },
  { name: 'to-datetime', kind: 'value', argName: '<datetime>', description: "Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'" },
  { name: 'by-duration', kind: 'value', argName: '<duration>', description: "Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'" },
  { name: 'to-earliest', kind: 'flag', description: 'Reset offsets to earliest offset.' },
  { name: 'to-latest', kind: 'flag', description: 'Reset offsets to latest offset.' },
  { name: 'to-current', kind: 'flag', description: 'Reset offsets to current offset.' },
  { name: 'shift-by', kind: 'value', argName: '<Long: number-of-offsets>', description: "Reset offsets shifting current offset by 'n', where 'n' can be positive or negative." },
  { name: 'members', kind: 'flag', description: `Describe members of the group. This option may be used with '--describe' and '--bootstrap-server' options only.${NL}Example: --bootstrap-server localhost:9092 --describe --group group1 --members` },
  { name: 'verbose', kind: 'flag', description: `Provide additional information, if any, when describing the group. This option may be used with '--offsets'/'--members'/'--state' and '--bootstrap-server' options only.${NL}Example: --bootstrap-server localhost:9092 --describe --group group1 --members --verbose` },
  { name: 'offsets', kind: 'flag', description: `Describe the group and list all topic partitions in the group along with their offset lag. This is the default sub-action of and may be used with '--describe' and '--bootstrap-server' options only.${NL}Example: --bootstrap-server localhost:9092 --describe --group group1 --offsets` },
  { name: 'state', kind: 'optional', argName: '<String>', description: `When specified with '--describe', includes the state of the group.${NL}Example: --bootstrap-server localhost:9092 --describe --group group1 --state${NL}When specified with '--list', it displays the state of all groups. It can also be used to list groups with specific states.${NL}Example: --bootstrap-server localhost:9092 --list --state stable,empty${NL}This option may be used with '--describe', '--list' and '--bootstrap-server' options only.` },
  { name: 'type', kind: 'optional', argName: '<String>', description: `When specified with '--list', it displays the types of all the groups. It can also be used to list groups with specific types.${NL}Example: --bootstrap-server localhost:9092 --list --type classic,consumer${NL}This option may be used with the '--list' option only.` },
  { name: 'help', kind: 'flag', description: 'Print usage information.' },
  { name: 'version', kind: 'flag', description: 'Display Kafka version.' },
];
const SUMMARY = 'This tool helps to list all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets.';
const ACTIONS = ['list', 'describe', 'delete', 'reset-offsets', 'delete-offsets'] as const;
const RESET_SCENARIOS = ['to-offset', 'shift-by', 'to-datetime', 'by-duration', 'to-earliest', 'to-latest', 'to-current', 'from-file'] as const;
const TIMEOUT_MS_DEFAULT = 5000;
/** The states a consumer group (classic or KIP-848) can be in, by their upper-case names, as GroupState.parse reads them. */
const GROUP_STATES = new Map(
  ['PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead', 'Empty', 'Assigning', 'Reconciling'].map((s) => [s.toUpperCase(), s]),
);
const GROUP_TYPES = new Map([
  ['classic', 'Classic'],
  ['consumer', 'Consumer'],
]);
const UNKNOWN_OFFSET = -1n;

/** An argument problem found after connecting: printed with the usage, exit 1 (CommandLineUtils.printUsageAndExit). */
class CommandUsageError extends Error {}

export async function consumerGroupsCommand(argv: string[], io: CliIo): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv, OPTIONS);
    if (args.has('help') || argv.length === 0) {
      printLine(io.stdout, usage(SUMMARY, OPTIONS));
      return argv.length === 0 ? 1 : 0;
    }
    if (args.has('version')) {
      printLine(io.stdout, '4.0.0 (samsa)');
      return 0;
    }
    checkArgs(args, io);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    printLine(io.stderr, `${err.message}\n${usage(SUMMARY, OPTIONS)}`);
    return 1;
  }
  const out = (text: string) => io.stdout.write(text);
  const printError = (message: string) => out(`\nError: ${message}\n`);
  let client: KafkaClient | null = null;
  let admin: GroupAdmin | null = null;
  try {
    const timeoutMs = args.int('timeout') ?? TIMEOUT_MS_DEFAULT;
    client = await KafkaClient.connect({
      bootstrapServers: args.get('bootstrap-server')!,
      clientId: commandConfigClientId(args) ?? 'samsa-consumer-groups',
      connectTimeoutMs: Math.min(connectTimeoutMs(), Math.max(timeoutMs, 1)),
    });
    admin = new GroupAdmin(client, timeoutMs);
    const command = new GroupCommand(client, admin, args, out, printError, (line) => printLine(io.stderr, line));
    if (args.has('list')) await command.list();
    else if (args.has('describe')) await command.describe();
    else if (args.has('delete')) await command.deleteGroups();
    else if (args.has('reset-offsets')) await command.resetOffsets();
    else await command.deleteOffsets();
    return 0;
  } catch (err) {
    if (err instanceof CommandUsageError || err instanceof UsageError) {
      printLine(io.stderr, `${err.message}\n${usage(SUMMARY, OPTIONS)}`);
      return 1;
    }
    if (err instanceof KafkaResponseError) {
      printError(`Executing consumer group command failed due to ${exceptionString(err.code, err.message)}`);
      return 0;
    }
    if (err instanceof ConnectionError || err instanceof UnsupportedApiError || err instanceof CommandFailure) {
      printError(`Executing consumer group command failed due to ${err.message}`);
      return 0;
    }
    throw err;
  } finally {
    admin?.close();
    client?.close();
  }
}

/** A failure Kafka reports as "Executing consumer group command failed due to <message>". */
class CommandFailure extends Error {}

function checkArgs(args: ParsedArgs, io: CliIo): void {
  const actions = ACTIONS.filter((a) => args.has(a));
  if (actions.length !== 1) throw new UsageError('Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets');
  if (!args.has('bootstrap-server')) throw new UsageError('Missing required argument "[bootstrap-server]"');
  // jopt-simple's availableIf: these options only exist next to their action.
  for (const option of ['members', 'verbose', 'offsets']) {
    if (args.has(option) && !args.has('describe')) throw new UsageError(`Option(s) [${option}] are unavailable given other options on the command line`);
  }
  if (args.has('state') && !args.has('describe') && !args.has('list')) throw new UsageError('Option(s) [state] are unavailable given other options on the command line');
  if (args.has('type') && !args.has('list')) throw new UsageError('Option(s) [type] are unavailable given other options on the command line');
  const groupScope = args.has('group') || args.has('all-groups');
  if (args.has('describe')) {
    if (!groupScope) throw new UsageError('Option [describe] takes one of these options: [all-groups], [group]');
    const sub = ['members', 'offsets', 'state'].filter((o) => args.has(o));
    if (sub.length > 1) throw new UsageError('Option [describe] takes at most one of these options: [members], [offsets], [state]');
    if (args.has('state') && args.get('state') !== '') throw new UsageError('Option [describe] does not take a value for [state]');
  }
  if (args.has('delete')) {
    if (!groupScope) throw new UsageError('Option [delete] takes one of these options: [all-groups], [group]');
    if (args.has('topic')) throw new UsageError('The consumer does not support topic-specific offset deletion from a consumer group.');
  }
  if (args.has('delete-offsets') && (!args.has('group') || !args.has('topic'))) {
    throw new UsageError('Option [delete-offsets] takes the following options: [group], [topic]');
  }
  if (args.has('reset-offsets')) {
    if (args.has('dry-run') && args.has('execute')) throw new UsageError('Option [reset-offsets] only accepts one of [execute] and [dry-run]');
    if (!args.has('dry-run') && !args.has('execute')) {
      printLine(
        io.stderr,
        'WARN: No action will be performed as the --execute option is missing.In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.',
      );
    }
    if (!groupScope) throw new UsageError('Option [reset-offsets] takes one of these options: [all-groups], [group]');
    const scenarios = RESET_SCENARIOS.filter((s) => args.has(s));
    if (scenarios.length > 1) throw new UsageError(`Option "[${scenarios[0]}]" can't be used with option "[${scenarios.slice(1).join(', ')}]"`);
  }
  if (args.has('group') && args.has('all-groups')) throw new UsageError('Option "[group]" can\'t be used with option "[all-groups]"');
  if (args.has('group') && args.has('list')) throw new UsageError('Option "[group]" can\'t be used with option "[list]"');
  if (args.has('topic') && (args.has('list') || args.has('describe'))) throw new UsageError(`Option "[topic]" can't be used with option "[${args.has('list') ? 'list' : 'describe'}]"`);
  args.int('timeout');
  for (const name of ['to-offset', 'shift-by']) args.int(name);
}

/** client.id from --command-config; other admin settings do not apply to this client. */
function commandConfigClientId(args: ParsedArgs): string | undefined {
  const file = args.get('command-config');
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CommandFailure(`${file} (${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (err as Error).message})`);
  }
  const match = /^\s*client\.id\s*[=:]\s*(.*?)\s*$/m.exec(text);
  return match ? match[1] : undefined;
}

class GroupCommand {
  constructor(
    private readonly client: KafkaClient,
    private readonly admin: GroupAdmin,
    private readonly args: ParsedArgs,
    private readonly out: (text: string) => void,
    private readonly printError: (message: string) => void,
    private readonly err: (line: string) => void,
  ) {}

  /** Consumer groups are those of the `consumer` protocol, plus groups that only commit offsets (protocol type ''). */
  private async listConsumerGroups(states: string[] = [], types: string[] = []) {
    const groups = await this.admin.listGroups(states, types);
    return groups.filter((g) => g.protocolType === 'consumer' || g.protocolType === '');
  }

  private async groupIds(): Promise<string[]> {
    return this.args.has('all-groups') ? (await this.listConsumerGroups()).map((g) => g.groupId) : this.args.all('group');
  }

  async list(): Promise<void> {
    const includeState = this.args.has('state');
    const includeType = this.args.has('type');
    if (!includeState && !includeType) {
      for (const g of await this.listConsumerGroups()) this.out(`${g.groupId}\n`);
      return;
    }
    const states = parseStates(this.args.get('state') ?? '');
    const types = parseTypes(this.args.get('type') ?? '');
    const groups = await this.listConsumerGroups(states, types);
    this.out(
      formatGroupListing(
        groups.map((g) => ({ groupId: g.groupId, state: g.state, type: GROUP_TYPES.get(g.type.toLowerCase()) ?? (g.type === '' ? 'Classic' : 'Unknown') })),
        includeType,
        includeState,
      ),
    );
  }

  async describe(): Promise<void> {
    const groupIds = [...new Set(await this.groupIds())].sort();
    const verbose = this.args.has('verbose');
    for (const groupId of groupIds) {
      const description = await this.describeGroup(groupId);
      if (this.args.has('members')) await this.printMembers(description, verbose);
      else if (this.args.has('state') && !this.args.has('offsets')) this.printState(description, verbose);
      else await this.printOffsets(description, verbose);
    }
  }

  private async describeGroup(groupId: string): Promise<GroupDescription> {
    const description = await this.admin.describeGroup(groupId);
    // Kafka 4.x coordinators answer GROUP_ID_NOT_FOUND where older ones answer the Dead state.
    if (description.errorCode === ErrorCodes.GROUP_ID_NOT_FOUND) return { ...description, errorCode: 0, state: 'Dead', members: [] };
    if (description.errorCode !== 0) throw new KafkaResponseError(description.errorCode);
    if (description.protocolType !== 'consumer' && description.protocolType !== '' && description.state !== 'Dead') {
      throw new CommandFailure(`${exceptionString(-1, `Group ${groupId} is not a consumer group (protocol type ${description.protocolType}).`)}`);
    }
    return description;
  }

  /** Kafka's shouldPrintMemberState: the messages for a missing, empty or rebalancing group; whether to print its table. */
  private shouldPrint(groupId: string, state: string, rows: number): boolean {
    switch (state) {
      case 'Dead':
        this.printError(`Consumer group '${groupId}' does not exist.`);
        return false;
      case 'Empty':
        this.err(`\nConsumer group '${groupId}' has no active members.`);
        break;
      case 'PreparingRebalance':
      case 'CompletingRebalance':
      case 'Assigning':
      case 'Reconciling':
        this.err(`\nWarning: Consumer group '${groupId}' is rebalancing.`);
        break;
      case 'Stable':
        break;
      default:
        throw new CommandFailure(`Expected a valid consumer group state, but found '${state}'.`);
    }
    return rows > 0;
  }

  private async printOffsets(g: GroupDescription, verbose: boolean): Promise<void> {
    const committed = (await this.admin.fetchOffsets(g.groupId, null)).offsets;
    const rows: PartitionAssignmentRow[] = [];
    const assigned = new Set<string>();
    // Members with the most partitions first (a stable sort, as Java's), each member's partitions by topic and partition.
    const members = g.members.filter((m) => m.assignment.length > 0).sort((a, b) => b.assignment.length - a.assignment.length);
    const plan: Array<{ partitions: TopicPartition[]; consumerId: string | null; host: string | null; clientId: string | null }> = [];
    for (const m of members) {
      for (const tp of m.assignment) assigned.add(`${tp.topic}\u0000${tp.partition}`);
      plan.push({ partitions: m.assignment, consumerId: m.memberId, host: m.host, clientId: m.clientId });
    }
    const unassigned = partitionMapEntries(committed)
      .map(([tp]) => tp)
      .filter((tp) => !assigned.has(`${tp.topic}\u0000${tp.partition}`));
    if (unassigned.length > 0) plan.push({ partitions: unassigned, consumerId: '-', host: '-', clientId: '-' });
    const logEnds = await this.admin.listOffsets(plan.flatMap((p) => p.partitions), 'latest');
    for (const p of plan) {
      const sorted = [...p.partitions].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
      for (const tp of sorted) {
        const c: CommittedOffset | undefined = partitionMapGet(committed, tp.topic, tp.partition);
        const end = partitionMapGet(logEnds, tp.topic, tp.partition);
        rows.push({
          group: g.groupId,
          topic: tp.topic,
          partition: tp.partition,
          offset: c ? c.offset : null,
          leaderEpoch: c && c.leaderEpoch >= 0 ? c.leaderEpoch : null,
          logEndOffset: end && end.errorCode === 0 && end.offset >= 0n ? end.offset : null,
          consumerId: p.consumerId,
          host: p.host,
          clientId: p.clientId,
        });
      }
    }
    if (this.shouldPrint(g.groupId, g.state, rows.length)) this.out(formatOffsetsTable(rows, verbose));
  }

  private async printMembers(g: GroupDescription, verbose: boolean): Promise<void> {
    const rows: MemberRow[] = g.members.map((m) => ({
      group: g.groupId,
      consumerId: m.memberId,
      groupInstanceId: m.groupInstanceId ?? '',
      host: m.host,
      clientId: m.clientId,
      assignment: m.assignment,
      targetAssignment: m.targetAssignment,
      memberEpoch: m.memberEpoch,
      targetEpoch: g.targetAssignmentEpoch,
    }));
    const sized = this.shouldPrint(g.groupId, g.state, rows.length);
    // Kafka prints the header even when the group has no members (or does not exist).
    this.out(formatMembersTable(rows, verbose, sized));
  }

  private printState(g: GroupDescription, verbose: boolean): void {
    if (!this.shouldPrint(g.groupId, g.state, 1)) return;
    this.out(
      formatStateTable(
        {
          group: g.groupId,
          coordinatorHost: g.coordinator.host,
          coordinatorPort: g.coordinator.port,
          coordinatorId: g.coordinator.nodeId,
          assignmentStrategy: g.assignor,
          state: g.state,
          members: g.members.length,
          groupEpoch: g.groupEpoch,
          targetAssignmentEpoch: g.targetAssignmentEpoch,
        },
        verbose,
      ),
    );
  }

  async deleteGroups(): Promise<void> {
    const groupIds = await this.groupIds();
    const results = await this.admin.deleteGroups(groupIds);
    const succeeded = [...results].filter(([, code]) => code === 0).map(([g]) => g);
    const failed = [...results].filter(([, code]) => code !== 0);
    const quoted = (ids: string[]) => ids.map((g) => `'${g}'`).join(', ');
    if (failed.length === 0) {
      this.out(`Deletion of requested consumer groups (${quoted(succeeded)}) was successful.\n`);
      return;
    }
    this.printError('Deletion of some consumer groups failed:');
    for (const [group, code] of failed) this.out(`* Group '${group}' could not be deleted due to: ${exceptionString(code)}\n`);
    if (succeeded.length > 0) this.out(`\nThese consumer groups were deleted successfully: ${quoted(succeeded)}\n`);
  }

  async deleteOffsets(): Promise<void> {
    const groupId = this.args.get('group')!;
    const results: Array<[TopicPartition, string | null]> = [];
    const partitions: TopicPartition[] = [];
    const wholeTopics: string[] = [];
    for (const arg of this.args.all('topic')) {
      if (arg.includes(':')) partitions.push(...parseTopicPartitions(arg));
      else wholeTopics.push(arg);
    }
    if (wholeTopics.length > 0) {
      const metadata = await this.client.metadata(wholeTopics);
      for (const name of wholeTopics) {
        const t = metadata.topics.find((x) => x.name === name);
        if (!t || t.errorCode !== 0) {
          const code = t ? t.errorCode : ErrorCodes.UNKNOWN_TOPIC_OR_PARTITION;
          results.push([{ topic: name, partition: -1 }, `java.util.concurrent.ExecutionException: ${exceptionString(code)}`]);
          continue;
        }
        for (const p of t.partitions) partitions.push({ topic: name, partition: p.partitionIndex });
      }
    }
    const unique = dedupe(partitions);
    const response = unique.length > 0 ? await this.admin.deleteOffsets(groupId, unique) : { errorCode: 0, partitions: new Map() as PartitionMap<number> };
    const top = response.errorCode;
    // Kafka's Admin fails every partition with the top-level error, else reports each partition's own.
    let firstPartitionError = 0;
    for (const tp of unique) {
      const code = top !== 0 ? top : (partitionMapGet(response.partitions, tp.topic, tp.partition) ?? 0);
      if (code !== 0 && firstPartitionError === 0) firstPartitionError = code;
      results.push([tp, code === 0 ? null : `java.util.concurrent.ExecutionException: ${exceptionString(code)}`]);
    }
    const summary = top !== 0 ? top : firstPartitionError;
    switch (summary) {
      case 0:
        this.out(`Request succeeded for deleting offsets from group ${groupId}.\n`);
        break;
      case 24: // INVALID_GROUP_ID
      case ErrorCodes.GROUP_ID_NOT_FOUND:
      case 30: // GROUP_AUTHORIZATION_FAILED
      case ErrorCodes.NON_EMPTY_GROUP:
        this.printError(new KafkaResponseError(summary).message);
        break;
      case ErrorCodes.GROUP_SUBSCRIBED_TO_TOPIC:
      case 29: // TOPIC_AUTHORIZATION_FAILED
      case ErrorCodes.UNKNOWN_TOPIC_OR_PARTITION:
        this.printError('Encountered some partition-level error, see the follow-up details.');
        break;
      default:
        this.printError(`Encountered some unknown error: ${new KafkaResponseError(summary).errorName}`);
    }
    this.out(formatDeleteOffsets(results));
  }

  async resetOffsets(): Promise<void> {
    const groupIds = await this.groupIds();
    const plan = new Map<string, Array<[TopicPartition, bigint]>>();
    const fromFile = this.args.has('from-file') ? readResetPlan(this.args.get('from-file')!, groupIds) : null;
    for (const groupId of [...new Set(groupIds)].sort()) {
      const description = await this.admin.describeGroup(groupId);
      const state = description.errorCode === ErrorCodes.GROUP_ID_NOT_FOUND ? 'Dead' : description.state;
      if (description.errorCode !== 0 && description.errorCode !== ErrorCodes.GROUP_ID_NOT_FOUND) throw new KafkaResponseError(description.errorCode);
      if (state !== 'Empty' && state !== 'Dead') {
        this.printError(`Assignments can only be reset if the group '${groupId}' is inactive, but the current state is ${state}.`);
        plan.set(groupId, []);
        continue;
      }
      const offsets = await this.prepareOffsets(groupId, fromFile);
      if (this.args.has('execute')) await this.commit(groupId, offsets);
      plan.set(groupId, offsets);
    }
    if (this.args.has('export')) this.out(`${formatResetPlanCsv(plan, this.args.all('group').length === 1)}\n`);
    else this.out(formatResetPlan(plan));
  }

  private async commit(groupId: string, offsets: Array<[TopicPartition, bigint]>): Promise<void> {
    const map: PartitionMap<bigint> = new Map();
    for (const [tp, offset] of offsets) partitionMapSet(map, tp.topic, tp.partition, offset);
    const errors = await this.admin.commitOffsets(groupId, map);
    for (const [, code] of partitionMapEntries(errors)) if (code !== 0) throw new KafkaResponseError(code);
  }

  private async partitionsToReset(groupId: string): Promise<TopicPartition[]> {
    if (this.args.has('all-topics')) return partitionMapEntries((await this.admin.fetchOffsets(groupId, null)).offsets).map(([tp]) => tp);
    if (!this.args.has('topic')) throw new CommandUsageError('One of the reset scopes should be defined: --all-topics, --topic.');
    const out: TopicPartition[] = [];
    const wholeTopics: string[] = [];
    for (const arg of this.args.all('topic')) {
      if (arg.includes(':')) out.push(...parseTopicPartitions(arg));
      else wholeTopics.push(arg);
    }
    if (wholeTopics.length > 0) {
      const metadata = await this.client.metadata(wholeTopics);
      for (const name of wholeTopics) {
        const t = metadata.topics.find((x) => x.name === name);
        if (!t || t.errorCode !== 0) throw new KafkaResponseError(t ? t.errorCode : ErrorCodes.UNKNOWN_TOPIC_OR_PARTITION);
        for (const p of [...t.partitions].sort((a, b) => a.partitionIndex - b.partitionIndex)) out.push({ topic: name, partition: p.partitionIndex });
      }
    }
    return dedupe(out);
  }

  /** Kafka's checkAllTopicPartitionsValid: every partition exists and has a leader. */
  private async checkPartitions(partitions: TopicPartition[]): Promise<void> {
    const topics = [...new Set(partitions.map((p) => p.topic))];
    if (topics.length === 0) return;
    const metadata = await this.client.metadata(topics);
    const leaders: PartitionMap<number> = new Map();
    for (const t of metadata.topics) if (t.name !== null && t.errorCode === 0) for (const p of t.partitions) partitionMapSet(leaders, t.name, p.partitionIndex, p.leaderId);
    const missing = partitions.filter((tp) => partitionMapGet(leaders, tp.topic, tp.partition) === undefined);
    if (missing.length > 0) throw new CommandFailure(`The partitions "${missing.map((tp) => `${tp.topic}-${tp.partition}`).join(',')}" do not exist`);
    const leaderless = partitions.filter((tp) => partitionMapGet(leaders, tp.topic, tp.partition)! < 0);
    if (leaderless.length > 0) throw new CommandFailure(`The partitions "${leaderless.map((tp) => `${tp.topic}-${tp.partition}`).join(',')}" have no leader`);
  }

  private async prepareOffsets(groupId: string, fromFile: Map<string, Array<[TopicPartition, bigint]>> | null): Promise<Array<[TopicPartition, bigint]>> {
    if (fromFile !== null) {
      const planned = fromFile.get(groupId);
      if (!planned) {
        this.printError(`No reset plan for group ${groupId} found.`);
        return [];
      }
      await this.checkPartitions(planned.map(([tp]) => tp));
      return this.clamp(planned);
    }
    const partitions = await this.partitionsToReset(groupId);
    await this.checkPartitions(partitions);
    const args = this.args;
    if (args.has('to-offset')) return this.clamp(partitions.map((tp) => [tp, BigInt(args.int('to-offset')!)]));
    if (args.has('to-earliest')) return this.logOffsets(partitions, 'earliest', 'Error getting starting offset of topic partition: ');
    if (args.has('to-latest')) return this.logOffsets(partitions, 'latest', 'Error getting ending offset of topic partition: ');
    if (args.has('shift-by')) {
      const committed = (await this.admin.fetchOffsets(groupId, null)).offsets;
      const shift = BigInt(args.int('shift-by')!);
      return this.clamp(
        partitions.map((tp) => {
          const current = partitionMapGet(committed, tp.topic, tp.partition);
          if (!current) throw new CommandUsageError(`Cannot shift offset for partition ${tp.topic}-${tp.partition} since there is no current committed offset`);
          return [tp, current.offset + shift];
        }),
      );
    }
    if (args.has('to-datetime')) return this.byTimestamp(partitions, parseDateTime(args.get('to-datetime')!));
    if (args.has('by-duration')) return this.byTimestamp(partitions, BigInt(Date.now()) - parseDuration(args.get('by-duration')!));
    if (args.has('to-current')) {
      const committed = (await this.admin.fetchOffsets(groupId, null)).offsets;
      const withoutCommit = partitions.filter((tp) => !partitionMapGet(committed, tp.topic, tp.partition));
      const ends = await this.logOffsets(withoutCommit, 'latest', 'Error getting ending offset of topic partition: ');
      const endOf = new Map(ends.map(([tp, o]) => [`${tp.topic}\u0000${tp.partition}`, o]));
      return partitions.map((tp) => [tp, partitionMapGet(committed, tp.topic, tp.partition)?.offset ?? endOf.get(`${tp.topic}\u0000${tp.partition}`)!]);
    }
    throw new CommandUsageError(
      "Option '[reset-offsets]' requires one of the following scenarios: [[to-offset], [shift-by], [to-datetime], [by-duration], [to-earliest], [to-latest], [to-current], [from-file]]",
    );
  }

  private async logOffsets(partitions: TopicPartition[], spec: 'earliest' | 'latest', failure: string): Promise<Array<[TopicPartition, bigint]>> {
    const listed = await this.admin.listOffsets(partitions, spec);
    return partitions.map((tp) => {
      const r = partitionMapGet(listed, tp.topic, tp.partition);
      if (!r || r.errorCode !== 0 || r.offset < 0n) throw new CommandUsageError(`${failure}${tp.topic}-${tp.partition}`);
      return [tp, r.offset];
    });
  }

  /** The first offset at or after `timestamp`; partitions with none fall back to their log end, with Kafka's warning. */
  private async byTimestamp(partitions: TopicPartition[], timestamp: bigint): Promise<Array<[TopicPartition, bigint]>> {
    const listed = await this.admin.listOffsets(partitions, { timestamp });
    const empty = partitions.filter((tp) => {
      const r = partitionMapGet(listed, tp.topic, tp.partition);
      return !r || r.errorCode !== 0 || r.offset === UNKNOWN_OFFSET;
    });
    for (const tp of empty) this.out(`\nWarn: Partition ${tp.partition} from topic ${tp.topic} is empty. Falling back to latest known offset.\n`);
    const ends = new Map((await this.logOffsets(empty, 'latest', 'Error getting offset by timestamp of topic partition: ')).map(([tp, o]) => [`${tp.topic}\u0000${tp.partition}`, o]));
    return partitions.map((tp) => [tp, ends.get(`${tp.topic}\u0000${tp.partition}`) ?? partitionMapGet(listed, tp.topic, tp.partition)!.offset]);
  }

  /** Kafka's checkOffsetsRange: offsets past the log end or before the log start are moved to it, with a warning. */
  private async clamp(requested: Array<[TopicPartition, bigint]>): Promise<Array<[TopicPartition, bigint]>> {
    const partitions = requested.map(([tp]) => tp);
    const starts = await this.admin.listOffsets(partitions, 'earliest');
    const ends = await this.admin.listOffsets(partitions, 'latest');
    return requested.map(([tp, offset]) => {
      const end = partitionMapGet(ends, tp.topic, tp.partition);
      const start = partitionMapGet(starts, tp.topic, tp.partition);
      if (end && end.errorCode === 0 && offset > end.offset) {
        this.err(`WARN New offset (${offset}) is higher than latest offset for topic partition ${tp.topic}-${tp.partition}. Value will be set to ${end.offset}`);
        return [tp, end.offset];
      }
      if (start && start.errorCode === 0 && offset < start.offset) {
        this.err(`WARN New offset (${offset}) is lower than earliest offset for topic partition ${tp.topic}-${tp.partition}. Value will be set to ${start.offset}`);
        return [tp, start.offset];
      }
      return [tp, offset];
    });
  }
}

function dedupe(partitions: TopicPartition[]): TopicPartition[] {
  const seen = new Set<string>();
  return partitions.filter((tp) => {
    const key = `${tp.topic}\u0000${tp.partition}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** `topic:0,1,2` as Kafka's parseTopicsWithPartitions reads it. */
export function parseTopicPartitions(arg: string): TopicPartition[] {
  const parts = arg.split(':');
  if (parts.length !== 2) throw new CommandUsageError(`Invalid topic arg '${arg}', expected topic name and partitions`);
  const [topic, list] = parts;
  return list.split(',').map((raw) => {
    if (!/^[+-]?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Math.abs(Number(raw)) > 2147483647) {
      throw new CommandUsageError(`Invalid partition '${raw}' specified in topic arg '${arg}''`);
    }
    return { topic, partition: Number(raw) };
  });
}

/** --state values: comma-separated names in any case; Kafka rejects anything that is not a consumer group state. */
export function parseStates(input: string): string[] {
  if (input === '') return [];
  const parsed = input.split(',').map((s) => GROUP_STATES.get(s.trim().toUpperCase()));
  if (parsed.some((s) => s === undefined)) {
    throw new CommandUsageError(`Invalid state list '${input}'. Valid states are: ${[...GROUP_STATES.values()].join(', ')}`);
  }
  return [...new Set(parsed as string[])];
}

export function parseTypes(input: string): string[] {
  if (input === '') return [];
  const parsed = input.toLowerCase().split(',').map((s) => s.trim());
  if (parsed.some((t) => !GROUP_TYPES.has(t))) throw new CommandUsageError(`Invalid types list '${input}'. Valid types are: ${[...GROUP_TYPES.values()].join(', ')}`);
  return [...new Set(parsed)];
}

/**
 * Kafka's Utils.getDateTime: `yyyy-MM-ddTHH:mm:ss[.SSS]` with an optional
 * zone (`Z`, `+hh:mm`, `+hhmm`); no zone means UTC.
 */
export function parseDateTime(text: string): bigint {
  if (!text.includes('T')) throw new CommandFailure(`java.text.ParseException: Error parsing timestamp. It does not contain a 'T' according to ISO8601 format`);
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/.exec(text);
  if (!m) throw new CommandFailure(`java.text.ParseException: Unparseable date: "${text}"`);
  const [, y, mo, d, h, mi, s, ms, zone] = m;
  let utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms ?? 0));
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
    utc -= sign * minutes * 60_000;
  }
  return BigInt(utc);
}

/** java.time.Duration.parse: `PnDTnHnMn.nS` (sign allowed on the whole and on each part); milliseconds. */
export function parseDuration(text: string): bigint {
  const m = /^([-+]?)P(?:([-+]?\d+)D)?(?:T(?:([-+]?\d+)H)?(?:([-+]?\d+)M)?(?:([-+]?\d+)(?:[.,](\d{0,9}))?S)?)?$/i.exec(text);
  if (!m || text.toUpperCase().endsWith('T') || !/\d/.test(text)) throw new CommandFailure(`java.time.format.DateTimeParseException: Text cannot be parsed to a Duration`);
  const [, sign, days, hours, minutes, seconds, fraction] = m;
  const n = (v: string | undefined) => BigInt(v ?? '0');
  let ms = n(days) * 86_400_000n + n(hours) * 3_600_000n + n(minutes) * 60_000n + n(seconds) * 1000n;
  if (fraction) {
    const fracMs = BigInt((fraction + '000').slice(0, 3));
    ms += (seconds?.startsWith('-') ? -1n : 1n) * fracMs;
  }
  return sign === '-' ? -ms : ms;
}

/** A --from-file CSV: `topic,partition,offset` lines for one group, else `group,topic,partition,offset`. */
function readResetPlan(file: string, groupIds: string[]): Map<string, Array<[TopicPartition, bigint]>> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CommandFailure(`java.io.IOException: ${file}: ${(err as Error).message}`);
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const plan = new Map<string, Array<[TopicPartition, bigint]>>();
  const add = (group: string, topic: string, partition: string, offset: string) => {
    if (!/^\d+$/.test(partition.trim()) || !/^-?\d+$/.test(offset.trim())) throw new CommandFailure(`Invalid reset plan line: ${[group, topic, partition, offset].join(',')}`);
    const list = plan.get(group) ?? [];
    list.push([{ topic, partition: Number(partition.trim()) }, BigInt(offset.trim())]);
    plan.set(group, list);
  };
  const withoutGroup = groupIds.length === 1 && lines.length > 0 && lines[0].split(',').length === 3;
  for (const line of lines) {
    const cells = line.split(',');
    if (withoutGroup && cells.length === 3) add(groupIds[0], cells[0], cells[1], cells[2]);
    else if (cells.length === 4) add(cells[0], cells[1], cells[2], cells[3]);
    else throw new CommandFailure(`Invalid reset plan line: ${line}`);
  }
  return plan;
}
