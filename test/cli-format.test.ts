// The CLI's formats byte for byte, without a broker: Kafka 4.0's
// kafka-topics describe lines, broker-api-versions blocks, the console
// consumer's DefaultMessageFormatter, the console producer's line reader,
// plus the pieces under them (murmur2, option parsing, version choice).
import { describe, expect, it } from 'vitest';
import { parseBootstrapServers } from '../src/client/client.js';
import { clientVersionRange, highestCommonVersion } from '../src/client/connection.js';
import { murmur2, partitionForKey } from '../src/client/partitioner.js';
import { parseArgs, UsageError } from '../src/cli/args.js';
import {
  DEFAULT_FORMATTER,
  DEFAULT_LINE_READER,
  formatApiVersions,
  formatNode,
  formatPartitionLine,
  formatRecord,
  formatTopicLine,
  formatterOptions,
  kafkaUuidString,
  LineFormatError,
  lineReaderOptions,
  parseLine,
  type ConsumedRecord,
} from '../src/cli/format.js';
import { topicFilter } from '../src/cli/topics.js';

describe('kafka-topics --describe lines', () => {
  it('prints the topic line with a Kafka-style topic id and only the given configs', () => {
    const line = formatTopicLine({
      name: 'orders',
      topicId: 'ca114a88-2a56-8650-45c8-40ed1e3b9801',
      partitionCount: 3,
      replicationFactor: 1,
      configs: [['cleanup.policy', 'compact'], ['retention.ms', '1000']],
    });
    expect(line).toBe('Topic: orders\tTopicId: yhFKiCpWhlBFyEDtHjuYAQ\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: cleanup.policy=compact,retention.ms=1000');
  });

  it('leaves out a zero topic id and prints empty Configs', () => {
    const line = formatTopicLine({ name: 't', topicId: '00000000-0000-0000-0000-000000000000', partitionCount: 1, replicationFactor: 1, configs: [] });
    expect(line).toBe('Topic: t\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: ');
  });

  it('prints partition lines with ELR fields and "none" for a missing leader', () => {
    expect(formatPartitionLine({ topic: 't', partition: 0, leader: 0, replicas: [0], isr: [0], elr: [], lastKnownElr: [] })).toBe(
      '\tTopic: t\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: \tLastKnownElr: ',
    );
    expect(formatPartitionLine({ topic: 't', partition: 7, leader: -1, replicas: [1, 2, 3], isr: [2], elr: [3], lastKnownElr: [1] })).toBe(
      '\tTopic: t\tPartition: 7\tLeader: none\tReplicas: 1,2,3\tIsr: 2\tElr: 3\tLastKnownElr: 1',
    );
  });

  it('encodes uuids as Kafka does (URL-safe base64, no padding)', () => {
    expect(kafkaUuidString('00000000-0000-0000-0000-000000000001')).toBe('AAAAAAAAAAAAAAAAAAAAAQ');
    expect(kafkaUuidString('ffffffff-ffff-ffff-ffff-ffffffffffff')).toBe('_____________________w');
  });

  it('filters topics like Kafka IncludeList: whole-name regex, commas as alternation', () => {
    const f = topicFilter('orders.*,audit');
    expect(['orders', 'orders-eu', 'audit', 'audit-log', 'x-orders'].filter((t) => f.test(t))).toEqual(['orders', 'orders-eu', 'audit']);
    expect(topicFilter('a.b').test('a.b')).toBe(true);
  });
});

