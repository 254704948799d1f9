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

  it('grows partitions only upward and deletes topics', () => {
    const m = LocalMetadata.open(logDirs(1), 1);
    m.createTopic('t', 2, 1, {});
    const shrink = m.createPartitions('t', 1);
    expect(shrink.ok ? 0 : shrink.errorCode).toBe(MetadataErrorCode.INVALID_PARTITIONS);
    expect(m.createPartitions('t', 5).ok).toBe(true);
    expect(m.topic('t')!.partitionCount).toBe(5);
    const missing = m.deleteTopic('nope');
    expect(missing.ok ? 0 : missing.errorCode).toBe(MetadataErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(m.deleteTopic('t').ok).toBe(true);
    expect(m.topics()).toEqual([]);
  });

  it('validates names as Kafka does and makes ids that never start with a dash', () => {
    expect(topicNameError('ok.topic_name-1')).toBeNull();
    expect(topicNameError('')).not.toBeNull();
    for (let i = 0; i < 200; i++) expect(randomKafkaUuid().startsWith('-')).toBe(false);
  });
});
