// CreateTime bounds: with Kafka's defaults (no before-bound) the produce path
// must not decode records; a configured bound refuses the records outside it.
import { describe, expect, it } from 'vitest';
import { brokerConfigFromProperties, DEFAULT_BROKER_PROPERTIES } from '../src/config/broker-config.js';
import { buildRecordBatch } from '../src/record/record-batch.js';
import { RecordValidationError } from '../src/storage/errors.js';
import { withTopicOverrides } from '../src/storage/log-config.js';
import { checkCreateTimestamps, timestampBounds } from '../src/storage/timestamp-check.js';

const NOW = 1_800_000_000_000;

function brokerLogConfig() {
  return brokerConfigFromProperties({ ...DEFAULT_BROKER_PROPERTIES, 'log.dirs': '/tmp/unused', listeners: 'PLAINTEXT://127.0.0.1:0' }).log;
}

describe('CreateTime timestamp bounds', () => {
  it('has no before-bound with the broker defaults (Long.MAX_VALUE parsed as a JS number), so no per-record decoding', () => {
    const config = brokerLogConfig();
    expect(timestampBounds(config, NOW)).toEqual({ lowest: -Infinity, highest: NOW + 3_600_000 });
    const explicit = withTopicOverrides(config, { 'message.timestamp.before.max.ms': '9223372036854775807' });
    expect(timestampBounds(explicit, NOW).lowest).toBe(-Infinity);
  });

  it('accepts old records by default and refuses them past a configured before-bound', () => {
    const batch = buildRecordBatch([{ value: Buffer.from('old'), timestamp: NOW - 86_400_000 }], { baseTimestamp: NOW - 86_400_000 });
    const config = brokerLogConfig();
    expect(() => checkCreateTimestamps(batch, 0, batch.length, config, NOW)).not.toThrow();
    const bounded = withTopicOverrides(config, { 'message.timestamp.before.max.ms': '3600000' });
    expect(timestampBounds(bounded, NOW).lowest).toBe(NOW - 3_600_000);
    expect(() => checkCreateTimestamps(batch, 0, batch.length, bounded, NOW)).toThrow(RecordValidationError);
  });
});
