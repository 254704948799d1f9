// Output of Kafka 4.0's kafka-consumer-groups (ConsumerGroupCommand), as
// pure functions so it can be checked byte for byte without a broker. Kafka
// builds each table with Java's printf: `%-Ns` pads a value to N characters
// (longer values are not cut), the variable columns are as wide as their
// longest value but never narrower than the header's minimum (15 for most),
// and most tables start every line with "\n" (the format begins with it) and
// end with one println, so their output opens with an empty line.
import type { TopicPartition } from '../client/groups.js';
import { errorMessage, errorName } from '../client/errors.js';

export const MISSING_COLUMN_VALUE = '-';

function pad(value: string, width: number): string {
  return value.padEnd(width);
}

// ---- --list ----

export interface GroupListing {
  groupId: string;
  state: string;
  type: string;
}

/** --list with --state and/or --type: GROUP padded to the longest id (at least 15) plus 10, then 20-wide columns. */
export function formatGroupListing(groups: readonly GroupListing[], includeType: boolean, includeState: boolean): string {
  const groupWidth = Math.max(15, ...groups.map((g) => g.groupId.length)) + 10;
  const line = (id: string, type: string, state: string) => {
    let out = pad(id, groupWidth);
    if (includeType) out += ` ${pad(type, 20)}`;
    if (includeState) out += ` ${pad(state, 20)}`;
    return `${out}\n`;
  };
  return line('GROUP', 'TYPE', 'STATE') + groups.map((g) => line(g.groupId, g.type || 'Unknown', g.state || 'Unknown')).join('');
}

// ---- --describe (--offsets) ----

export interface PartitionAssignmentRow {
  group: string;
  topic: string | null;
  partition: number | null;
  /** Committed offset; null when none. */
  offset: bigint | null;
  leaderEpoch: number | null;
  logEndOffset: bigint | null;
  consumerId: string | null;
  host: string | null;
  clientId: string | null;
}

/** LAG is the log end offset minus the committed offset, when both are known. */
export function lagOf(row: PartitionAssignmentRow): bigint | null {
  if (row.offset === null || row.offset === -1n || row.logEndOffset === null) return null;
  return row.logEndOffset - row.offset;
}

const show = (v: string | number | bigint | null): string => (v === null ? MISSING_COLUMN_VALUE : String(v));

/** One group's offsets table (the rows already in Kafka's order). */
export function formatOffsetsTable(rows: readonly PartitionAssignmentRow[], verbose: boolean): string {
  let groupWidth = 15;
  let topicWidth = 15;
  let consumerWidth = 15;
  let hostWidth = 15;
  for (const r of rows) {
    groupWidth = Math.max(groupWidth, r.group.length);
    topicWidth = Math.max(topicWidth, show(r.topic).length);
    consumerWidth = Math.max(consumerWidth, show(r.consumerId).length);
    hostWidth = Math.max(hostWidth, show(r.host).length);
  }
  const line = (cells: string[]) => {
    const [group, topic, partition, ...rest] = cells;
    const numbers = verbose ? rest.slice(0, 4) : rest.slice(0, 3);
    const [consumerId, host, clientId] = verbose ? rest.slice(4) : rest.slice(3);
    return `\n${pad(group, groupWidth)} ${pad(topic, topicWidth)} ${pad(partition, 10)} ${numbers.map((n) => pad(n, 15)).join(' ')} ${pad(consumerId, consumerWidth)} ${pad(host, hostWidth)} ${clientId}`;
  };
  const header = verbose
    ? ['GROUP', 'TOPIC', 'PARTITION', 'LEADER-EPOCH', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID']
    : ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'];
  let out = line(header);
  for (const r of rows) {
    const numbers = [show(r.offset), show(r.logEndOffset), show(lagOf(r))];
    if (verbose) numbers.unshift(show(r.leaderEpoch));
    out += line([r.group, show(r.topic), show(r.partition), ...numbers, show(r.consumerId), show(r.host), show(r.clientId)]);
  }
  return `${out}\n`;
}

// ---- --describe --members ----

export interface MemberRow {
  group: string;
  consumerId: string;
  /** '' when the member is not static. */
  groupInstanceId: string;
  host: string;
  clientId: string;
  assignment: readonly TopicPartition[];
  targetAssignment: readonly TopicPartition[];
  /** Only KIP-848 groups have member and target epochs. */
  memberEpoch: number | null;
  targetEpoch: number | null;
}

/** `topic:0,1;other:2`: topics sorted, partitions sorted within each. */
export function assignmentString(partitions: readonly TopicPartition[]): string {
  if (partitions.length === 0) return MISSING_COLUMN_VALUE;
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    const list = byTopic.get(topic);
    if (list) list.push(partition);
    else byTopic.set(topic, [partition]);
  }
  return [...byTopic]
    .map(([topic, list]) => `${topic}:${[...list].sort((a, b) => a - b).join(',')}`)
    .sort()
    .join(';');
}

