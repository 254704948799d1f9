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
import { writeFileAtomic, writeFileAtomicAsync } from '../storage/checkpoint.js';
import type { BrokerRegistration, ClusterMetadata, PartitionState } from './metadata.js';

export const METADATA_FILE = 'samsa-metadata.json';
export const META_PROPERTIES_FILE = 'meta.properties';
const METADATA_VERSION = 1;
// A metadata document this large means something else is in the file.
const METADATA_BYTES_MAX = 64 * 1024 * 1024;

/** Kafka error codes used by topic administration (values from Kafka's Errors). */
export const MetadataErrorCode = {
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  REQUEST_TIMED_OUT: 7,
  INVALID_TOPIC_EXCEPTION: 17,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_REPLICA_ASSIGNMENT: 39,
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
  /** In a cluster: each partition's replicas, leader and ISR (absent for a broker running alone). */
  partitions?: PartitionState[];
}

/** A committed change to the topic set, for logs and metrics (validate-only requests emit none). */
export type TopicChange =
  | { kind: 'created'; topic: TopicMetadata }
  | { kind: 'deleted'; topic: TopicMetadata }
  | { kind: 'partitions-added'; topic: TopicMetadata; previousPartitionCount: number }
  | { kind: 'configs-changed'; topic: TopicMetadata }
  /** In a cluster: leaders, ISR or replicas of some partitions changed. */
  | { kind: 'partitions-changed'; topic: TopicMetadata };

export type TopicChangeListener = (change: TopicChange) => void;

export type MetadataResult<T> = { ok: true; value: T } | { ok: false; errorCode: MetadataErrorCode; message: string };

interface Document {
  version: number;
  clusterId: string;
  topics: TopicMetadata[];
  /**
   * Deleted topics whose partition directories may not all be renamed for
   * deletion yet. Start-up finishes them, so a crash mid-deletion never
   * brings a topic's data back; an entry goes once its directories are renamed.
   */
  deletedTopics?: TopicMetadata[];
}

/** Kafka's limit on topic name length (so that partition directory names fit in 255 bytes). */
export const TOPIC_NAME_LENGTH_MAX = 249;
/** Partitions per topic accepted here; far above anything a single broker should hold. */
export const PARTITIONS_PER_TOPIC_MAX = 100_000;
/** Brokers in a cluster of one: replication factors above this cannot be met. */
const BROKER_COUNT = 1;

/**
 * Kafka's internal topics (Topic.isInternal): Metadata marks them, Produce
 * refuses clients' appends to them, and this broker refuses to delete them.
 */
export const INTERNAL_TOPICS: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state', '__share_group_state']);

export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPICS.has(name);
}

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
  if (name.length > TOPIC_NAME_LENGTH_MAX) return `Topic name is illegal, it can't be longer than ${TOPIC_NAME_LENGTH_MAX} characters, Topic name: ${name}`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

export class LocalMetadata implements ClusterMetadata {
  readonly clustered = false;
  private doc: Document;
  /** This broker as clients reach it (set once the listener is bound). */
  self: BrokerRegistration | null = null;
  private readonly changeListeners = new Set<TopicChangeListener>();

  private constructor(
    private readonly file: string,
    doc: Document,
    /** This broker: the only one replicas may be assigned to. */
    readonly nodeId: number,
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
    const metadata = new LocalMetadata(file, doc, nodeId);
    // Rewriting an unchanged document would only cost an fsync at every start.
    if (existing === null) metadata.persist();
    for (const dir of logDirs) writeMetaProperties(dir, doc.clusterId, nodeId);
    return metadata;
  }

  brokers(): readonly BrokerRegistration[] {
    return this.self ? [this.self] : [];
  }

