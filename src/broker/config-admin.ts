// Topic and broker configs as the admin APIs see them: describe (values,
// sources, synonyms), replace (AlterConfigs), edit (IncrementalAlterConfigs).
// Accepted changes are persisted (topic overrides in the topic metadata,
// dynamic broker configs in their own document) and pushed to the live
// partition logs, so a lower segment.bytes rolls on the next append, a lower
// max.message.bytes refuses the next large batch and retention applies at the
// next check.
import { topicNameError } from '../cluster/local-metadata.js';
import type { ClusterMetadata, MaybePromise } from '../cluster/metadata.js';
import {
  BROKER_CONFIGS,
  ConfigSource,
  ResourceType,
  TOPIC_CONFIGS,
  brokerConfigDef,
  brokerValue,
  checkValue,
  describeBrokerConfig,
  describeTopicConfig,
  topicConfigDef,
  topicConfigsError,
  type BrokerConfigLayers,
  type DescribedConfig,
} from '../config/config-catalog.js';
import type { BrokerConfig } from '../config/broker-config.js';
import type { DynamicBrokerConfigs } from '../config/dynamic-broker-configs.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ConfigError, logConfigFromBrokerProperties, withTopicOverrides, type LogConfig } from '../storage/log-config.js';
import type { LogManager } from '../storage/log-manager.js';

/** IncrementalAlterConfigs operations (Kafka's AlterConfigOp.OpType ids). */
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export interface ConfigOutcome {
  errorCode: number;
  errorMessage: string | null;
}

export interface DescribeOutcome extends ConfigOutcome {
  configs: DescribedConfig[];
}

export interface ConfigEdit {
  name: string;
  operation: number;
  value: string | null;
}

const OK: ConfigOutcome = { errorCode: ErrorCode.NONE, errorMessage: null };
const fail = (errorCode: number, errorMessage: string): ConfigOutcome => ({ errorCode, errorMessage });

export class ConfigAdmin {
  constructor(
    private readonly config: BrokerConfig,
    private readonly metadata: ClusterMetadata,
    private readonly logs: LogManager,
    private readonly dynamic: DynamicBrokerConfigs,
  ) {}

  layers(): BrokerConfigLayers {
    return { perBroker: this.dynamic.perBroker(this.config.nodeId), clusterDefault: this.dynamic.clusterDefault(), staticProps: this.config.raw };
  }

  /** server.properties with the dynamic configs applied, as the broker's log defaults. */
  static effectiveLogConfig(config: BrokerConfig, dynamic: DynamicBrokerConfigs): LogConfig {
    const merged: Record<string, string> = { ...Object.fromEntries(config.raw), ...dynamic.clusterDefault(), ...dynamic.perBroker(config.nodeId) };
    return logConfigFromBrokerProperties(merged);
  }

