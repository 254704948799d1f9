import { describe, expect, it } from 'vitest';
import type { ClassicGroupSnapshot, OffsetAndMetadata } from '../src/coordinator/coordinator-store.js';
import {
  decodeCoordinatorRecord,
  decodeGroupMetadataValue,
  decodeOffsetCommitValue,
  encodeCoordinatorRecord,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  formatOffsetsRecord,
  RecordEncodeError,
} from '../src/coordinator/offsets-topic-records.js';

// Golden bytes written out by hand from Kafka's group-coordinator schemas
// (OffsetCommitKey/Value, GroupMetadataKey/Value): int16 version prefix, then
// the fields in schema order; int16-length strings, int32-length bytes and
// arrays; compact (varint length + 1) forms and tag sections in flexible v4.
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const str16 = (s: string) => Buffer.concat([Buffer.from([0, s.length]), Buffer.from(s)]).toString('hex');
const int64 = (n: number) => Buffer.from(BigInt(n).toString(16).padStart(16, '0'), 'hex').toString('hex');

const offset: OffsetAndMetadata = { offset: 5n, leaderEpoch: 7, metadata: 'm', commitTimestampMs: 1000, expireTimestampMs: null };

const group: ClassicGroupSnapshot = {
  groupId: 'g',
  protocolType: 'consumer',
  generationId: 1,
  protocolName: 'range',
  leaderId: 'a',
  currentStateTimestampMs: 1000,
  members: [
    {
      memberId: 'a',
      groupInstanceId: null,
      clientId: 'c',
      clientHost: '/h',
      rebalanceTimeoutMs: 300,
      sessionTimeoutMs: 10,
      subscription: Buffer.from([1, 2]),
      assignment: Buffer.from([3]),
    },
  ],
};

describe('offsets topic keys', () => {
  it('writes OffsetCommitKey as key version 1, as Kafka 4.0 does', () => {
    expect(encodeOffsetCommitKey('g', 't', 2).toString('hex')).toBe(`0001${str16('g')}${str16('t')}00000002`);
  });

  it('writes GroupMetadataKey as key version 2', () => {
    expect(encodeGroupMetadataKey('grp').toString('hex')).toBe(`0002${str16('grp')}`);
  });

  it('reads the legacy key version 0 like version 1', () => {
    const decoded = decodeCoordinatorRecord(encodeOffsetCommitKey('g', 't', 2, 0), null);
    expect(decoded).toEqual({ ok: true, record: { type: 'offset', groupId: 'g', topic: 't', partition: 2, value: null } });
  });

  it('passes KIP-848 record types through untouched', () => {
    for (const version of [3, 4, 5, 6, 7, 8, 16]) {
      const key = hex(`${version.toString(16).padStart(4, '0')}0001 67`);
      const value = hex('0000 00000001');
      expect(decodeCoordinatorRecord(key, value)).toEqual({ ok: true, record: { type: 'raw', key, value } });
      expect(decodeCoordinatorRecord(key, null)).toEqual({ ok: true, record: { type: 'raw', key, value: null } });
    }
    const key = hex('0003 0001 67');
    expect(encodeCoordinatorRecord({ type: 'raw', key, value: null })).toEqual({ key, value: null });
  });

  it('reports other record types as unknown instead of failing', () => {
    for (const version of [9, 15, 17, 100, -1]) {
      const decoded = decodeCoordinatorRecord(hex(`${(version & 0xffff).toString(16).padStart(4, '0')}0001 67`), hex('0000'));
      expect(decoded).toMatchObject({ ok: false, unknownType: true, keyVersion: version });
    }
  });
});

