// One TCP connection to one Kafka broker, as a client: size-prefixed frames,
// request header v1/v2 and response header v0/v1 by API and version (the
// generated rules), pipelined requests matched to responses by correlation
// id, and ApiVersions negotiation on connect so every request goes out at the
// highest version both sides implement.
//
// Bounds: a response frame larger than RESPONSE_BYTES_MAX closes the
// connection (a broker that sends a garbage length must not make us allocate
// it); every request has a timeout, after which the connection is closed and
// every pending request fails, as Kafka's NetworkClient does.
import net from 'node:net';
import { Reader, Writer } from '../protocol/codec.js';
import {
  API_REGISTRY,
  ApiKey,
  decodeApiVersionsResponse,
  decodeResponseHeader,
  encodeRequestHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  type ApiVersionsResponse,
} from '../protocol/generated/index.js';
import { ConnectionError, KafkaResponseError } from './errors.js';

// Fetch responses are bounded by the fetch max_bytes we ask for (50 MiB by
// default in Kafka's consumer); anything far above is a broken peer.
const RESPONSE_BYTES_MAX = 256 * 1024 * 1024;
const SIZE_PREFIX_BYTES = 4;
const UNSUPPORTED_VERSION = 35;
const CLOSE_LINGER_MS = 5000;
export const CLIENT_SOFTWARE_NAME = 'samsa-cli';
export const CLIENT_SOFTWARE_VERSION = '0.1.0';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId?: string;
  /** TCP connect plus ApiVersions negotiation. */
  connectTimeoutMs?: number;
  /** Default per-request timeout; long polls add their own wait on top. */
  requestTimeoutMs?: number;
}

export interface VersionRange {
  minVersion: number;
  maxVersion: number;
}

interface Pending {
  apiKey: number;
  apiVersion: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** The versions this client can encode: the generated codecs, minus versions still unstable upstream. */
export function clientVersionRange(apiKey: number): VersionRange | null {
  const info = API_REGISTRY.get(apiKey);
  if (!info) return null;
  const maxVersion = info.latestVersionUnstable ? info.maxVersion - 1 : info.maxVersion;
  return { minVersion: info.minVersion, maxVersion };
}

/** Highest version in both ranges, or null when they do not overlap. */
export function highestCommonVersion(client: VersionRange, broker: VersionRange): number | null {
  const max = Math.min(client.maxVersion, broker.maxVersion);
  const min = Math.max(client.minVersion, broker.minVersion);
  return max >= min ? max : null;
}

export class BrokerConnection {
  readonly host: string;
  readonly port: number;
  /** What the broker advertised in ApiVersions, by API key. */
  readonly brokerVersions = new Map<number, VersionRange>();
  private readonly socket: net.Socket;
  private readonly clientId: string;
  private readonly requestTimeoutMs: number;
  private readonly pending = new Map<number, Pending>();
  private nextCorrelationId = 1;
  private inbound: Buffer[] = [];
  private inboundBytes = 0;
  private closedError: Error | null = null;