describe('kafka-broker-api-versions block', () => {
  it('prints the node as Kafka 4.0 Node.toString', () => {
    expect(formatNode({ nodeId: 0, host: 'localhost', port: 9092, rack: null })).toBe('localhost:9092 (id: 0 rack: null isFenced: false)');
    expect(formatNode({ nodeId: 3, host: 'b3', port: 19092, rack: 'r1' })).toBe('b3:19092 (id: 3 rack: r1 isFenced: false)');
  });

  it('lists advertised APIs with the usable version, unknown keys, and UNSUPPORTED client APIs', () => {
    const text = formatApiVersions(
      new Map([
        [0, { minVersion: 3, maxVersion: 12 }],
        [18, { minVersion: 0, maxVersion: 3 }],
        [17, { minVersion: 1, maxVersion: 1 }],
        [3, { minVersion: 20, maxVersion: 25 }],
        [1, { minVersion: 0, maxVersion: 0 }],
        [200, { minVersion: 0, maxVersion: 2 }],
      ]),
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe('(');
    expect(lines.at(-1)).toBe(')');
    const ours = clientVersionRange(0)!;
    expect(lines[1]).toBe(`\tProduce(0): 3 to 12 [usable: ${Math.min(12, ours.maxVersion)}],`);
    expect(lines[2]).toBe('\tFetch(1): 0 [usable: 0],');
    expect(lines[3]).toBe('\tListOffsets(2): UNSUPPORTED,');
    expect(lines[4]).toBe('\tMetadata(3): 20 to 25 [unusable: node too new],');
    expect(text).toContain('\n\tSaslHandshake(17): 1 [usable: 1],\n');
    expect(text).toContain('\n\tApiVersions(18): 0 to 3 [usable: 3],\n');
    expect(lines.at(-2)).toBe('\tUNKNOWN(200): 0 to 2');
    // Controller-only APIs are not client APIs: Kafka does not list them as UNSUPPORTED.
    expect(text).not.toContain('Vote(52)');
    expect(text).toContain('\tDescribeTopicPartitions(75): UNSUPPORTED,');
  });

  it('reports an old node as unusable', () => {
    const text = formatApiVersions(new Map([[0, { minVersion: 0, maxVersion: 0 }]]));
    const ours = clientVersionRange(0)!;
    if (ours.minVersion > 0) expect(text).toContain('Produce(0): 0 [unusable: node too old]');
    else expect(text).toContain('Produce(0): 0 [usable: 0]');
  });
});

describe('API version negotiation', () => {
  it('picks the highest version both sides implement', () => {
    expect(highestCommonVersion({ minVersion: 0, maxVersion: 11 }, { minVersion: 3, maxVersion: 12 })).toBe(11);
    expect(highestCommonVersion({ minVersion: 3, maxVersion: 9 }, { minVersion: 0, maxVersion: 5 })).toBe(5);
    expect(highestCommonVersion({ minVersion: 6, maxVersion: 9 }, { minVersion: 0, maxVersion: 5 })).toBeNull();
  });
});

describe('console consumer DefaultMessageFormatter', () => {
  const record: ConsumedRecord = {
    partition: 2,
    offset: 41,
    timestamp: 1700000000000,
    timestampType: 'create',
    key: Buffer.from('k'),
    value: Buffer.from('v'),
    headers: [
      { key: 'h1', value: Buffer.from('x') },
      { key: 'h2', value: null },
    ],
  };

  it('prints only the value by default', () => {
    expect(formatRecord(record, DEFAULT_FORMATTER).toString()).toBe('v\n');
  });

  it('prints timestamp, partition, offset, headers, key and value in Kafka order', () => {
    const { options } = formatterOptions(
      new Map([
        ['print.timestamp', 'true'],
        ['print.partition', 'true'],
        ['print.offset', 'true'],
        ['print.headers', 'true'],
        ['print.key', 'true'],
      ]),
    );
    expect(formatRecord(record, options).toString()).toBe('CreateTime:1700000000000\tPartition:2\tOffset:41\th1:x,h2:null\tk\tv\n');
  });

  it('uses key.separator, null.literal and LogAppendTime', () => {
    const { options, unknown } = formatterOptions(new Map([['print.key', 'true'], ['print.timestamp', 'TRUE'], ['key.separator', ' | '], ['null.literal', '<nil>'], ['bogus', '1']]));
    expect(unknown).toEqual(['bogus']);
    const r = { ...record, key: null, timestampType: 'log-append' as const };
    expect(formatRecord(r, options).toString()).toBe('LogAppendTime:1700000000000 | <nil> | v\n');
  });

  it('ends the line after the key when the value is not printed, as Kafka does', () => {
    const { options } = formatterOptions(new Map([['print.key', 'true'], ['print.value', 'false']]));
    expect(formatRecord(record, options).toString()).toBe('k\n');
  });

  it('reads \\t escapes in separators like java.util.Properties', () => {
    const { options } = formatterOptions(new Map([['print.key', 'true'], ['key.separator', '\\t']]));
    expect(formatRecord(record, options).toString()).toBe('k\tv\n');
  });

  it('writes values byte for byte (non-UTF-8 survives)', () => {
    const raw = Buffer.from([0xff, 0x00, 0xfe]);
    expect(formatRecord({ ...record, value: raw }, DEFAULT_FORMATTER)).toEqual(Buffer.concat([raw, Buffer.from('\n')]));
  });
});

describe('console producer LineMessageReader', () => {
  it('takes the whole line as the value by default', () => {
    expect(parseLine('a:b\tc', 1, DEFAULT_LINE_READER)).toEqual({ key: null, value: 'a:b\tc', headers: [] });
  });

  it('splits the key at the first separator', () => {
    const { options } = lineReaderOptions(new Map([['parse.key', 'true'], ['key.separator', ':']]));
    expect(parseLine('user-1:{"a":1}:x', 1, options)).toEqual({ key: 'user-1', value: '{"a":1}:x', headers: [] });
    expect(parseLine(':only-value', 2, options)).toEqual({ key: '', value: 'only-value', headers: [] });
  });

  it('refuses a line without the key separator, naming the line, unless ignore.error', () => {
    const { options } = lineReaderOptions(new Map([['parse.key', 'true']]));
    expect(() => parseLine('no-tab-here', 3, options)).toThrow(new LineFormatError("No key separator found on line number 3: 'no-tab-here'"));
    const lenient = lineReaderOptions(new Map([['parse.key', 'true'], ['ignore.error', 'true']])).options;
    expect(parseLine('no-tab-here', 3, lenient)).toEqual({ key: null, value: 'no-tab-here', headers: [] });
  });

  it('parses headers before the key and maps null.marker to null', () => {
    const { options } = lineReaderOptions(
      new Map([['parse.headers', 'true'], ['parse.key', 'true'], ['key.separator', ':'], ['null.marker', 'NULL']]),
    );
    expect(parseLine('h1:v1,h2:NULL,h3\tNULL:value', 1, options)).toEqual({
      key: null,
      value: 'value',
      headers: [
        { key: 'h1', value: 'v1' },
        { key: 'h2', value: null },
        { key: 'h3', value: null },
      ],
    });
  });
});

describe('murmur2 partitioner', () => {
  it("matches Kafka's Utils.murmur2 test vectors", () => {
    const vectors: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [input, expected] of vectors) expect(murmur2(Buffer.from(input))).toBe(expected);
  });

  it('maps keys into range, stably', () => {
    for (let i = 0; i < 500; i++) {
      const p = partitionForKey(Buffer.from(`key-${i}`), 7);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(7);
      expect(partitionForKey(Buffer.from(`key-${i}`), 7)).toBe(p);
    }
  });
});