describe('OffsetCommitValue', () => {
  it('writes version 3 without an expire timestamp', () => {
    expect(encodeOffsetCommitValue(offset).toString('hex')).toBe(`0003${int64(5)}00000007${str16('m')}${int64(1000)}`);
  });

  it('writes version 1 to keep an explicit expire timestamp', () => {
    const value = encodeOffsetCommitValue({ ...offset, metadata: '', expireTimestampMs: 2000 });
    expect(value.toString('hex')).toBe(`0001${int64(5)}0000${int64(1000)}${int64(2000)}`);
  });

  it('reads the flexible version 4 (compact string, tag section)', () => {
    const bytes = hex(`0004${int64(5)}00000007 02 6d ${int64(1000)} 00`);
    expect(decodeOffsetCommitValue(bytes)).toEqual({ version: 4, value: offset });
    expect(encodeOffsetCommitValue(offset, 4)).toEqual(bytes);
  });

  it('skips unknown tagged fields in version 4', () => {
    const bytes = hex(`0004${int64(5)}00000007 02 6d ${int64(1000)} 01 05 02 aabb`);
    expect(decodeOffsetCommitValue(bytes)).toEqual({ version: 4, value: offset });
  });

  it('round-trips every version with the fields that version has', () => {
    const cases: Array<[number, OffsetAndMetadata]> = [
      [0, { ...offset, leaderEpoch: -1 }],
      [1, { ...offset, leaderEpoch: -1, expireTimestampMs: 9000 }],
      [2, { ...offset, leaderEpoch: -1 }],
      [3, offset],
      [4, offset],
    ];
    for (const [version, value] of cases) {
      expect(decodeOffsetCommitValue(encodeOffsetCommitValue(value, version))).toEqual({ version, value });
    }
  });

  it('keeps offsets beyond 2^53 exact', () => {
    const big = { ...offset, offset: 2n ** 62n + 1n };
    expect(decodeOffsetCommitValue(encodeOffsetCommitValue(big))).toEqual({ version: 3, value: big });
  });

  it('refuses metadata longer than an int16 string can hold', () => {
    expect(() => encodeOffsetCommitValue({ ...offset, metadata: 'x'.repeat(0x8000) })).toThrow(RecordEncodeError);
  });
});

describe('GroupMetadataValue', () => {
  const golden =
    `0003${str16('consumer')}00000001${str16('range')}${str16('a')}${int64(1000)}00000001` +
    `${str16('a')}ffff${str16('c')}${str16('/h')}0000012c0000000a 00000002 0102 00000001 03`;

  it('writes version 3, as Kafka 4.0 does', () => {
    expect(encodeGroupMetadataValue(group).toString('hex')).toBe(golden.replace(/\s+/g, ''));
  });

  it('reads the golden bytes back', () => {
    expect(decodeGroupMetadataValue('g', hex(golden))).toEqual({ version: 3, value: group });
  });

  it('writes and reads an empty group (null protocol and leader, no members)', () => {
    const empty: ClassicGroupSnapshot = { ...group, protocolType: '', generationId: 0, protocolName: null, leaderId: null, members: [] };
    const bytes = encodeGroupMetadataValue(empty);
    expect(bytes.toString('hex')).toBe(`0003 0000 00000000 ffff ffff ${int64(1000)} 00000000`.replace(/\s+/g, ''));
    expect(decodeGroupMetadataValue('g', bytes)).toEqual({ version: 3, value: empty });
  });

  it('reads the flexible version 4', () => {
    const bytes = hex(
      `0004 09${Buffer.from('consumer').toString('hex')} 00000001 06${Buffer.from('range').toString('hex')} 0261 ${int64(1000)} 02` +
        `0261 00 0263 03${Buffer.from('/h').toString('hex')} 0000012c 0000000a 03 0102 02 03 00 00`,
    );
    expect(decodeGroupMetadataValue('g', bytes)).toEqual({ version: 4, value: group });
    expect(encodeGroupMetadataValue(group, 4)).toEqual(bytes);
  });

  it('round-trips every version with the fields that version has', () => {
    const withInstance = { ...group, members: [{ ...group.members[0], groupInstanceId: 'static-1' }] };
    const cases: Array<[number, ClassicGroupSnapshot]> = [
      // v0 has no rebalance timeout (it reads as the session timeout), v0-1 no state timestamp.
      [0, { ...group, currentStateTimestampMs: -1, members: [{ ...group.members[0], rebalanceTimeoutMs: 10 }] }],
      [1, { ...group, currentStateTimestampMs: -1 }],
      [2, group],
      [3, withInstance],
      [4, withInstance],
    ];
    for (const [version, value] of cases) {
      expect(decodeGroupMetadataValue('g', encodeGroupMetadataValue(value, version))).toEqual({ version, value });
    }
  });
});

