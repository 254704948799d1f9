// A small Kafka client for the CLI tools: bootstrap from a server list,
// Metadata for the broker map and partition leaders, one cached connection
// per broker (each negotiated through ApiVersions), requests routed to the
// partition leader or, for admin requests, to the controller the metadata
// names. Talks the Kafka protocol only, so it works against any Kafka broker.
import { ZERO_UUID } from '../protocol/codec.js';
import { ApiKey, type MetadataRequest, type MetadataResponse } from '../protocol/generated/index.js';
import { BrokerConnection, type ConnectionOptions } from './connection.js';
import { ConnectionError, KafkaResponseError } from './errors.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface ClientOptions {
  /** `host:port[,host:port...]` as Kafka's --bootstrap-server. */
  bootstrapServers: string;
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface BrokerNode {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/** Parses `h:p,h2:p2` (IPv6 as `[::1]:9092`). Throws with the offending entry. */
export function parseBootstrapServers(list: string): HostPort[] {
  const out: HostPort[] = [];
  for (const raw of list.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const match = /^\[([^\]]+)\]:(\d+)$/.exec(entry) ?? /^([^:]+):(\d+)$/.exec(entry);
    const port = match ? Number(match[2]) : NaN;
    if (!match || !(port > 0 && port < 65536)) {
      throw new Error(`Invalid url in bootstrap.servers: ${entry}`);
    }
    out.push({ host: match[1], port });
  }
  if (out.length === 0) throw new Error('No resolvable bootstrap urls given in bootstrap.servers');
  return out;
}

export class KafkaClient {
  readonly brokers = new Map<number, BrokerNode>();
  controllerId = -1;
  clusterId: string | null = null;
  private readonly connections = new Map<number, Promise<BrokerConnection>>();
  /** The bootstrap reconnect in progress, shared by concurrent callers so none opens a socket that nothing will close. */
  private reopening: Promise<BrokerConnection> | null = null;
  private closed = false;

  private constructor(
    private bootstrapConn: BrokerConnection,
    private readonly servers: HostPort[],
    private readonly connectionOptions: Omit<ConnectionOptions, 'host' | 'port'>,
  ) {}

  /** The connection metadata and config requests use. */
  get bootstrap(): BrokerConnection {
    return this.bootstrapConn;
  }

  /** The bootstrap connection, reopened (to any bootstrap server) when the broker closed it. */
  async bootstrapConnection(): Promise<BrokerConnection> {
    if (!this.bootstrapConn.closed) return this.bootstrapConn;
    if (this.closed) throw new ConnectionError('the client is closed');
    this.reopening ??= connectAny(this.servers, this.connectionOptions).then(
      (conn) => {
        this.reopening = null;
        if (this.closed) {
          conn.close();
          throw new ConnectionError('the client is closed');
        }
        this.bootstrapConn = conn;
        return conn;
      },
      (err: unknown) => {
        this.reopening = null;
        throw err;
      },
    );
    return this.reopening;
  }

  /** Connects to the first reachable bootstrap server; the error names every one that failed. */
  static async connect(options: ClientOptions): Promise<KafkaClient> {
    const servers = parseBootstrapServers(options.bootstrapServers);
    const connectionOptions = {
      clientId: options.clientId,
      connectTimeoutMs: options.connectTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
    };
    return new KafkaClient(await connectAny(servers, connectionOptions), servers, connectionOptions);
  }

  /** Metadata for `topics` (null: all topics); refreshes the broker map. */
  async metadata(topics: string[] | null, allowAutoTopicCreation = false): Promise<MetadataResponse> {
    const conn = await this.bootstrapConnection();
    const response = await conn.request<MetadataResponse>(ApiKey.Metadata, (version): MetadataRequest => ({
      // Metadata v0 reads an empty list as "all topics"; later versions use null.
      topics: topics === null ? (version === 0 ? [] : null) : topics.map((name) => ({ name, topicId: ZERO_UUID })),
      allowAutoTopicCreation,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    }));
    this.brokers.clear();
    for (const b of response.brokers) {
      this.brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null });
    }
    this.controllerId = response.controllerId ?? -1;
    this.clusterId = response.clusterId ?? null;
    return response;
  }

  /** The connection to broker `nodeId` (from the last metadata), opened once. */
  connection(nodeId: number): Promise<BrokerConnection> {
    if (this.closed) return Promise.reject(new ConnectionError('the client is closed'));
    const cached = this.connections.get(nodeId);
    if (cached) {
      return cached.then((c) => {
        if (!c.closed) return c;
        this.connections.delete(nodeId);
        return this.connection(nodeId);
      });
    }
    const node = this.brokers.get(nodeId);
    if (!node) return Promise.reject(new KafkaResponseError(5, `broker ${nodeId} is not in the cluster metadata`));
    const opening =
      node.host === this.bootstrapConn.host && node.port === this.bootstrapConn.port && !this.bootstrapConn.closed
        ? Promise.resolve(this.bootstrapConn)
        : BrokerConnection.connect({ host: node.host, port: node.port, ...this.connectionOptions });
    this.connections.set(nodeId, opening);
    opening.catch(() => this.connections.delete(nodeId));
    return opening;
  }

  /** Where admin requests go: the controller named by metadata (any broker in KRaft forwards), else the bootstrap. */
  async adminConnection(): Promise<BrokerConnection> {
    if (this.brokers.size === 0) await this.metadata([]);
    if (this.controllerId >= 0 && this.brokers.has(this.controllerId)) return this.connection(this.controllerId);
    return this.bootstrapConnection();
  }

  close(): void {
    this.closed = true;
    for (const c of this.connections.values()) c.then((conn) => conn.close(), () => undefined);
    this.connections.clear();
    this.bootstrapConn.close();
  }
}

async function connectAny(servers: HostPort[], options: Omit<ConnectionOptions, 'host' | 'port'>): Promise<BrokerConnection> {
  const failures: string[] = [];
  for (const server of servers) {
    try {
      return await BrokerConnection.connect({ ...server, ...options });
    } catch (err) {
      if (!(err instanceof ConnectionError)) throw err;
      failures.push(err.message);
    }
  }
  throw new ConnectionError(failures.join('; '));
}