  private constructor(socket: net.Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.host = options.host;
    this.port = options.port;
    this.clientId = options.clientId ?? CLIENT_SOFTWARE_NAME;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    // An idle connection must not keep a finished CLI alive; a pending request's timer keeps the process up while it waits.
    socket.unref();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(new ConnectionError(`connection to ${this.address} failed (${err.code ?? err.message})`)));
    socket.on('close', () => this.fail(new ConnectionError(`connection to ${this.address} closed by the broker`)));
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Connects and negotiates API versions; rejects with a ConnectionError naming the address and the reason. */
  static async connect(options: ConnectionOptions): Promise<BrokerConnection> {
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const address = `${options.host}:${options.port}`;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: options.host, port: options.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ConnectionError(`cannot connect to ${address} (timed out after ${timeoutMs} ms)`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        s.destroy();
        reject(new ConnectionError(`cannot connect to ${address} (${err.code ?? err.message})`));
      });
    });
    socket.setNoDelay(true);
    const conn = new BrokerConnection(socket, options);
    try {
      await conn.negotiate(timeoutMs);
    } catch (err) {
      conn.close();
      // A peer that accepts but never speaks Kafka is as unreachable as a closed port.
      if (err instanceof RequestTimeoutError) throw new ConnectionError(`cannot connect to ${address} (timed out after ${timeoutMs} ms)`);
      if (err instanceof ConnectionError) throw new ConnectionError(`cannot connect to ${address} (${err.message})`);
      throw err;
    }
    return conn;
  }

  /** ApiVersions at our newest version; a broker that does not know it answers v0 with its range, and we retry at that. */
  private async negotiate(timeoutMs: number): Promise<void> {
    const ours = clientVersionRange(ApiKey.ApiVersions)!;
    let version = ours.maxVersion;
    for (let attempt = 0; attempt < 2; attempt++) {
      const response = await this.send<ApiVersionsResponse>(
        ApiKey.ApiVersions,
        version,
        { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION },
        timeoutMs,
      );
      if (response.errorCode === UNSUPPORTED_VERSION) {
        const theirs = response.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions);
        const retry = theirs ? highestCommonVersion(ours, theirs) : null;
        if (retry === null || retry === version) break;
        version = retry;
        continue;
      }
      if (response.errorCode !== 0) throw new KafkaResponseError(response.errorCode);
      for (const k of response.apiKeys) this.brokerVersions.set(k.apiKey, { minVersion: k.minVersion, maxVersion: k.maxVersion });
      return;
    }
    throw new ConnectionError(`${this.address} does not support any ApiVersions version this client knows`);
  }

  /** Whether the broker advertises the API at a version this client can encode. */
  supports(apiKey: number): boolean {
    const ours = clientVersionRange(apiKey);
    const theirs = this.brokerVersions.get(apiKey);
    return ours !== null && theirs !== undefined && highestCommonVersion(ours, theirs) !== null;
  }

  /** The highest version both sides implement; throws when there is none. */
  versionFor(apiKey: number): number {
    const ours = clientVersionRange(apiKey);
    const theirs = this.brokerVersions.get(apiKey);
    const name = API_REGISTRY.get(apiKey)?.name ?? `API ${apiKey}`;
    if (!ours || !theirs) throw new UnsupportedApiError(`The broker ${this.address} does not support ${name}`);
    const version = highestCommonVersion(ours, theirs);
    if (version === null) {
      throw new UnsupportedApiError(
        `The broker ${this.address} does not support ${name} with version in range [${ours.minVersion},${ours.maxVersion}]. ` +
          `The supported range is [${theirs.minVersion},${theirs.maxVersion}].`,
      );
    }
    return version;
  }

  /** Sends one request at the negotiated version. */
  request<Res>(apiKey: number, body: (version: number) => unknown, timeoutMs?: number): Promise<Res> {
    const version = this.versionFor(apiKey);
    return this.send<Res>(apiKey, version, body(version), timeoutMs);
  }

  /**
   * Sends one request at `version`. Requests may be pipelined; each resolves
   * with its decoded response body. `expectResponse: false` (Produce acks=0)
   * resolves once the bytes are handed to the socket.
   */
  send<Res>(apiKey: number, version: number, body: unknown, timeoutMs = this.requestTimeoutMs, expectResponse = true): Promise<Res> {
    if (this.closedError) return Promise.reject(this.closedError);
    const info = API_REGISTRY.get(apiKey);
    if (!info) return Promise.reject(new Error(`unknown API key ${apiKey}`));
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    const w = new Writer();
    w.int32(0); // size, patched below
    encodeRequestHeader(w, requestHeaderVersion(apiKey, version), {
      requestApiKey: apiKey,
      requestApiVersion: version,
      correlationId,
      clientId: this.clientId,
    });
    info.request.encode(w, version, body);
    const chunks = w.finish();
    chunks[0].writeInt32BE(w.byteLength - SIZE_PREFIX_BYTES, 0);
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
    if (!expectResponse) return Promise.resolve(undefined as Res);
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new RequestTimeoutError(`request ${info.name} v${version} to ${this.address} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, { apiKey, apiVersion: version, resolve: resolve as (b: unknown) => void, reject, timer });
    });
  }

  private onData(chunk: Buffer): void {
    this.inbound.push(chunk);
    this.inboundBytes += chunk.length;
    while (this.inboundBytes >= SIZE_PREFIX_BYTES) {
      const head = this.inbound[0].length >= SIZE_PREFIX_BYTES ? this.inbound[0] : this.coalesce();
      const size = head.readInt32BE(0);
      if (size < 0 || size > RESPONSE_BYTES_MAX) {
        this.fail(new ConnectionError(`${this.address} sent a response frame of ${size} bytes (limit ${RESPONSE_BYTES_MAX})`));
        return;
      }
      if (this.inboundBytes < SIZE_PREFIX_BYTES + size) return;
      const all = this.coalesce();
      const frame = all.subarray(SIZE_PREFIX_BYTES, SIZE_PREFIX_BYTES + size);
      const rest = all.subarray(SIZE_PREFIX_BYTES + size);
      this.inbound = rest.length > 0 ? [rest] : [];
      this.inboundBytes = rest.length;
      this.onFrame(frame);
      if (this.closedError) return;
    }
  }

  private coalesce(): Buffer {
    if (this.inbound.length > 1) this.inbound = [Buffer.concat(this.inbound, this.inboundBytes)];
    return this.inbound[0];
  }

  private onFrame(frame: Buffer): void {
    if (frame.length < 4) return this.fail(new ConnectionError(`${this.address} sent a response frame of ${frame.length} bytes`));
    const pending = this.pending.get(frame.readInt32BE(0));
    if (!pending) return this.fail(new ConnectionError(`${this.address} answered an unknown correlation id ${frame.readInt32BE(0)}`));
    this.pending.delete(frame.readInt32BE(0));
    clearTimeout(pending.timer);
    const r = new Reader(frame);
    decodeResponseHeader(r, responseHeaderVersion(pending.apiKey, pending.apiVersion));
    const info = API_REGISTRY.get(pending.apiKey)!;
    const bodyStart = r.pos;
    const body = info.response.decode(r, pending.apiVersion);
    if (pending.apiKey === ApiKey.ApiVersions && (!r.ok || (body as ApiVersionsResponse).errorCode === UNSUPPORTED_VERSION)) {
      // A broker answers an ApiVersions version it does not know with a v0 body (KIP-511).
      const v0 = new Reader(frame, bodyStart);
      const fallback = decodeApiVersionsResponse(v0, 0);
      if (v0.ok) {
        pending.resolve(fallback);
        return;
      }
    }
    if (!r.ok) {
      pending.reject(new ConnectionError(`cannot parse the ${info.name} v${pending.apiVersion} response from ${this.address}: ${r.error}`));
      return;
    }
    pending.resolve(body);
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    this.socket.destroy();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /**
   * Closes after the bytes already written reach the broker (acks=0 produce
   * requests have nothing else to wait for); pending requests fail.
   */
  close(): void {
    if (this.closedError) return;
    this.closedError = new ConnectionError(`connection to ${this.address} closed`);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.closedError);
    }
    this.pending.clear();
    this.socket.end();
    // A broker that never closes its side must not keep the process alive.
    setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS).unref();
  }
}

/** A request got no answer in time; the connection is closed, as Kafka's NetworkClient does. */
export class RequestTimeoutError extends ConnectionError {}

/** The broker does not implement an API (or no version this client can speak). */
export class UnsupportedApiError extends Error {}
