// Cluster metadata of a broker running alone: cluster id, topics (with ids,
// partition counts and config overrides), kept in one JSON document written
// atomically into the first log dir. Each log dir also gets Kafka's
// meta.properties, so a Kafka operator recognises the layout.
//
// Failures are values carrying Kafka error codes, as CreateTopics and friends
// answer them per topic.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { formatProperties, parseProperties } from '../config/properties.js';
import { writeFileAtomic } from '../storage/checkpoint.js';

export const METADATA_FILE = 'samsa-metadata.json';
export const META_PROPERTIES_FILE = 'meta.properties';
const METADATA_VERSION = 1;
// A metadata document this large means something else is in the file.
const METADATA_BYTES_MAX = 64 * 1024 * 1024;

/** Kafka error codes used by topic administration (values from Kafka's Errors). */
export const MetadataErrorCode = {
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  INVALID_TOPIC_EXCEPTION: 17,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_CONFIG: 40,
  UNKNOWN_TOPIC_ID: 100,
} as const;
export type MetadataErrorCode = (typeof MetadataErrorCode)[keyof typeof MetadataErrorCode];

export interface TopicMetadata {
  name: string;
  /** Kafka's Uuid in its string form: 22 characters of unpadded url-safe base64. */
  topicId: string;
  partitionCount: number;
  /** Topic-level config overrides (retention.ms, cleanup.policy, ...). */
  configs: Record<string, string>;
}

/** A committed change to the topic set, for logs and metrics (validate-only requests emit none). */
export type TopicChange =
  | { kind: 'created'; topic: TopicMetadata }
  | { kind: 'deleted'; topic: TopicMetadata }
  | { kind: 'partitions-added'; topic: TopicMetadata; previousPartitionCount: number }
  | { kind: 'configs-changed'; topic: TopicMetadata };

export type TopicChangeListener = (change: TopicChange) => void;

export type MetadataResult<T> = { ok: true; value: T } | { ok: false; errorCode: MetadataErrorCode; message: string };

interface Document {
  version: number;
  clusterId: string;
  topics: TopicMetadata[];
}

/** Kafka's limit on topic name length (so that partition directory names fit in 255 bytes). */
export const TOPIC_NAME_LENGTH_MAX = 249;
/** Partitions per topic accepted here; far above anything a single broker should hold. */
export const PARTITIONS_PER_TOPIC_MAX = 100_000;

/** Kafka's random Uuid string (16 random bytes, url-safe base64 without padding). */
export function randomKafkaUuid(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    // Kafka never hands out the all-zero "ZERO_UUID" or ids starting with '-' (they read as CLI flags).
    if (!id.startsWith('-') && id !== 'AAAAAAAAAAAAAAAAAAAAAA') return id;
  }
}

/** Kafka's topic name rules (Topic.validate). Returns an error message or null. */
export function topicNameError(name: string): string | null {
  if (name.length === 0) return 'Topic name is illegal, it can\'t be empty';
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > TOPIC_NAME_LENGTH_MAX) return `Topic name is illegal, it can't be longer than ${TOPIC_NAME_LENGTH_MAX} characters, topic name: ${name}`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

export class LocalMetadata {
  private doc: Document;
  private readonly changeListeners = new Set<TopicChangeListener>();

  private constructor(
    private readonly file: string,
    doc: Document,
  ) {
    this.doc = doc;
  }

  /** Loads (or creates) the metadata, and writes meta.properties into every log dir. */
  static open(logDirs: string[], nodeId: number): LocalMetadata {
    if (logDirs.length === 0) throw new Error('no log dirs');
    for (const dir of logDirs) fs.mkdirSync(dir, { recursive: true });
    const file = path.join(logDirs[0], METADATA_FILE);
    const existing = readDocument(file);
    const doc = existing ?? { version: METADATA_VERSION, clusterId: clusterIdFromDirs(logDirs) ?? randomKafkaUuid(), topics: [] };
    const metadata = new LocalMetadata(file, doc);
    // Rewriting an unchanged document would only cost an fsync at every start.
    if (existing === null) metadata.persist();
    for (const dir of logDirs) writeMetaProperties(dir, doc.clusterId, nodeId);
    return metadata;
  }

