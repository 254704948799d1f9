// Turns request frames into handler calls and handler results into response
// frames. One handler per API key (src/net/handlers/NN-name.ts) declares the
// versions it implements; ApiVersions advertises exactly those.
//
// Frame in:  header (v0/v1/v2 by API and version) + body, decoded with the
//            generated codecs; a request that does not parse closes the
//            connection with one log line (Kafka does the same).
// Frame out: int32 size + response header (v0/v1) + body; the body's chunks are
//            passed by reference (records are not copied).
import { REF_BYTES_MIN, Reader, Writer } from '../protocol/codec.js';
import { ErrorCode } from '../protocol/error-codes.js';
import {
  API_REGISTRY,
  ApiKey,
  decodeRequestHeader,
  encodeResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  type RequestHeader,
} from '../protocol/generated/index.js';
import type { ConnectionInfo, RequestHandler } from './connection.js';
import type { FileRange, SendPart } from './sender.js';

// apiKey, apiVersion, correlationId: what every header version starts with.
const HEADER_PREFIX_BYTES = 8;

export interface RequestContext {
  header: RequestHeader;
  apiVersion: number;
  connection: ConnectionInfo;
}

export interface ApiHandler<Req = unknown, Res = unknown> {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
  /** The response body, or null when none is sent (Produce acks=0). */
  handle(request: Req, context: RequestContext): Promise<Res | ZeroCopyResponse<Res> | null> | Res | ZeroCopyResponse<Res> | null;
}

export interface SupportedApi {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface DispatcherLogger {
  warn(message: string): void;
}

export class RequestError extends Error {}

/**
 * Sees every request once, after its response is ready (or its handling
 * failed): metrics. Runs on the request path, so it must be cheap; it gets
 * the decoded response body (null for no response) to read error codes from,
 * never record data.
 */
export interface RequestObserver {
  observeRequest(outcome: RequestOutcome): void;
}

export interface RequestOutcome {
  apiKey: number;
  apiVersion: number;
  /** The frame including its 4-byte size prefix. */
  requestBytes: number;
  /** The response frame including its size prefix, file ranges counted by length; 0 when none is sent. */
  responseBytes: number;
  /** From the frame's arrival at the dispatcher to the response being ready to send. */
  durationMs: number;
  body: unknown;
  /** Set when handling threw (the connection is then closed). */
  error: unknown;
}

/**
 * A response whose records fields include placeholders: Buffers (views of no
 * real data) that the dispatcher replaces with file ranges after encoding, so
 * record bytes go from the page cache to the socket without entering user space.
 */
export class ZeroCopyResponse<Res> {
  constructor(
    readonly body: Res,
    readonly fileRanges: ReadonlyMap<Buffer, FileRange>,
  ) {}
}

// Placeholders are views of one large, never-written ArrayBuffer: no allocation
// per fetch, and untouched pages cost no memory.
const PLACEHOLDER_BYTES_MAX = 256 * 1024 * 1024;
let placeholderBacking: ArrayBuffer | null = null;

/** A distinct Buffer of `length` bytes standing for a file range (length >= REF_BYTES_MIN). */
export function fileRangePlaceholder(length: number): Buffer {
  if (length < REF_BYTES_MIN || length > PLACEHOLDER_BYTES_MAX) throw new RangeError(`placeholder length ${length}`);
  placeholderBacking ??= new ArrayBuffer(PLACEHOLDER_BYTES_MAX);
  return Buffer.from(placeholderBacking, 0, length);
}

export { REF_BYTES_MIN };

/**
 * Kafka 4.0 advertises Produce from v0 though it serves only v3+ (KAFKA-18659):
 * librdkafka before 2.10 enables gzip, snappy and lz4 only when the broker
 * lists Produce v0-v2, and would otherwise send every batch uncompressed.
 * Requests below the handler's minimum still close the connection.
 */
const ADVERTISED_MIN_VERSION = new Map<number, number>([[ApiKey.Produce, 0]]);

export class Dispatcher {
  private readonly handlers = new Map<number, ApiHandler>();
  private observer: RequestObserver | null = null;

  constructor(private readonly logger: DispatcherLogger) {}

  register<Req, Res>(handler: ApiHandler<Req, Res>): void {
    const info = API_REGISTRY.get(handler.apiKey);
    if (!info) throw new Error(`no schema for API key ${handler.apiKey}`);
    if (handler.minVersion < info.minVersion || handler.maxVersion > info.maxVersion) {
      throw new Error(`${info.name}: versions ${handler.minVersion}-${handler.maxVersion} outside the schema's ${info.minVersion}-${info.maxVersion}`);
    }
    this.handlers.set(handler.apiKey, handler as ApiHandler);
  }

