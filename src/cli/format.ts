// Output and input formats of Kafka 4.0's command-line tools, as pure
// functions so they can be tested byte for byte without a broker:
// kafka-topics --describe lines, kafka-broker-api-versions blocks, the
// console consumer's DefaultMessageFormatter and the console producer's
// LineMessageReader.
import { API_REGISTRY } from '../protocol/generated/index.js';
import { clientVersionRange, type VersionRange } from '../client/connection.js';
import type { BrokerNode } from '../client/client.js';
import type { FetchedRecord } from '../client/consumer.js';

// ---- kafka-topics --describe ----

export interface TopicSummary {
  name: string;
  topicId: string | null;
  partitionCount: number;
  replicationFactor: number;
  /** Non-default configs in the broker's order, as name=value. */
  configs: Array<[string, string | null]>;
}

export interface PartitionSummary {
  topic: string;
  partition: number;
  /** -1 when the partition has no leader. */
  leader: number;
  replicas: number[];
  isr: number[];
  /** Eligible leader replicas (KIP-966); empty when the broker does not report them. */
  elr: number[];
  lastKnownElr: number[];
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** Kafka prints topic ids in its own base64 form (Uuid.toString): URL-safe, no padding. */
export function kafkaUuidString(uuid: string): string {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex').toString('base64url');
}

export function formatTopicLine(t: TopicSummary): string {
  let line = `Topic: ${t.name}`;
  if (t.topicId !== null && t.topicId !== ZERO_UUID) line += `\tTopicId: ${kafkaUuidString(t.topicId)}`;
  line += `\tPartitionCount: ${t.partitionCount}`;
  line += `\tReplicationFactor: ${t.replicationFactor}`;
  line += `\tConfigs: ${t.configs.map(([k, v]) => `${k}=${v}`).join(',')}`;
  return line;
}

export function formatPartitionLine(p: PartitionSummary): string {
  return (
    `\tTopic: ${p.topic}` +
    `\tPartition: ${p.partition}` +
    `\tLeader: ${p.leader >= 0 ? p.leader : 'none'}` +
    `\tReplicas: ${p.replicas.join(',')}` +
    `\tIsr: ${p.isr.join(',')}` +
    `\tElr: ${p.elr.join(',')}` +
    `\tLastKnownElr: ${p.lastKnownElr.join(',')}`
  );
}

// ---- kafka-broker-api-versions ----

/** Node.toString of Kafka 4.0. */
export function formatNode(node: BrokerNode): string {
  return `${node.host}:${node.port} (id: ${node.nodeId} rack: ${node.rack ?? 'null'} isFenced: false)`;
}

/**
 * NodeApiVersions.toString(true): every API the broker advertised (ascending
 * key) with what this client could use, plus `UNSUPPORTED` for client APIs
 * the broker did not advertise.
 */
export function formatApiVersions(broker: ReadonlyMap<number, VersionRange>): string {
  const lines = new Map<number, string>();
  for (const [apiKey, range] of broker) {
    const info = API_REGISTRY.get(apiKey);
    const name = info ? `${info.name}(${apiKey})` : `UNKNOWN(${apiKey})`;
    const versions = range.minVersion === range.maxVersion ? `${range.minVersion}` : `${range.minVersion} to ${range.maxVersion}`;
    const ours = clientVersionRange(apiKey);
    let usable = '';
    if (ours) {
      if (ours.maxVersion < range.minVersion) usable = ' [unusable: node too new]';
      else if (range.maxVersion < ours.minVersion) usable = ' [unusable: node too old]';
      else usable = ` [usable: ${Math.min(ours.maxVersion, range.maxVersion)}]`;
    }
    lines.set(apiKey, `${name}: ${versions}${usable}`);
  }
  // Kafka 4.0 fills in the APIs a client may send to a broker (ApiKeys.clientApis).
  for (const info of API_REGISTRY.values()) {
    if (!lines.has(info.apiKey) && info.listeners.includes('broker')) lines.set(info.apiKey, `${info.name}(${info.apiKey}): UNSUPPORTED`);
  }
  const ordered = [...lines.entries()].sort((a, b) => a[0] - b[0]).map(([, text]) => text);
  return `(\n\t${ordered.join(',\n\t')}\n)`;
}

// ---- console consumer (DefaultMessageFormatter) ----

export interface FormatterOptions {
  printTimestamp: boolean;
  printKey: boolean;
  printValue: boolean;
  printPartition: boolean;
  printOffset: boolean;
  printHeaders: boolean;
  keySeparator: string;
  lineSeparator: string;
  headersSeparator: string;
  nullLiteral: string;
}

export const DEFAULT_FORMATTER: FormatterOptions = {
  printTimestamp: false,
  printKey: false,
  printValue: true,
  printPartition: false,
  printOffset: false,
  printHeaders: false,
  keySeparator: '\t',
  lineSeparator: '\n',
  headersSeparator: ',',
  nullLiteral: 'null',
};

const FORMATTER_KEYS = new Set([
  'print.timestamp', 'print.key', 'print.value', 'print.partition', 'print.offset', 'print.headers',
  'key.separator', 'line.separator', 'headers.separator', 'null.literal',
]);

/** Formatter options from --property pairs; unknown names are returned so the caller can warn. */
export function formatterOptions(props: ReadonlyMap<string, string>): { options: FormatterOptions; unknown: string[] } {
  const bool = (name: string, fallback: boolean) => (props.has(name) ? props.get(name)!.trim().toLowerCase() === 'true' : fallback);
  const text = (name: string, fallback: string) => props.get(name) ?? fallback;
  const d = DEFAULT_FORMATTER;
  return {
    options: {
      printTimestamp: bool('print.timestamp', d.printTimestamp),
      printKey: bool('print.key', d.printKey),
      printValue: bool('print.value', d.printValue),
      printPartition: bool('print.partition', d.printPartition),
      printOffset: bool('print.offset', d.printOffset),
      printHeaders: bool('print.headers', d.printHeaders),
      keySeparator: unescapeJava(text('key.separator', d.keySeparator)),
      lineSeparator: unescapeJava(text('line.separator', d.lineSeparator)),
      headersSeparator: unescapeJava(text('headers.separator', d.headersSeparator)),
      nullLiteral: text('null.literal', d.nullLiteral),
    },
    unknown: [...props.keys()].filter((k) => !FORMATTER_KEYS.has(k)),
  };
}

/**
 * Kafka reads --property values through java.util.Properties, which turns
 * `\t` and `\n` escapes into the characters; shells pass them literally.
 */
export function unescapeJava(s: string): string {
  return s.replace(/\\([tnr\\])/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
}

/** What the consumer hands the formatter. */
export type ConsumedRecord = FetchedRecord;

/** One record as Kafka's DefaultMessageFormatter writes it (bytes, since values need not be UTF-8). */
export function formatRecord(record: ConsumedRecord, o: FormatterOptions): Buffer {
  const parts: Array<Buffer | string> = [];
  const sep = (more: boolean) => parts.push(more ? o.keySeparator : o.lineSeparator);
  if (o.printTimestamp) {
    parts.push(`${record.timestampType === 'log-append' ? 'LogAppendTime' : 'CreateTime'}:${record.timestamp}`);
    sep(o.printPartition || o.printOffset || o.printHeaders || o.printKey || o.printValue);
  }
  if (o.printPartition) {
    parts.push(`Partition:${record.partition}`);
    sep(o.printOffset || o.printHeaders || o.printKey || o.printValue);
  }
  if (o.printOffset) {
    parts.push(`Offset:${record.offset}`);
    sep(o.printHeaders || o.printKey || o.printValue);
  }
  if (o.printHeaders) {
    if (record.headers.length === 0) parts.push('NO_HEADERS');
    record.headers.forEach((h, i) => {
      parts.push(`${h.key}:`, h.value ?? o.nullLiteral);
      if (i < record.headers.length - 1) parts.push(o.headersSeparator);
    });
    sep(o.printKey || o.printValue);
  }
  if (o.printKey) {
    parts.push(record.key ?? o.nullLiteral);
    sep(o.printValue);
  }
  if (o.printValue) {
    parts.push(record.value ?? o.nullLiteral, o.lineSeparator);
  }
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
}

// ---- console producer (LineMessageReader) ----

export interface LineReaderOptions {
  parseKey: boolean;
  keySeparator: string;
  parseHeaders: boolean;
  headersDelimiter: string;
  headersSeparator: string;
  headersKeySeparator: string;
  ignoreError: boolean;
  nullMarker: string | null;
}

export const DEFAULT_LINE_READER: LineReaderOptions = {
  parseKey: false,
  keySeparator: '\t',
  parseHeaders: false,
  headersDelimiter: '\t',
  headersSeparator: ',',
  headersKeySeparator: ':',
  ignoreError: false,
  nullMarker: null,
};

const LINE_READER_KEYS = new Set([
  'parse.key', 'key.separator', 'parse.headers', 'headers.delimiter', 'headers.separator',
  'headers.key.separator', 'ignore.error', 'null.marker',
]);

export function lineReaderOptions(props: ReadonlyMap<string, string>): { options: LineReaderOptions; unknown: string[] } {
  const bool = (name: string, fallback: boolean) => (props.has(name) ? props.get(name)!.trim().toLowerCase() === 'true' : fallback);
  const text = (name: string, fallback: string) => unescapeJava(props.get(name) ?? fallback);
  const d = DEFAULT_LINE_READER;
  const options: LineReaderOptions = {
    parseKey: bool('parse.key', d.parseKey),
    keySeparator: text('key.separator', d.keySeparator),
    parseHeaders: bool('parse.headers', d.parseHeaders),
    headersDelimiter: text('headers.delimiter', d.headersDelimiter),
    headersSeparator: text('headers.separator', d.headersSeparator),
    headersKeySeparator: text('headers.key.separator', d.headersKeySeparator),
    ignoreError: bool('ignore.error', d.ignoreError),
    nullMarker: props.has('null.marker') ? props.get('null.marker')! : null,
  };
  return { options, unknown: [...props.keys()].filter((k) => !LINE_READER_KEYS.has(k)) };
}

export interface ParsedLine {
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
}

export class LineFormatError extends Error {}

/** Splits one input line into headers, key and value as Kafka's LineMessageReader does. */
export function parseLine(line: string, lineNumber: number, o: LineReaderOptions): ParsedLine {
  let rest = line;
  const headers: ParsedLine['headers'] = [];
  if (o.parseHeaders) {
    const at = rest.indexOf(o.headersDelimiter);
    if (at < 0) {
      if (!o.ignoreError) throw new LineFormatError(`No headers delimiter found on line number ${lineNumber}: '${line}'`);
    } else {
      const text = rest.slice(0, at);
      rest = rest.slice(at + o.headersDelimiter.length);
      if (text !== '') {
        for (const pair of text.split(o.headersSeparator)) {
          const k = pair.indexOf(o.headersKeySeparator);
          const key = k < 0 ? pair : pair.slice(0, k);
          const value = k < 0 ? null : pair.slice(k + o.headersKeySeparator.length);
          headers.push({ key, value: value === o.nullMarker ? null : value });
        }
      }
    }
  }
  let key: string | null = null;
  let value: string | null = rest;
  if (o.parseKey) {
    const at = rest.indexOf(o.keySeparator);
    if (at < 0) {
      if (!o.ignoreError) throw new LineFormatError(`No key separator found on line number ${lineNumber}: '${line}'`);
    } else {
      key = rest.slice(0, at);
      value = rest.slice(at + o.keySeparator.length);
    }
  }
  if (o.nullMarker !== null) {
    if (key === o.nullMarker) key = null;
    if (value === o.nullMarker) value = null;
  }
  return { key, value, headers };
}