  /** Calls `listener` after each committed topic change; returns a function that removes it. */
  onTopicChange(listener: TopicChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private emit(change: TopicChange): void {
    for (const listener of this.changeListeners) {
      // The change is already persisted; an observer's failure must not undo or fail it.
      try {
        listener(change);
      } catch {
        // Observers log and count; nothing to recover here.
      }
    }
  }

  get clusterId(): string {
    return this.doc.clusterId;
  }

  topics(): readonly TopicMetadata[] {
    return this.doc.topics;
  }

  topic(name: string): TopicMetadata | undefined {
    return this.doc.topics.find((t) => t.name === name);
  }

  topicById(topicId: string): TopicMetadata | undefined {
    return this.doc.topics.find((t) => t.topicId === topicId);
  }

  /** CreateTopics for one topic (validateOnly checks without changing anything). */
  createTopic(name: string, partitionCount: number, replicationFactor: number, configs: Record<string, string>, validateOnly = false): MetadataResult<TopicMetadata> {
    const nameError = topicNameError(name);
    if (nameError) return fail(MetadataErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
    if (this.topic(name)) return fail(MetadataErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    // '.' and '_' map to the same metric names in Kafka, so such pairs are refused.
    const collision = this.doc.topics.find((t) => t.name.replace(/\./g, '_') === name.replace(/\./g, '_'));
    if (collision) {
      return fail(MetadataErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${name}' collides with existing topic: ${collision.name}`);
    }
    if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > PARTITIONS_PER_TOPIC_MAX) {
      return fail(MetadataErrorCode.INVALID_PARTITIONS, `Number of partitions must be in [1, ${PARTITIONS_PER_TOPIC_MAX}], got ${partitionCount}.`);
    }
    if (replicationFactor !== 1) {
      return fail(
        MetadataErrorCode.INVALID_REPLICATION_FACTOR,
        `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only 1 broker(s) are registered.`,
      );
    }
    const topic: TopicMetadata = { name, topicId: randomKafkaUuid(), partitionCount, configs: { ...configs } };
    if (validateOnly) return { ok: true, value: topic };
    this.doc.topics.push(topic);
    this.persist();
    this.emit({ kind: 'created', topic });
    return { ok: true, value: topic };
  }

  deleteTopic(name: string): MetadataResult<TopicMetadata> {
    const topic = this.topic(name);
    if (!topic) return fail(MetadataErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `This server does not host this topic: ${name}`);
    this.doc.topics = this.doc.topics.filter((t) => t !== topic);
    this.persist();
    this.emit({ kind: 'deleted', topic });
    return { ok: true, value: topic };
  }

  /** CreatePartitions: partitions can only grow. */
  createPartitions(name: string, newTotal: number, validateOnly = false): MetadataResult<TopicMetadata> {
    const topic = this.topic(name);
    if (!topic) return fail(MetadataErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
    if (!Number.isInteger(newTotal) || newTotal > PARTITIONS_PER_TOPIC_MAX) {
      return fail(MetadataErrorCode.INVALID_PARTITIONS, `Number of partitions must be at most ${PARTITIONS_PER_TOPIC_MAX}.`);
    }
    if (newTotal < topic.partitionCount) {
      return fail(MetadataErrorCode.INVALID_PARTITIONS, `Topic currently has ${topic.partitionCount} partitions, which is higher than the requested ${newTotal}.`);
    }
    if (newTotal === topic.partitionCount) {
      return fail(MetadataErrorCode.INVALID_PARTITIONS, `Topic already has ${topic.partitionCount} partitions.`);
    }
    if (validateOnly) return { ok: true, value: { ...topic, partitionCount: newTotal } };
    const previousPartitionCount = topic.partitionCount;
    topic.partitionCount = newTotal;
    this.persist();
    this.emit({ kind: 'partitions-added', topic, previousPartitionCount });
    return { ok: true, value: topic };
  }

  /** Replaces a topic's config overrides (AlterConfigs) after the caller validated them. */
  setTopicConfigs(name: string, configs: Record<string, string>): MetadataResult<TopicMetadata> {
    const topic = this.topic(name);
    if (!topic) return fail(MetadataErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
    topic.configs = { ...configs };
    this.persist();
    this.emit({ kind: 'configs-changed', topic });
    return { ok: true, value: topic };
  }

  private persist(): void {
    writeFileAtomic(this.file, JSON.stringify(this.doc, null, 1) + '\n');
  }
}

function fail<T>(errorCode: MetadataErrorCode, message: string): MetadataResult<T> {
  return { ok: false, errorCode, message };
}

function readDocument(file: string): Document | null {
  let text: string;
  try {
    if (fs.statSync(file).size > METADATA_BYTES_MAX) throw new Error(`${file} is larger than ${METADATA_BYTES_MAX} bytes`);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const doc = JSON.parse(text) as Document;
  if (doc.version !== METADATA_VERSION || typeof doc.clusterId !== 'string' || !Array.isArray(doc.topics)) {
    throw new Error(`${file}: unrecognised metadata document (version ${String(doc.version)})`);
  }
  for (const t of doc.topics) {
    if (topicNameError(t.name) || !Number.isInteger(t.partitionCount) || t.partitionCount < 1 || typeof t.topicId !== 'string') {
      throw new Error(`${file}: malformed topic entry ${JSON.stringify(t).slice(0, 200)}`);
    }
  }
  return doc;
}

/** The cluster id recorded in an existing meta.properties (a dir written by this broker or by Kafka). */
function clusterIdFromDirs(logDirs: string[]): string | null {
  for (const dir of logDirs) {
    const file = path.join(dir, META_PROPERTIES_FILE);
    if (!fs.existsSync(file)) continue;
    const id = parseProperties(fs.readFileSync(file, 'utf8')).get('cluster.id');
    if (id) return id;
  }
  return null;
}

function writeMetaProperties(dir: string, clusterId: string, nodeId: number): void {
  const file = path.join(dir, META_PROPERTIES_FILE);
  if (fs.existsSync(file)) {
    const existing = parseProperties(fs.readFileSync(file, 'utf8'));
    const id = existing.get('cluster.id');
    if (id && id !== clusterId) throw new Error(`${file} belongs to cluster ${id}, not ${clusterId}`);
    const node = existing.get('node.id');
    if (node && Number(node) !== nodeId) throw new Error(`${file} belongs to node ${node}, not ${nodeId}`);
    return;
  }
  writeFileAtomic(
    file,
    '#\n' + formatProperties([
      ['cluster.id', clusterId],
      ['node.id', String(nodeId)],
      ['version', '1'],
    ]),
  );
}

/** Kafka's partition.metadata file in each partition directory. */
export function writePartitionMetadata(partitionDir: string, topicId: string): void {
  writeFileAtomic(path.join(partitionDir, 'partition.metadata'), `version: 0\ntopic_id: ${topicId}\n`);
}

/** Kafka's Uuid string (url-safe base64 of 16 bytes) as the wire codecs' canonical 8-4-4-4-12 hex form. */
export function kafkaUuidToCanonical(id: string): string {
  const hex = Buffer.from(id, 'base64url').toString('hex');
  if (hex.length !== 32) throw new Error(`not a Kafka uuid: ${id}`);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The canonical hex form back to Kafka's base64 string. */
export function canonicalUuidToKafka(uuid: string): string {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
}