  describe(resourceType: number, resourceName: string, keys: readonly string[] | null): DescribeOutcome {
    const wanted = (name: string) => keys === null || keys.includes(name);
    if (resourceType === ResourceType.TOPIC) {
      const error = this.topicError(resourceName);
      if (error) return { ...error, configs: [] };
      const overrides = this.metadata.topic(resourceName)!.configs;
      const layers = this.layers();
      return { ...OK, configs: TOPIC_CONFIGS.filter((d) => wanted(d.name)).map((d) => describeTopicConfig(d, overrides, layers)) };
    }
    if (resourceType === ResourceType.BROKER) {
      const error = this.brokerError(resourceName);
      if (error) return { ...error, configs: [] };
      const layers = this.layers();
      // The cluster-default resource lists only what was set at that level, as Kafka does.
      const defs =
        resourceName === ''
          ? Object.keys(layers.clusterDefault).flatMap((n) => brokerConfigDef(n) ?? [])
          : BROKER_CONFIGS;
      return { ...OK, configs: defs.filter((d) => wanted(d.name)).map((d) => describeBrokerConfig(d, layers, resourceName !== '')) };
    }
    return { ...fail(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${resourceType}`), configs: [] };
  }

  /** min.insync.replicas of a topic: its override, else the broker's value (Produce with acks=-1 checks it). */
  minInsyncReplicas(topic: string): number {
    const override = this.metadata.topic(topic)?.configs['min.insync.replicas'];
    return Number(override ?? brokerValue('min.insync.replicas', this.layers()) ?? 1);
  }

  /** A topic's configs as CreateTopics v5+ returns them. */
  describeTopic(overrides: Readonly<Record<string, string>>): DescribedConfig[] {
    const layers = this.layers();
    return TOPIC_CONFIGS.map((d) => describeTopicConfig(d, overrides, layers));
  }

  /** Validation shared with CreateTopics: Kafka's rules, then what storage needs. */
  validateTopicConfigs(configs: Readonly<Record<string, string | null>>): ConfigOutcome {
    const error = topicConfigsError(configs);
    if (error) return fail(ErrorCode.INVALID_CONFIG, error);
    try {
      withTopicOverrides(this.config.log, configs as Record<string, string>);
    } catch (err) {
      if (err instanceof ConfigError) return fail(ErrorCode.INVALID_CONFIG, err.message);
      throw err;
    }
    return OK;
  }

  /** AlterConfigs: the given set replaces every config of the resource. */
  replace(resourceType: number, resourceName: string, configs: readonly { name: string; value: string | null }[], validateOnly: boolean): MaybePromise<ConfigOutcome> {
    const names = configs.map((c) => c.name);
    if (new Set(names).size !== names.length) return fail(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys');
    if (resourceType === ResourceType.TOPIC) {
      const error = this.topicError(resourceName);
      if (error) return error;
      const next: Record<string, string | null> = {};
      for (const c of configs) next[c.name] = c.value;
      return this.applyTopic(resourceName, next, validateOnly);
    }
    if (resourceType === ResourceType.BROKER) {
      const error = this.brokerError(resourceName);
      if (error) return error;
      const next: Record<string, string> = {};
      // A null value in the legacy API means "not set".
      for (const c of configs) if (c.value !== null) next[c.name] = c.value;
      return this.applyBroker(resourceName, next, validateOnly);
    }
    return fail(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${resourceType}`);
  }

  /** IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT on the current set. */
  edit(resourceType: number, resourceName: string, edits: readonly ConfigEdit[], validateOnly: boolean): MaybePromise<ConfigOutcome> {
    const names = edits.map((e) => e.name);
    if (new Set(names).size !== names.length) return fail(ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys');
    let current: Record<string, string | null>;
    let listDefault: (name: string) => string | null;
    let isList: (name: string) => boolean;
    if (resourceType === ResourceType.TOPIC) {
      const error = this.topicError(resourceName);
      if (error) return error;
      const overrides = this.metadata.topic(resourceName)!.configs;
      current = { ...overrides };
      const layers = this.layers();
      listDefault = (name) => {
        const def = topicConfigDef(name);
        return def ? describeTopicConfig(def, {}, layers).value : null;
      };
      isList = (name) => topicConfigDef(name)?.type === 'LIST';
    } else if (resourceType === ResourceType.BROKER) {
      const error = this.brokerError(resourceName);
      if (error) return error;
      current = { ...(resourceName === '' ? this.dynamic.clusterDefault() : this.dynamic.perBroker(this.config.nodeId)) };
      listDefault = (name) => brokerConfigDef(name)?.defaultValue ?? null;
      isList = (name) => brokerConfigDef(name)?.type === 'LIST';
    } else {
      return fail(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${resourceType}`);
    }
    for (const e of edits) {
      switch (e.operation) {
        case ConfigOperation.SET:
          current[e.name] = e.value;
          break;
        case ConfigOperation.DELETE:
          delete current[e.name];
          break;
        case ConfigOperation.APPEND:
        case ConfigOperation.SUBTRACT: {
          const opName = e.operation === ConfigOperation.APPEND ? 'APPEND' : 'SUBTRACT';
          if (!isList(e.name)) return fail(ErrorCode.INVALID_CONFIG, `Can't ${opName} to key ${e.name} because its type is not LIST.`);
          const split = (text: string) => text.split(',').map((s) => s.trim()).filter((s) => s !== '');
          const parts = split(current[e.name] ?? listDefault(e.name) ?? '');
          const items = split(e.value ?? '');
          // Sets keep this linear: a request may carry a very long list.
          if (e.operation === ConfigOperation.APPEND) {
            const present = new Set(parts);
            for (const item of items) {
              if (present.has(item)) continue;
              present.add(item);
              parts.push(item);
            }
            current[e.name] = parts.join(',');
          } else {
            const removed = new Set(items);
            current[e.name] = parts.filter((p) => !removed.has(p)).join(',');
          }
          break;
        }
        default:
          return fail(ErrorCode.INVALID_REQUEST, `Unknown alter config operation type ${e.operation} for key ${e.name}`);
      }
    }
    if (resourceType === ResourceType.TOPIC) return this.applyTopic(resourceName, current, validateOnly);
    const next: Record<string, string> = {};
    for (const [k, v] of Object.entries(current)) if (v !== null) next[k] = v;
    const nulls = Object.entries(current).filter(([, v]) => v === null).map(([k]) => k);
    if (nulls.length > 0) return this.brokerInvalid(resourceName, `Null value not supported for : ${nulls.join(',')}`);
    return this.applyBroker(resourceName, next, validateOnly);
  }

  private topicError(name: string): ConfigOutcome | null {
    const nameError = topicNameError(name);
    if (nameError) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, nameError);
    if (!this.metadata.topic(name)) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
    return null;
  }