describe('decoding hostile bytes', () => {
  const records = [
    { key: encodeOffsetCommitKey('group', 'topic', 3), value: encodeOffsetCommitValue(offset) },
    { key: encodeOffsetCommitKey('group', 'topic', 3), value: encodeOffsetCommitValue(offset, 4) },
    { key: encodeGroupMetadataKey('g'), value: encodeGroupMetadataValue(group) },
    { key: encodeGroupMetadataKey('g'), value: encodeGroupMetadataValue(group, 4) },
  ];

  it('answers every truncation of a key or value with an error value, never a throw', () => {
    for (const { key, value } of records) {
      expect(decodeCoordinatorRecord(key, value).ok).toBe(true);
      for (let n = 0; n < key.length; n++) expect(decodeCoordinatorRecord(key.subarray(0, n), value).ok).toBe(false);
      for (let n = 0; n < value.length; n++) expect(decodeCoordinatorRecord(key, value.subarray(0, n)).ok).toBe(false);
    }
  });

  it('checks lengths and counts against the bytes left before allocating', () => {
    const hugeArray = hex(`0003 0000 00000000 ffff ffff ${int64(0)} 7fffffff`);
    expect(decodeGroupMetadataValue('g', hugeArray)).toMatchObject({ error: expect.stringContaining('array of 2147483647') });
    const hugeBytes = hex(`0003 0000 00000000 ffff ffff ${int64(0)} 00000001 0001 61 ffff 0001 63 0001 68 00000000 00000000 7fffffff`);
    expect(decodeGroupMetadataValue('g', hugeBytes)).toMatchObject({ error: expect.stringContaining('bytes length') });
    const negativeString = hex(`0003 ${int64(5)} 00000007 fffe ${int64(0)}`);
    expect(decodeOffsetCommitValue(negativeString)).toMatchObject({ error: expect.any(String) });
    const nullMetadata = hex(`0003 ${int64(5)} 00000007 ffff ${int64(0)}`);
    expect(decodeOffsetCommitValue(nullMetadata)).toMatchObject({ error: expect.stringContaining('null metadata') });
  });

  it('refuses value versions it does not know', () => {
    expect(decodeOffsetCommitValue(hex(`0005 ${int64(5)}`))).toEqual({ error: 'unknown OffsetCommitValue version 5' });
    expect(decodeGroupMetadataValue('g', hex('ffff'))).toEqual({ error: 'unknown GroupMetadataValue version -1' });
  });

  it('refuses a record without a key', () => {
    expect(decodeCoordinatorRecord(null, null).ok).toBe(false);
  });

  it('survives random bytes', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256)));
      for (const version of [0, 1, 2]) {
        const key = Buffer.concat([Buffer.from([0, version]), bytes]);
        expect(() => decodeCoordinatorRecord(key, bytes)).not.toThrow();
      }
      expect(() => decodeGroupMetadataValue('g', Buffer.concat([Buffer.from([0, i % 5]), bytes]))).not.toThrow();
    }
  });
});

