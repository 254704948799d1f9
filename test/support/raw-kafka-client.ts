// A minimal Kafka client over one real socket, encoding and decoding with the
// generated codecs: tests speak the wire protocol at exact versions. Requests
// may be pipelined; responses are matched by correlation id.
import net from 'node:net';
import { Reader, Writer } from '../../src/protocol/codec.js';
import { API_REGISTRY, decodeResponseHeader, encodeRequestHeader, requestHeaderVersion, responseHeaderVersion } from '../../src/protocol/generated/index.js';

interface Pending {
  apiKey: number;
  version: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
}

export class RawKafkaClient {
  private buffered: Buffer = Buffer.alloc(0);
  private nextCorrelationId = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawKafkaClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => {
        socket.off('error', reject);
        resolve(new RawKafkaClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Sends one request and resolves with its decoded response body. */
  request<Res = unknown>(apiKey: number, version: number, body: unknown): Promise<Res> {
    const info = API_REGISTRY.get(apiKey);
    if (!info) throw new Error(`no schema for API key ${apiKey}`);
    const correlationId = this.nextCorrelationId++;
    const w = new Writer();
    encodeRequestHeader(w, requestHeaderVersion(apiKey, version), { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId: 'raw-test' });
    info.request.encode(w, version, body);
    const payload = w.toBuffer();
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length);
    return new Promise<Res>((resolve, reject) => {
      this.pending.set(correlationId, { apiKey, version, resolve: resolve as (b: unknown) => void, reject });
      this.socket.write(Buffer.concat([size, payload]));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readInt32BE(0)) {
      const frame = this.buffered.subarray(4, 4 + this.buffered.readInt32BE(0));
      this.buffered = this.buffered.subarray(4 + frame.length);
      const correlationId = frame.readInt32BE(0);
      const p = this.pending.get(correlationId);
      if (!p) throw new Error(`response for unknown correlation id ${correlationId}`);
      this.pending.delete(correlationId);
      const r = new Reader(frame);
      decodeResponseHeader(r, responseHeaderVersion(p.apiKey, p.version));
      const body = API_REGISTRY.get(p.apiKey)!.response.decode(r, p.version);
      if (!r.ok || r.remaining !== 0) p.reject(new Error(`malformed response (api ${p.apiKey} v${p.version}): ${r.error ?? `${r.remaining} bytes left`}`));
      else p.resolve(body);
    }
  }
}
