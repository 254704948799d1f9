// Topic set-up shared by the load tools: find the topic's partitions and
// leaders through Metadata, creating it with CreateTopics first when it is
// missing (the broker's defaults when partitions/replication are not given).
// Protocol only, so it works against any Kafka broker.
import type { KafkaClient } from '../client/client.js';
import { KafkaResponseError } from '../client/errors.js';
import { ApiKey, type CreateTopicsRequest, type CreateTopicsResponse, type MetadataResponse } from '../protocol/generated/index.js';

const TOPIC_ALREADY_EXISTS = 36;
const CREATE_TIMEOUT_MS = 30_000;
const LEADER_WAIT_MS = 30_000;

export interface TopicLayout {
  /** Leader node id by partition index. */
  leaders: number[];
  created: boolean;
}

/** The topic's leaders, creating it (with `partitions`, or the broker default when null) when it does not exist. */
export async function ensureTopic(client: KafkaClient, topic: string, partitions: number | null, replicationFactor: number | null): Promise<TopicLayout> {
  let layout = layoutOf(await client.metadata([topic], false), topic);
  if (layout) return { leaders: layout, created: false };
  const admin = await client.adminConnection();
  let created = false;
  if (admin.supports(ApiKey.CreateTopics)) {
    const response = await admin.request<CreateTopicsResponse>(ApiKey.CreateTopics, (): CreateTopicsRequest => ({
      topics: [{ name: topic, numPartitions: partitions ?? -1, replicationFactor: replicationFactor ?? -1, assignments: [], configs: [] }],
      timeoutMs: CREATE_TIMEOUT_MS,
      validateOnly: false,
    }));
    const result = response.topics.find((t) => t.name === topic);
    if (result && result.errorCode !== 0 && result.errorCode !== TOPIC_ALREADY_EXISTS) {
      throw new KafkaResponseError(result.errorCode, `Cannot create topic ${topic}: ${result.errorMessage ?? new KafkaResponseError(result.errorCode).message}`);
    }
    created = result?.errorCode === 0;
  }
  // Leaders appear in metadata shortly after creation; a broker without CreateTopics may auto-create on Metadata.
  const deadline = Date.now() + LEADER_WAIT_MS;
  for (;;) {
    layout = layoutOf(await client.metadata([topic], !created), topic);
    if (layout) return { leaders: layout, created };
    if (Date.now() >= deadline) throw new KafkaResponseError(3, `Topic ${topic} has no leader for every partition after ${LEADER_WAIT_MS} ms.`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function layoutOf(metadata: MetadataResponse, topic: string): number[] | null {
  const t = metadata.topics.find((x) => x.name === topic);
  if (!t || t.errorCode !== 0 || t.partitions.length === 0) return null;
  const leaders: number[] = [];
  for (const p of t.partitions) leaders[p.partitionIndex] = p.leaderId;
  for (let i = 0; i < t.partitions.length; i++) if (leaders[i] === undefined || leaders[i] < 0) return null;
  return leaders;
}