describe('formatOffsetsRecord (kafka-dump-log --offsets-decoder)', () => {
  it('prints group metadata with the schema\'s field names, bytes as base64', () => {
    const formatted = formatOffsetsRecord(7, encodeGroupMetadataKey('g'), encodeGroupMetadataValue(group));
    expect(formatted.key).toBe('{"type":"2","data":{"group":"g"}}');
    expect(JSON.parse(formatted.payload!)).toEqual({
      version: '3',
      data: {
        protocolType: 'consumer',
        generation: 1,
        protocol: 'range',
        leader: 'a',
        currentStateTimestamp: 1000,
        members: [{ memberId: 'a', groupInstanceId: null, clientId: 'c', clientHost: '/h', rebalanceTimeout: 300, sessionTimeout: 10, subscription: 'AQI=', assignment: 'Aw==' }],
      },
    });
  });

  it('prints v1 offsets with their expire timestamp, tombstones as <DELETE>, unknown types as Kafka does', () => {
    const v1 = formatOffsetsRecord(0, encodeOffsetCommitKey('g', 't', 0), encodeOffsetCommitValue({ ...offset, expireTimestampMs: 2000 }));
    expect(v1.payload).toBe('{"version":"1","data":{"offset":5,"metadata":"m","commitTimestamp":1000,"expireTimestamp":2000}}');
    expect(formatOffsetsRecord(0, encodeGroupMetadataKey('g'), null).payload).toBe('<DELETE>');
    expect(formatOffsetsRecord(3, hex('7fff 0001 67'), hex('0000'))).toEqual({ key: 'Unknown record type 32767 at offset 3, skipping.', payload: null });
    expect(formatOffsetsRecord(3, encodeGroupMetadataKey('g'), hex('0003 00'))).toMatchObject({ key: expect.stringMatching(/^Error at offset 3, skipping\./), payload: null });
  });
});

describe('formatOffsetsRecord with the embedded consumer protocol', () => {
  // The cases of Kafka 4.0's DumpLogSegmentsTest.testOffsetsMessageParser, with their expected output.
  const member = { memberId: 'member', groupInstanceId: 'instance', clientId: 'client', clientHost: 'host', rebalanceTimeoutMs: 1000, sessionTimeoutMs: 100 };
  const base: ClassicGroupSnapshot = { groupId: 'group', protocolType: 'consumer', generationId: 10, protocolName: 'range', leaderId: 'member', currentStateTimestampMs: -1, members: [] };

  it('prints a parsable subscription and assignment as JSON', () => {
    // ConsumerProtocolSubscription v3: topics [foo], userData null, ownedPartitions foo:[0], generationId 0, rackId "rack".
    const subscription = hex(`0003 00000001 0003${Buffer.from('foo').toString('hex')} ffffffff 00000001 0003${Buffer.from('foo').toString('hex')} 00000001 00000000 00000000 0004${Buffer.from('rack').toString('hex')}`);
    // ConsumerProtocolAssignment v3: foo:[0], userData null.
    const assignment = hex(`0003 00000001 0003${Buffer.from('foo').toString('hex')} 00000001 00000000 ffffffff`);
    const value = encodeGroupMetadataValue({ ...base, members: [{ ...member, subscription, assignment }] }, 4);
    expect(formatOffsetsRecord(0, encodeGroupMetadataKey('group'), value)).toEqual({
      key: '{"type":"2","data":{"group":"group"}}',
      payload:
        '{"version":"4","data":{"protocolType":"consumer","generation":10,"protocol":"range","leader":"member","currentStateTimestamp":-1,"members":[{"memberId":"member",' +
        '"groupInstanceId":"instance","clientId":"client","clientHost":"host","rebalanceTimeout":1000,"sessionTimeout":100,"subscription":{"topics":["foo"],' +
        '"userData":null,"ownedPartitions":[{"topic":"foo","partitions":[0]}],"generationId":0,"rackId":"rack"},"assignment":{"assignedPartitions":' +
        '[{"topic":"foo","partitions":[0]}],"userData":null}}]}}',
    });
  });

  it('falls back to base64 when the embedded protocol does not parse', () => {
    const value = encodeGroupMetadataValue({ ...base, members: [{ ...member, subscription: Buffer.from('Subscription'), assignment: Buffer.from('Assignment') }] }, 4);
    expect(formatOffsetsRecord(0, encodeGroupMetadataKey('group'), value).payload).toBe(
      '{"version":"4","data":{"protocolType":"consumer","generation":10,"protocol":"range","leader":"member","currentStateTimestamp":-1,"members":[{"memberId":"member",' +
        '"groupInstanceId":"instance","clientId":"client","clientHost":"host","rebalanceTimeout":1000,"sessionTimeout":100,"subscription":"U3Vic2NyaXB0aW9u",' +
        '"assignment":"QXNzaWdubWVudA=="}]}}',
    );
  });
});