  private brokerError(name: string): ConfigOutcome | null {
    if (name === '') return null;
    if (!/^-?\d+$/.test(name.trim())) return fail(ErrorCode.INVALID_REQUEST, `Broker id must be an integer, but it is: ${name}`);
    if (Number(name) !== this.config.nodeId) {
      return fail(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${this.config.nodeId} or empty string, but received ${name}`);
    }
    return null;
  }

  // Kafka wraps broker-side validation failures this way (ConfigAdminManager).
  private brokerInvalid(resourceName: string, reason: string): ConfigOutcome {
    return fail(ErrorCode.INVALID_REQUEST, `Invalid config value for resource ConfigResource(type=BROKER, name='${resourceName}'): ${reason}`);
  }

  private applyTopic(name: string, next: Record<string, string | null>, validateOnly: boolean): MaybePromise<ConfigOutcome> {
    const invalid = this.validateTopicConfigs(next);
    if (invalid.errorCode !== ErrorCode.NONE) return invalid;
    if (validateOnly) return OK;
    const storing = this.metadata.setTopicConfigs(name, next as Record<string, string>);
    const done = (stored: Awaited<typeof storing>): ConfigOutcome => {
      if (!stored.ok) return fail(stored.errorCode, stored.message);
      this.refreshTopic(name);
      return OK;
    };
    // In a cluster the change is an etcd transaction; every broker refreshes its logs when its view has it.
    return storing instanceof Promise ? storing.then(done) : done(storing);
  }

  private applyBroker(resourceName: string, next: Record<string, string>, validateOnly: boolean): ConfigOutcome {
    const unknown = Object.keys(next).filter((n) => brokerConfigDef(n) === undefined);
    if (unknown.length > 0) return this.brokerInvalid(resourceName, `Unknown broker configs: ${unknown.join(', ')}`);
    const fixed = Object.keys(next).filter((n) => !brokerConfigDef(n)!.dynamic);
    if (fixed.length > 0) return this.brokerInvalid(resourceName, `Cannot update these configs dynamically: Set(${fixed.join(', ')})`);
    for (const [n, v] of Object.entries(next)) {
      const def = brokerConfigDef(n)!;
      const error = checkValue(n, def.type, v, def.check);
      if (error) return this.brokerInvalid(resourceName, error);
    }
    const clusterDefault = resourceName === '' ? next : this.dynamic.clusterDefault();
    const perBroker = resourceName === '' ? this.dynamic.perBroker(this.config.nodeId) : next;
    let log: LogConfig;
    try {
      log = logConfigFromBrokerProperties({ ...Object.fromEntries(this.config.raw), ...clusterDefault, ...perBroker });
    } catch (err) {
      if (err instanceof ConfigError) return this.brokerInvalid(resourceName, err.message);
      throw err;
    }
    if (validateOnly) return OK;
    this.dynamic.set(resourceName, next);
    this.config.log = log;
    for (const t of this.metadata.topics()) this.refreshTopic(t.name);
    return OK;
  }

  /** Pushes a topic's effective config to its open partition logs. */
  refreshTopic(name: string): void {
    const topic = this.metadata.topic(name);
    if (!topic) return;
    const config = withTopicOverrides(this.config.log, topic.configs);
    for (let p = 0; p < topic.partitionCount; p++) this.logs.getLog(name, p)?.updateConfig(config);
  }
}

export { ConfigSource };
