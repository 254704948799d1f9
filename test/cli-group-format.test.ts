// kafka-consumer-groups output, byte for byte, without a broker. The expected
// strings were produced with printf-style `%-Ns` formats written out from
// Kafka 4.0's ConsumerGroupCommand (column minimums 15/10/20/25), so a
// change in our padding or line structure shows up here. Also the consumer
// protocol's member metadata and the range assignor.
import { describe, expect, it } from 'vitest';
import { rangeAssign } from '../src/client/group-consumer.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../src/client/groups.js';
import { parseDateTime, parseDuration, parseStates, parseTopicPartitions } from '../src/cli/consumer-groups.js';
import {
  assignmentString,
  exceptionString,
  formatDeleteOffsets,
  formatGroupListing,
  formatMembersTable,
  formatOffsetsTable,
  formatResetPlan,
  formatStateTable,
  type PartitionAssignmentRow,
} from '../src/cli/group-format.js';

const row = (over: Partial<PartitionAssignmentRow>): PartitionAssignmentRow => ({
  group: 'g1',
  topic: 'orders',
  partition: 0,
  offset: null,
  leaderEpoch: null,
  logEndOffset: null,
  consumerId: null,
  host: null,
  clientId: null,
  ...over,
});

describe('consumer-groups --describe tables', () => {
  it('prints offsets and lag with Kafka minimum widths and - for missing values', () => {
    const text = formatOffsetsTable(
      [
        row({ partition: 0, offset: 3n, logEndOffset: 5n, consumerId: 'm-1', host: '/127.0.0.1', clientId: 'c1' }),
        row({ partition: 1, offset: null, logEndOffset: 4n, consumerId: '-', host: '-', clientId: '-' }),
      ],
      false,
    );
    expect(text).toBe(
      '\nGROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\ng1              orders          0          3               5               2               m-1             /127.0.0.1      c1\ng1              orders          1          -               4               -               -               -               -\n',
    );
  });

  it('widens the topic and consumer id columns to their longest value', () => {
    const consumerId = 'console-consumer-3f7c1a2b-1d9e-4b8a-9c1e-0123456789ab';
    const text = formatOffsetsTable(
      [row({ topic: 'a-rather-long-topic1', partition: 2, offset: 10n, logEndOffset: 10n, consumerId, host: '/127.0.0.1', clientId: 'console-consumer' })],
      false,
    );
    expect(text).toBe(
      '\nGROUP           TOPIC                PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID                                           HOST            CLIENT-ID\ng1              a-rather-long-topic1 2          10              10              0               console-consumer-3f7c1a2b-1d9e-4b8a-9c1e-0123456789ab /127.0.0.1      console-consumer\n',
    );
  });

  it('prints members, and their assignments with --verbose', () => {
    const member = { group: 'g1', consumerId: 'm-1', groupInstanceId: '', host: '/127.0.0.1', clientId: 'c1', targetAssignment: [], memberEpoch: null, targetEpoch: null };
    expect(formatMembersTable([{ ...member, assignment: [{ topic: 'a', partition: 0 }, { topic: 'a', partition: 1 }] }], false)).toBe(
      '\nGROUP           CONSUMER-ID     HOST            CLIENT-ID       #PARTITIONS     \ng1              m-1             /127.0.0.1      c1              2               \n',
    );
    const assignment = [{ topic: 'b', partition: 1 }, { topic: 'a', partition: 2 }, { topic: 'a', partition: 0 }];
    expect(formatMembersTable([{ ...member, assignment }], true)).toBe(
      '\nGROUP           CONSUMER-ID     HOST            CLIENT-ID       #PARTITIONS     CURRENT-EPOCH   CURRENT-ASSIGNMENT   TARGET-EPOCH    TARGET-ASSIGNMENT   \ng1              m-1             /127.0.0.1      c1              3               -               a:0,2;b:1            -               -                   \n',
    );
    expect(assignmentString([])).toBe('-');
  });

  it('prints the group state with the coordinator as host:port  (id)', () => {
    const text = formatStateTable(
      { group: 'g1', coordinatorHost: '127.0.0.1', coordinatorPort: 9092, coordinatorId: 1, assignmentStrategy: 'range', state: 'Stable', members: 2, groupEpoch: null, targetAssignmentEpoch: null },
      false,
    );
    expect(text).toBe(
      '\nGROUP           COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE                #MEMBERS\ng1              127.0.0.1:9092  (1)       range                Stable               2\n',
    );
  });
});