  /** What ApiVersions advertises: exactly the registered handlers and their versions. */
  supportedApis(): SupportedApi[] {
    return [...this.handlers.values()]
      .map((h) => ({ apiKey: h.apiKey, minVersion: ADVERTISED_MIN_VERSION.get(h.apiKey) ?? h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  /** Installs the one request observer (null removes it); unobserved requests pay nothing for the hook. */
  setObserver(observer: RequestObserver | null): void {
    this.observer = observer;
  }

  readonly handle: RequestHandler = (frame, connection) => {
    if (this.observer === null) return this.process(frame, connection, null);
    return this.processObserved(this.observer, frame, connection);
  };

  private async processObserved(observer: RequestObserver, frame: Buffer, connection: ConnectionInfo): Promise<readonly SendPart[] | null> {
    const startMs = performance.now();
    const seen: SeenResponse = { body: null };
    const outcome: RequestOutcome = {
      apiKey: frame.length >= 2 ? frame.readInt16BE(0) : -1,
      apiVersion: frame.length >= 4 ? frame.readInt16BE(2) : -1,
      requestBytes: frame.length + 4,
      responseBytes: 0,
      durationMs: 0,
      body: null,
      error: null,
    };
    try {
      const parts = await this.process(frame, connection, seen);
      if (parts !== null) for (const part of parts) outcome.responseBytes += part.length;
      outcome.body = seen.body;
      return parts;
    } catch (err) {
      outcome.error = err;
      throw err;
    } finally {
      outcome.durationMs = performance.now() - startMs;
      try {
        observer.observeRequest(outcome);
      } catch {
        // Metrics must never break request handling.
      }
    }
  }

  private async process(frame: Buffer, connection: ConnectionInfo, seen: SeenResponse | null): Promise<readonly SendPart[] | null> {
    if (frame.length < HEADER_PREFIX_BYTES) throw new RequestError(`request of ${frame.length} bytes is shorter than a header`);
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const correlationId = frame.readInt32BE(4);
    const handler = this.handlers.get(apiKey);
    const info = API_REGISTRY.get(apiKey);
    if (!handler || !info || apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === ApiKey.ApiVersions) return this.unsupportedApiVersions(correlationId);
      throw new RequestError(
        `unsupported request: API key ${apiKey}${info ? ` (${info.name})` : ''} version ${apiVersion}` +
          (handler ? ` (supported ${handler.minVersion}-${handler.maxVersion})` : ' (not supported by this broker)'),
      );
    }
    const reader = new Reader(frame);
    const header = decodeRequestHeader(reader, requestHeaderVersion(apiKey, apiVersion));
    const request = info.request.decode(reader, apiVersion);
    if (!reader.ok) throw new RequestError(`malformed ${info.name} v${apiVersion} request: ${reader.error}`);
    const response = await handler.handle(request, { header, apiVersion, connection });
    if (seen !== null) seen.body = response instanceof ZeroCopyResponse ? response.body : response;
    if (response === null) return null;
    if (response instanceof ZeroCopyResponse) {
      const parts = this.encode(apiKey, apiVersion, correlationId, (w) => info.response.encode(w, apiVersion, response.body));
      return substituteFileRanges(parts, response.fileRanges);
    }
    return this.encode(apiKey, apiVersion, correlationId, (w) => info.response.encode(w, apiVersion, response));
  }

  /**
   * A client asking ApiVersions at a version we do not know gets a v0 answer
   * with UNSUPPORTED_VERSION and our versions, so it can retry at one we know.
   */
  private unsupportedApiVersions(correlationId: number): readonly SendPart[] {
    const info = API_REGISTRY.get(ApiKey.ApiVersions)!;
    const body = { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: this.supportedApis() };
    return this.encode(ApiKey.ApiVersions, 0, correlationId, (w) => info.response.encode(w, 0, body));
  }

  private encode(apiKey: number, apiVersion: number, correlationId: number, body: (w: Writer) => void): readonly SendPart[] {
    const w = new Writer();
    encodeResponseHeader(w, responseHeaderVersion(apiKey, apiVersion), { correlationId });
    body(w);
    const chunks = w.finish();
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    const size = Buffer.allocUnsafe(4);
    size.writeInt32BE(bytes);
    return [size, ...chunks];
  }
}

interface SeenResponse {
  body: unknown;
}

/** Swaps placeholder chunks for their file ranges; every placeholder must have been passed by reference. */
function substituteFileRanges(parts: readonly SendPart[], fileRanges: ReadonlyMap<Buffer, FileRange>): SendPart[] {
  let found = 0;
  const out = parts.map((part) => {
    const range = part instanceof Buffer ? fileRanges.get(part) : undefined;
    if (range === undefined) return part;
    found++;
    return range;
  });
  // A placeholder the encoder copied would send zeros instead of records: refuse.
  if (found !== fileRanges.size) throw new Error(`zero-copy response: ${fileRanges.size - found} record placeholders were copied`);
  return out;
}