/**
 * One group's members table. `sized` is false when Kafka would not size the
 * columns to the rows (a group that does not exist): it still prints the
 * header, at the minimum widths.
 */
export function formatMembersTable(rows: readonly MemberRow[], verbose: boolean, sized = true): string {
  let groupWidth = 15;
  let consumerWidth = 15;
  let instanceWidth = 17;
  let hostWidth = 15;
  let clientWidth = 15;
  let currentWidth = 20;
  let targetWidth = 20;
  let withInstanceId = false;
  if (sized) {
    for (const r of rows) {
      groupWidth = Math.max(groupWidth, r.group.length);
      consumerWidth = Math.max(consumerWidth, r.consumerId.length);
      instanceWidth = Math.max(instanceWidth, r.groupInstanceId.length);
      hostWidth = Math.max(hostWidth, r.host.length);
      clientWidth = Math.max(clientWidth, r.clientId.length);
      withInstanceId ||= r.groupInstanceId !== '';
      currentWidth = Math.max(currentWidth, assignmentString(r.assignment).length);
      targetWidth = Math.max(targetWidth, assignmentString(r.targetAssignment).length);
    }
  }
  const base = (group: string, consumerId: string, instanceId: string, host: string, clientId: string, count: string) =>
    `${pad(group, groupWidth)} ${pad(consumerId, consumerWidth)} ${withInstanceId ? `${pad(instanceId, instanceWidth)} ` : ''}${pad(host, hostWidth)} ${pad(clientId, clientWidth)} ${pad(count, 15)} `;
  const extra = (currentEpoch: string, current: string, targetEpoch: string, target: string) =>
    verbose ? `${pad(currentEpoch, 15)} ${pad(current, currentWidth)} ${pad(targetEpoch, 15)} ${pad(target, targetWidth)}` : '';
  let out = `\n${base('GROUP', 'CONSUMER-ID', 'GROUP-INSTANCE-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS')}${extra('CURRENT-EPOCH', 'CURRENT-ASSIGNMENT', 'TARGET-EPOCH', 'TARGET-ASSIGNMENT')}\n`;
  for (const r of rows) {
    out += base(r.group, r.consumerId, r.groupInstanceId, r.host, r.clientId, String(r.assignment.length));
    out += extra(show(r.memberEpoch), assignmentString(r.assignment), show(r.targetEpoch), assignmentString(r.targetAssignment));
    out += '\n';
  }
  return out;
}

// ---- --describe --state ----

export interface GroupStateRow {
  group: string;
  coordinatorHost: string;
  coordinatorPort: number;
  coordinatorId: number;
  assignmentStrategy: string;
  state: string;
  members: number;
  groupEpoch: number | null;
  targetAssignmentEpoch: number | null;
}