describe('consumer-groups --list, --reset-offsets and --delete-offsets output', () => {
  it('lists groups with their state in a 25-wide GROUP column', () => {
    const text = formatGroupListing(
      [
        { groupId: 'g1', state: 'Stable', type: 'Classic' },
        { groupId: 'g2', state: 'Empty', type: 'Classic' },
      ],
      false,
      true,
    );
    expect(text).toBe('GROUP                     STATE               \ng1                        Stable              \ng2                        Empty               \n');
  });

  it('prints the reset plan', () => {
    const plan = new Map([
      ['g1', [[{ topic: 'orders', partition: 0 }, 0n], [{ topic: 'orders', partition: 1 }, 7n]] as Array<[{ topic: string; partition: number }, bigint]>],
    ]);
    expect(formatResetPlan(plan)).toBe('\nGROUP           TOPIC           PARTITION  NEW-OFFSET\ng1              orders          0          0\ng1              orders          1          7\n');
    expect(formatResetPlan(new Map())).toBe('\n');
  });

  it('prints offset deletion results sorted, with the error of a failed partition', () => {
    const text = formatDeleteOffsets([
      [{ topic: 'orders', partition: 1 }, 'x'],
      [{ topic: 'orders', partition: 0 }, null],
    ]);
    expect(text).toBe('\nTOPIC           PARTITION  STATUS         \norders          0          Successful     \norders          1          Error: x       \n');
  });

  it("names errors the way Java's Throwable.toString does", () => {
    expect(exceptionString(68)).toBe('org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.');
    expect(exceptionString(69)).toBe('org.apache.kafka.common.errors.GroupIdNotFoundException: The group id does not exist.');
    expect(exceptionString(30)).toBe('org.apache.kafka.common.errors.GroupAuthorizationException: Group authorization failed.');
    expect(exceptionString(86)).toMatch(/^org\.apache\.kafka\.common\.errors\.GroupSubscribedToTopicException: /);
  });
});

describe('consumer-groups argument parsing', () => {
  it('reads topic:partitions, states, datetimes and durations as Kafka does', () => {
    expect(parseTopicPartitions('t:0,2')).toEqual([
      { topic: 't', partition: 0 },
      { topic: 't', partition: 2 },
    ]);
    expect(() => parseTopicPartitions('t:x')).toThrow("Invalid partition 'x' specified in topic arg 't:x''");
    expect(parseStates('stable,EMPTY')).toEqual(['Stable', 'Empty']);
    expect(() => parseStates('bogus')).toThrow(/^Invalid state list 'bogus'\. Valid states are: /);
    expect(parseDateTime('2024-01-02T03:04:05.678')).toBe(BigInt(Date.UTC(2024, 0, 2, 3, 4, 5, 678)));
    expect(parseDateTime('2024-01-02T03:04:05+01:00')).toBe(BigInt(Date.UTC(2024, 0, 2, 2, 4, 5)));
    expect(parseDuration('PT1H30M')).toBe(5_400_000n);
    expect(parseDuration('P1DT0.5S')).toBe(86_400_500n);
    expect(() => parseDuration('1h')).toThrow();
  });
});

describe('consumer protocol metadata', () => {
  it('round-trips subscriptions and assignments with the int16 version prefix', () => {
    const bytes = encodeSubscription({ topics: ['a', 'b'], userData: null, ownedPartitions: [{ topic: 'a', partition: 1 }], generationId: 4, rackId: null });
    expect(bytes.readInt16BE(0)).toBe(3);
    expect(decodeSubscription(bytes)).toEqual({ topics: ['a', 'b'], userData: null, ownedPartitions: [{ topic: 'a', partition: 1 }], generationId: 4, rackId: null });
    const assignment = encodeAssignment([{ topic: 'a', partition: 0 }, { topic: 'a', partition: 2 }]);
    expect(decodeAssignment(assignment)).toEqual([{ topic: 'a', partition: 0 }, { topic: 'a', partition: 2 }]);
    // A v0 assignment (what older clients write) and a truncated one.
    const v0 = encodeAssignment([{ topic: 'x', partition: 5 }], 0);
    expect(v0.readInt16BE(0)).toBe(0);
    expect(decodeAssignment(v0)).toEqual([{ topic: 'x', partition: 5 }]);
    expect(decodeAssignment(assignment.subarray(0, assignment.length - 3))).toBeNull();
    expect(decodeAssignment(Buffer.alloc(0))).toEqual([]);
  });
});

describe('range assignor', () => {
  it('gives each member a contiguous range, the first ones one extra', () => {
    const members = [
      { memberId: 'm-b', groupInstanceId: null, topics: ['t'] },
      { memberId: 'm-a', groupInstanceId: null, topics: ['t', 'u'] },
    ];
    const result = rangeAssign(members, new Map([['t', 5], ['u', 1]]));
    expect(result.get('m-a')).toEqual([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }, { topic: 't', partition: 2 }, { topic: 'u', partition: 0 }]);
    expect(result.get('m-b')).toEqual([{ topic: 't', partition: 3 }, { topic: 't', partition: 4 }]);
  });

  it('orders static members first and skips topics without partitions', () => {
    const members = [
      { memberId: 'a', groupInstanceId: null, topics: ['t'] },
      { memberId: 'z', groupInstanceId: 'i-1', topics: ['t', 'missing'] },
    ];
    const result = rangeAssign(members, new Map([['t', 2]]));
    expect(result.get('z')).toEqual([{ topic: 't', partition: 0 }]);
    expect(result.get('a')).toEqual([{ topic: 't', partition: 1 }]);
  });
});
