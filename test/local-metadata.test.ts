import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalMetadata, MetadataErrorCode, randomKafkaUuid, topicNameError } from '../src/cluster/local-metadata.js';
import { parseProperties } from '../src/config/properties.js';
import { tempDir } from './support/storage.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function logDirs(n: number): string[] {
  const root = tempDir();
  dirs.push(root);
  return Array.from({ length: n }, (_, i) => path.join(root, `d${i}`));
}

describe('LocalMetadata', () => {
  it('creates topics with Kafka-style ids and keeps them across reopen, with meta.properties in every log dir', () => {
    const ds = logDirs(2);
    const m = LocalMetadata.open(ds, 7);
    const r = m.createTopic('orders', 3, 1, { 'retention.ms': '1000' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.topicId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const again = LocalMetadata.open(ds, 7);
    expect(again.clusterId).toBe(m.clusterId);
    expect(again.topic('orders')).toEqual(r.value);
    expect(again.topicById(r.value.topicId)?.name).toBe('orders');
    for (const d of ds) {
      const props = parseProperties(fs.readFileSync(path.join(d, 'meta.properties'), 'utf8'));
      expect(props.get('cluster.id')).toBe(m.clusterId);
      expect(props.get('node.id')).toBe('7');
    }
    // A dir of another node is refused rather than silently shared.
    expect(() => LocalMetadata.open(ds, 8)).toThrow(/node 7/);
  });

  it('answers CreateTopics errors with Kafka\'s codes', () => {
    const m = LocalMetadata.open(logDirs(1), 1);
    expect(m.createTopic('a.b', 1, 1, {}).ok).toBe(true);
    const cases: Array<[string, number, number, number]> = [
      ['a.b', 1, 1, MetadataErrorCode.TOPIC_ALREADY_EXISTS],
      ['a_b', 1, 1, MetadataErrorCode.INVALID_TOPIC_EXCEPTION],
      ['bad name', 1, 1, MetadataErrorCode.INVALID_TOPIC_EXCEPTION],
      ['..', 1, 1, MetadataErrorCode.INVALID_TOPIC_EXCEPTION],
      ['x'.repeat(250), 1, 1, MetadataErrorCode.INVALID_TOPIC_EXCEPTION],
      ['zero', 0, 1, MetadataErrorCode.INVALID_PARTITIONS],
      ['rf3', 1, 3, MetadataErrorCode.INVALID_REPLICATION_FACTOR],
    ];
    for (const [name, partitions, rf, code] of cases) {
      const r = m.createTopic(name, partitions, rf, {});
      expect(r.ok ? 0 : r.errorCode, name.slice(0, 20)).toBe(code);
    }
    expect(m.createTopic('dry', 2, 1, {}, true).ok).toBe(true);
    expect(m.topic('dry')).toBeUndefined();
  });

  it('grows partitions only upward with Kafka\'s messages, and remembers deletions until they are finished', () => {
    const ds = logDirs(1);
    const m = LocalMetadata.open(ds, 1);
    m.createTopic('t', 2, 1, {});
    const shrink = m.createPartitions('t', 1);
    expect(shrink).toEqual({ ok: false, errorCode: MetadataErrorCode.INVALID_PARTITIONS, message: 'The topic t currently has 2 partition(s); 1 would not be an increase.' });
    expect(m.createPartitions('t', 2)).toEqual({ ok: false, errorCode: MetadataErrorCode.INVALID_PARTITIONS, message: 'Topic already has 2 partition(s).' });
    expect(m.createPartitions('t', 4, [[1]])).toEqual({
      ok: false,
      errorCode: MetadataErrorCode.INVALID_REPLICA_ASSIGNMENT,
      message: 'Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.',
    });
    const refusals: Array<[number[], string]> = [
      [[], 'The manual partition assignment includes an empty replica list.'],
      [[2], 'The manual partition assignment includes broker 2, but no such broker is registered.'],
      [[1, 1], 'The manual partition assignment includes the broker 1 more than once.'],
    ];
    for (const [brokers, message] of refusals) {
      expect(m.createPartitions('t', 3, [brokers])).toEqual({ ok: false, errorCode: MetadataErrorCode.INVALID_REPLICA_ASSIGNMENT, message });
    }
    expect(m.createPartitions('t', 3, [[1]], true).ok).toBe(true);
    expect(m.topic('t')!.partitionCount).toBe(2);
    expect(m.createPartitions('t', 5).ok).toBe(true);
    expect(m.topic('t')!.partitionCount).toBe(5);
    const missing = m.deleteTopic('nope');
    expect(missing.ok ? 0 : missing.errorCode).toBe(MetadataErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const id = m.topic('t')!.topicId;
    expect(m.deleteTopic('t').ok).toBe(true);
    expect(m.topics()).toEqual([]);
    // The deletion record survives a reopen (a crash) until finished.
    const reopened = LocalMetadata.open(ds, 1);
    expect(reopened.pendingDeletions().map((t) => t.topicId)).toEqual([id]);
    reopened.finishDeletion(id);
    expect(LocalMetadata.open(ds, 1).pendingDeletions()).toEqual([]);
    // The name is free again, with a new id.
    const again = reopened.createTopic('t', 1, 1, {});
    expect(again.ok && again.value.topicId !== id).toBe(true);
  });

  it('words topic refusals exactly as Kafka does', () => {
    const m = LocalMetadata.open(logDirs(1), 1);
    m.createTopic('a.b', 1, 1, {});
    const long = 'x'.repeat(250);
    const cases: Array<[string, number, number, string]> = [
      ['', 1, 1, "Topic name is illegal, it can't be empty"],
      ['.', 1, 1, 'Topic name cannot be "." or ".."'],
      ['..', 1, 1, 'Topic name cannot be "." or ".."'],
      [long, 1, 1, `Topic name is illegal, it can't be longer than 249 characters, Topic name: ${long}`],
      ['a b', 1, 1, `Topic name "a b" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`],
      ['a_b', 1, 1, "Topic 'a_b' collides with existing topic: a.b"],
      ['a.b', 1, 1, "Topic 'a.b' already exists."],
      ['rf2', 1, 2, 'Replication factor: 2 larger than available brokers: 1.'],
      ['rf0', 1, 0, 'Replication factor must be larger than 0, or -1 to use the default value.'],
      ['p0', 0, 1, 'Number of partitions was set to an invalid non-positive value.'],
    ];
    for (const [name, partitions, rf, message] of cases) {
      const r = m.createTopic(name, partitions, rf, {});
      expect(r.ok ? null : r.message, name.slice(0, 20)).toBe(message);
    }
    expect(m.createTopic('x'.repeat(249), 1, 1, {}).ok).toBe(true);
  });

  it('validates names as Kafka does and makes ids that never start with a dash', () => {
    expect(topicNameError('ok.topic_name-1')).toBeNull();
    expect(topicNameError('')).not.toBeNull();
    for (let i = 0; i < 200; i++) expect(randomKafkaUuid().startsWith('-')).toBe(false);
  });
});