export function formatStateTable(s: GroupStateRow, verbose: boolean): string {
  const coordinator = `${s.coordinatorHost}:${s.coordinatorPort}  (${s.coordinatorId})`;
  const coordinatorWidth = Math.max(25, coordinator.length);
  const groupWidth = Math.max(15, s.group.length);
  const strategy = s.assignmentStrategy === '' ? MISSING_COLUMN_VALUE : s.assignmentStrategy;
  const line = (cells: string[]) => {
    const [group, coord, assignor, state, ...rest] = cells;
    const epochs = verbose ? `${pad(rest[0], 15)} ${pad(rest[1], 25)} ` : '';
    return `\n${pad(group, groupWidth)} ${pad(coord, coordinatorWidth)} ${pad(assignor, 20)} ${pad(state, 20)} ${epochs}${rest[rest.length - 1]}`;
  };
  const header = verbose
    ? ['GROUP', 'COORDINATOR (ID)', 'ASSIGNMENT-STRATEGY', 'STATE', 'GROUP-EPOCH', 'TARGET-ASSIGNMENT-EPOCH', '#MEMBERS']
    : ['GROUP', 'COORDINATOR (ID)', 'ASSIGNMENT-STRATEGY', 'STATE', '#MEMBERS'];
  const values = verbose
    ? [s.group, coordinator, strategy, s.state, show(s.groupEpoch), show(s.targetAssignmentEpoch), String(s.members)]
    : [s.group, coordinator, strategy, s.state, String(s.members)];
  return `${line(header)}${line(values)}\n`;
}

// ---- --reset-offsets ----

/** GROUP TOPIC PARTITION NEW-OFFSET; the header only when some group was considered. */
export function formatResetPlan(plan: ReadonlyMap<string, ReadonlyArray<[TopicPartition, bigint]>>): string {
  const groupWidth = Math.max(15, ...[...plan.keys()].map((g) => g.length));
  const topicWidth = Math.max(15, ...[...plan.values()].flatMap((rows) => rows.map(([tp]) => tp.topic.length)));
  const line = (group: string, topic: string, partition: string, offset: string) => `\n${pad(group, groupWidth)} ${pad(topic, topicWidth)} ${pad(partition, 10)} ${offset}`;
  let out = plan.size > 0 ? line('GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET') : '';
  for (const [group, rows] of plan) for (const [tp, offset] of rows) out += line(group, tp.topic, String(tp.partition), String(offset));
  return `${out}\n`;
}

/** --export: Kafka's CSV, without the group column when one group was asked for. */
export function formatResetPlanCsv(plan: ReadonlyMap<string, ReadonlyArray<[TopicPartition, bigint]>>, singleGroup: boolean): string {
  let out = '';
  for (const [group, rows] of plan) {
    for (const [tp, offset] of rows) out += `${singleGroup ? '' : `${group},`}${tp.topic},${tp.partition},${offset}\n`;
  }
  return out;
}

// ---- --delete-offsets ----

/** TOPIC PARTITION STATUS, sorted as Kafka sorts them (topic name followed by the partition number, as a string). */
export function formatDeleteOffsets(results: ReadonlyArray<[TopicPartition, string | null]>): string {
  const topicWidth = Math.max(15, ...results.map(([tp]) => tp.topic.length));
  const line = (topic: string, partition: string, status: string) => `\n${pad(topic, topicWidth)} ${pad(partition, 10)} ${pad(status, 15)}`;
  const sorted = [...results].sort(([a], [b]) => compareStrings(a.topic + a.partition, b.topic + b.partition));
  let out = line('TOPIC', 'PARTITION', 'STATUS');
  for (const [tp, error] of sorted) out += line(tp.topic, tp.partition >= 0 ? String(tp.partition) : MISSING_COLUMN_VALUE, error === null ? 'Successful' : `Error: ${error}`);
  return `${out}\n`;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---- errors as the Java tool prints them ----

// Exception classes whose names do not follow from the error name.
const EXCEPTION_NAMES = new Map<number, string>([
  [-1, 'UnknownServerException'],
  [68, 'GroupNotEmptyException'],
  [79, 'MemberIdRequiredException'],
]);

/** The Java exception Kafka's Admin client raises for an error code, e.g. GroupNotEmptyException. */
export function exceptionName(code: number): string {
  const known = EXCEPTION_NAMES.get(code);
  if (known) return known;
  const name = errorName(code).replace(/_AUTHORIZATION_FAILED$/, '_AUTHORIZATION').replace(/_EXCEPTION$/, '');
  return `${name.toLowerCase().replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase())}Exception`;
}

/** `org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.`, as Throwable.toString prints it. */
export function exceptionString(code: number, message?: string | null): string {
  return `org.apache.kafka.common.errors.${exceptionName(code)}: ${message || errorMessage(code)}`;
}