  controllerId(): number {
    return this.nodeId;
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

  /**
   * The checks Kafka's controller makes on a new topic's name before anything
   * else (Topic.validate, the '.'/'_' collision, then existence); null when the
   * name can be created.
   */
  newTopicNameError(name: string): { errorCode: MetadataErrorCode; message: string } | null {
    if (this.topic(name)) return { errorCode: MetadataErrorCode.TOPIC_ALREADY_EXISTS, message: `Topic '${name}' already exists.` };
    const nameError = topicNameError(name);
    if (nameError) return { errorCode: MetadataErrorCode.INVALID_TOPIC_EXCEPTION, message: nameError };
    // '.' and '_' map to the same metric names in Kafka, so such pairs are refused.
    const folded = foldCollisionChars(name);
    const collision = this.doc.topics.find((t) => foldCollisionChars(t.name) === folded);
    if (collision) {
      return { errorCode: MetadataErrorCode.INVALID_TOPIC_EXCEPTION, message: `Topic '${name}' collides with existing topic: ${collision.name}` };
    }
    return null;
  }

  /** CreateTopics for one topic (validateOnly checks without changing anything). */
  createTopic(name: string, partitionCount: number, replicationFactor: number, configs: Record<string, string>, validateOnly = false): MetadataResult<TopicMetadata> {
    const nameError = this.newTopicNameError(name);
    if (nameError) return fail(nameError.errorCode, nameError.message);
    if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
      return fail(MetadataErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0, or -1 to use the default value.');
    }
    if (!Number.isInteger(partitionCount) || partitionCount < 1) {
      return fail(MetadataErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.');
    }
    if (partitionCount > PARTITIONS_PER_TOPIC_MAX) {
      return fail(MetadataErrorCode.INVALID_PARTITIONS, `Number of partitions must be at most ${PARTITIONS_PER_TOPIC_MAX}, got ${partitionCount}.`);
    }
    if (replicationFactor > BROKER_COUNT) {
      return fail(MetadataErrorCode.INVALID_REPLICATION_FACTOR, `Replication factor: ${replicationFactor} larger than available brokers: ${BROKER_COUNT}.`);
    }
    const topic: TopicMetadata = { name, topicId: randomKafkaUuid(), partitionCount, configs: { ...configs } };
    if (validateOnly) return { ok: true, value: topic };
    this.doc.topics.push(topic);
    this.persist();
    this.emit({ kind: 'created', topic });
    return { ok: true, value: topic };
  }

  /**
   * Kafka's checks on one manual partition assignment (a list of broker ids):
   * non-empty, registered brokers, no repeats, and as many replicas as the
   * topic's other partitions when that is known. Null when it is acceptable.
   */
  assignmentError(brokerIds: readonly number[], replicationFactor: number | null): string | null {
    if (brokerIds.length === 0) return 'The manual partition assignment includes an empty replica list.';
    const sorted = [...brokerIds].sort((a, b) => a - b);
    for (let i = 0; i < sorted.length; i++) {
      if (sorted[i] !== this.nodeId) return `The manual partition assignment includes broker ${sorted[i]}, but no such broker is registered.`;
      if (i > 0 && sorted[i] === sorted[i - 1]) return `The manual partition assignment includes the broker ${sorted[i]} more than once.`;
    }
    if (replicationFactor !== null && sorted.length !== replicationFactor) {
      return (
        `The manual partition assignment includes a partition with ${sorted.length} replica(s), but this is not ` +
        `consistent with previous partitions, which have ${replicationFactor} replica(s).`
      );
    }
    return null;
  }

  /**
   * DeleteTopics: the topic leaves the topic list at once and is remembered as
   * deleted until `finishDeletion` says its partition directories are renamed.
   */
  deleteTopic(name: string): MetadataResult<TopicMetadata> {
    const topic = this.topic(name);
    if (!topic) return fail(MetadataErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
    this.doc.topics = this.doc.topics.filter((t) => t !== topic);
    this.doc.deletedTopics = [...(this.doc.deletedTopics ?? []), topic];
    this.persist();
    this.emit({ kind: 'deleted', topic });
    return { ok: true, value: topic };
  }

  /** Deleted topics whose directories may still be in place (see Document.deletedTopics). */
  pendingDeletions(): readonly TopicMetadata[] {
    return this.doc.deletedTopics ?? [];
  }

  finishDeletion(topicId: string): void {
    const before = this.doc.deletedTopics ?? [];
    const after = before.filter((t) => t.topicId !== topicId);
    if (after.length === before.length) return;
    if (after.length > 0) this.doc.deletedTopics = after;
    else delete this.doc.deletedTopics;
    this.persist();
  }

  /**
   * CreatePartitions: partitions only grow. `assignments` (one broker list per
   * new partition) is optional, as in the request. Checks and messages follow
   * Kafka's controller, in its order.
   */
  createPartitions(name: string, newTotal: number, assignments: ReadonlyArray<readonly number[]> | null = null, validateOnly = false): MetadataResult<TopicMetadata> {
    const topic = this.topic(name);
    if (!topic) return fail(MetadataErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
    const refused = partitionIncreaseError<TopicMetadata>(name, topic.partitionCount, newTotal, assignments);
    if (refused) return refused;
    for (const brokerIds of assignments ?? []) {
      // Every partition of a topic here has one replica.
      const error = this.assignmentError(brokerIds, 1);
      if (error) return fail(MetadataErrorCode.INVALID_REPLICA_ASSIGNMENT, error);
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

/** Kafka's Topic.unifyCollisionChars: '.' and '_' become the same character. */
function foldCollisionChars(name: string): string {
  return name.replace(/\./g, '_');
}

export function fail<T>(errorCode: MetadataErrorCode, message: string): MetadataResult<T> {
  return { ok: false, errorCode, message };
}

/** CreatePartitions' checks, as Kafka answers them: an increase, within the limit, with one assignment per new partition. */
export function partitionIncreaseError<T>(name: string, current: number, newTotal: number, assignments: ReadonlyArray<readonly number[]> | null): MetadataResult<T> | null {
  if (newTotal === current) return fail(MetadataErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partition(s).`);
  if (newTotal < current) {
    return fail(MetadataErrorCode.INVALID_PARTITIONS, `The topic ${name} currently has ${current} partition(s); ${newTotal} would not be an increase.`);
  }
  const additional = newTotal - current;
  if (assignments !== null && assignments.length !== additional) {
    return fail(
      MetadataErrorCode.INVALID_REPLICA_ASSIGNMENT,
      `Attempted to add ${additional} additional partition(s), but only ${assignments.length} assignment(s) were specified.`,
    );
  }
  if (!Number.isInteger(newTotal) || newTotal > PARTITIONS_PER_TOPIC_MAX) {
    return fail(MetadataErrorCode.INVALID_PARTITIONS, `Number of partitions must be at most ${PARTITIONS_PER_TOPIC_MAX}, got ${newTotal}.`);
  }
  return null;
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
  if (doc.deletedTopics !== undefined && !Array.isArray(doc.deletedTopics)) throw new Error(`${file}: deletedTopics is not a list`);
  for (const t of [...doc.topics, ...(doc.deletedTopics ?? [])]) {
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

export function writeMetaProperties(dir: string, clusterId: string, nodeId: number): void {
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

export const PARTITION_METADATA_FILE = 'partition.metadata';
// partition.metadata holds two short lines; anything longer is not one.
const PARTITION_METADATA_BYTES_MAX = 4096;

/** Kafka's partition.metadata file in each partition directory. */
export function writePartitionMetadata(partitionDir: string, topicId: string): void {
  writeFileAtomic(path.join(partitionDir, PARTITION_METADATA_FILE), `version: 0\ntopic_id: ${topicId}\n`);
}

/** writePartitionMetadata off the event loop (the fsyncs run on the libuv pool). */
export function writePartitionMetadataAsync(partitionDir: string, topicId: string): Promise<void> {
  return writeFileAtomicAsync(path.join(partitionDir, PARTITION_METADATA_FILE), `version: 0\ntopic_id: ${topicId}\n`);
}

/** The topic id recorded in a partition directory, or null when it has no (readable) partition.metadata. */
export function readPartitionMetadata(partitionDir: string): string | null {
  let text: string;
  try {
    const file = path.join(partitionDir, PARTITION_METADATA_FILE);
    if (fs.statSync(file).size > PARTITION_METADATA_BYTES_MAX) return null;
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const match = /^topic_id: *(\S+) *$/m.exec(text);
  return match ? match[1] : null;
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
