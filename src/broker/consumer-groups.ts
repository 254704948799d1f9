// Wires the KIP-848 consumer group coordinator into a broker: topic metadata
// as the coordinator sees it (wire topic ids), topic changes, the timer that
// fires session and rebalance timeouts, and the group registry and load pass
// it shares with classic groups (GroupCoordinator).
import { kafkaUuidToCanonical } from '../cluster/local-metadata.js';
import type { ClusterMetadata } from '../cluster/metadata.js';
import type { BrokerConfig } from '../config/broker-config.js';
import { rangeAssignor } from '../coordinator/assignors/range.js';
import { uniformAssignor } from '../coordinator/assignors/uniform.js';
import type { PartitionAssignor } from '../coordinator/assignors/assignor.js';
import type { CoordinatorStore } from '../coordinator/coordinator-store.js';
import { ConsumerGroupCoordinator, type GroupRegistry, type MigrationPolicy, type TopicsImage } from '../coordinator/consumer-group-coordinator.js';
import type { RawRecordListener } from '../coordinator/group-coordinator.js';
import type { Clock } from '../storage/clock.js';
import type { LogLogger } from '../storage/log.js';

const ASSIGNORS: Record<string, PartitionAssignor> = { uniform: uniformAssignor, range: rangeAssignor };
/** Timeouts fire at most this late; a tenth of Kafka's smallest session timeout bound (45 s) would be coarse for tests with short ones. */
const TIMER_TICK_MS_MAX = 1000;

export interface ConsumerGroups {
  readonly coordinator: ConsumerGroupCoordinator;
  stop(): void;
}

/** Internal topics are left out of regex subscriptions. */
function isInternalTopic(name: string): boolean {
  return name === '__consumer_offsets' || name === '__transaction_state' || name === '__share_group_state';
}

export function topicsImage(metadata: ClusterMetadata): TopicsImage {
  return {
    topic(name) {
      const t = metadata.topic(name);
      return t ? { topicId: kafkaUuidToCanonical(t.topicId), partitionCount: t.partitionCount } : undefined;
    },
    topicNames() {
      return metadata
        .topics()
        .map((t) => t.name)
        .filter((n) => !isInternalTopic(n));
    },
    topicName(topicId) {
      for (const t of metadata.topics()) if (kafkaUuidToCanonical(t.topicId) === topicId) return t.name;
      return undefined;
    },
  };
}

/**
 * Creates the consumer group coordinator and hooks it into the classic
 * coordinator's load; call before GroupCoordinator.load(). Groups of a
 * partition still loading answer COORDINATOR_LOAD_IN_PROGRESS.
 */
export function startConsumerGroups(
  config: BrokerConfig,
  metadata: ClusterMetadata,
  store: CoordinatorStore,
  registry: GroupRegistry & { setRawRecordListener(listener: RawRecordListener): void; readonly config: { maxSize: number } },
  clock: Clock,
  logger: LogLogger,
): ConsumerGroups {
  const g = config.groupConsumer;
  const coordinator = new ConsumerGroupCoordinator(
    {
      heartbeatIntervalMs: g.heartbeatIntervalMs,
      sessionTimeoutMs: g.sessionTimeoutMs,
      maxSize: g.maxSize,
      assignors: g.assignors.map((name) => ASSIGNORS[name]),
      migrationPolicy: g.migrationPolicy as MigrationPolicy,
      classicGroupMaxSize: registry.config.maxSize,
    },
    store,
    topicsImage(metadata),
    clock,
    logger,
  );
  // Loaded by the group coordinator's pass over __consumer_offsets (one read for both group types).
  coordinator.setRegistry(registry);
  registry.setRawRecordListener(coordinator);
  const unsubscribe = metadata.onTopicChange((change) => coordinator.onTopicChange(change.topic.name));
  const tickMs = Math.max(1, Math.min(TIMER_TICK_MS_MAX, Math.floor(g.sessionTimeoutMs / 10)));
  const timer = setInterval(() => {
    coordinator.tick().catch((err: Error) => logger.warn(`consumer group timers: ${err.message}`));
  }, tickMs);
  timer.unref();
  return {
    coordinator,
    stop() {
      clearInterval(timer);
      unsubscribe();
    },
  };
}