describe('option parsing', () => {
  const specs = [
    { name: 'topic', kind: 'value', description: '' },
    { name: 'config', kind: 'value', description: '' },
    { name: 'create', kind: 'flag', description: '' },
    { name: 'compression-codec', kind: 'optional', implied: 'gzip', description: '' },
  ] as const;

  it('takes --name value, --name=value, repeated options and optional values', () => {
    const args = parseArgs(['--topic', 't', '--config=a=1', '--config', 'b=2', '--create', '--compression-codec'], specs);
    expect(args.get('topic')).toBe('t');
    expect(args.all('config')).toEqual(['a=1', 'b=2']);
    expect(args.has('create')).toBe(true);
    expect(args.get('compression-codec')).toBe('gzip');
    expect(parseArgs(['--compression-codec', 'zstd'], specs).get('compression-codec')).toBe('zstd');
  });

  it('rejects unknown options, missing values and non-numbers', () => {
    expect(() => parseArgs(['--nope'], specs)).toThrow(UsageError);
    expect(() => parseArgs(['--topic'], specs)).toThrow('Option topic requires an argument');
    expect(() => parseArgs(['stray'], specs)).toThrow(UsageError);
    expect(() => parseArgs(['--topic', 'x'], specs).int('topic')).toThrow("Cannot parse argument 'x' of option topic");
  });

  it('parses bootstrap lists including IPv6 and refuses malformed entries', () => {
    expect(parseBootstrapServers('a:1, b:2,[::1]:9092')).toEqual([
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
      { host: '::1', port: 9092 },
    ]);
    expect(() => parseBootstrapServers('localhost')).toThrow('Invalid url in bootstrap.servers: localhost');
    expect(() => parseBootstrapServers('h:99999')).toThrow();
  });
});
