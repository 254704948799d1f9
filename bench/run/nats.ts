// A minimal NATS JetStream publisher for scenario 9 (no client library): the
// NATS text protocol over one TCP connection, PUB with a reply inbox so every
// message gets a JetStream ack (a MSG on the inbox once the stream stored it),
// with up to `window` messages awaiting their ack. Publishes are pre-encoded.
import net from 'node:net';

export interface NatsPublishResult {
  seconds: number;
  acked: number;
  latencyMs: { p50: number; p99: number };
}

class NatsConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly waiters: ((line: string, payload: Buffer | null) => boolean)[] = [];
  onMessage: ((subject: string, payload: Buffer) => void) | null = null;
  failure: Error | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.data(chunk));
    socket.on('error', (err) => (this.failure = err));
  }

  static async connect(port: number): Promise<NatsConnection> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new NatsConnection(socket);
    const pong = c.next((line) => line === 'PONG');
    socket.write('CONNECT {"verbose":false,"pedantic":false,"headers":false,"name":"samsa-bench"}\r\nPING\r\n');
    await pong;
    return c;
  }

  /** Resolves when a line (with its payload for MSG) satisfies `match`. */
  next(match: (line: string, payload: Buffer | null) => boolean): Promise<void> {
    return new Promise((resolve) => this.waiters.push((l, p) => (match(l, p) ? (resolve(), true) : false)));
  }

  private data(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    for (;;) {
      const eol = this.buffered.indexOf('\r\n');
      if (eol < 0) return;
      const line = this.buffered.toString('latin1', 0, eol);
      let payload: Buffer | null = null;
      let used = eol + 2;
      if (line.startsWith('MSG ')) {
        const parts = line.split(' ');
        const size = Number(parts[parts.length - 1]);
        if (this.buffered.length < used + size + 2) return;
        payload = this.buffered.subarray(used, used + size);
        used += size + 2;
        this.onMessage?.(parts[1], payload);
      } else if (line === 'PING') {
        this.socket.write('PONG\r\n');
      } else if (line.startsWith('-ERR')) {
        this.failure = new Error(`nats: ${line}`);
      }
      this.buffered = this.buffered.subarray(used);
      const i = this.waiters.findIndex((w) => w(line, payload));
      if (i >= 0) this.waiters.splice(i, 1);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Creates a file-storage stream `name` on `subject` and publishes `count` messages of `valueBytes`. */
export async function natsPublish(port: number, name: string, subject: string, count: number, valueBytes: number, window: number): Promise<NatsPublishResult> {
  const c = await NatsConnection.connect(port);
  try {
    const config = JSON.stringify({ name, subjects: [subject], storage: 'file', retention: 'limits', discard: 'old', num_replicas: 1 });
    const created = c.next((line, payload) => line.startsWith('MSG _INBOX.create ') && payload !== null);
    let createAnswer = '';
    c.onMessage = (s, p) => {
      if (s === '_INBOX.create') createAnswer = p.toString();
    };
    c.socket.write(`SUB _INBOX.create 1\r\nPUB $JS.API.STREAM.CREATE.${name} _INBOX.create ${Buffer.byteLength(config)}\r\n${config}\r\n`);
    await created;
    if (createAnswer.includes('"error"')) throw new Error(`nats stream create: ${createAnswer}`);

    const value = Buffer.alloc(valueBytes, 0x61);
    const sentAt = new Float64Array(count);
    const latencies: number[] = [];
    let acked = 0;
    let sent = 0;
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => (done = resolve));
    const send = () => {
      const parts: Buffer[] = [];
      while (sent < count && sent - acked < window) {
        parts.push(Buffer.from(`PUB ${subject} _INBOX.ack.${sent} ${valueBytes}\r\n`), value, Buffer.from('\r\n'));
        sentAt[sent] = performance.now();
        sent++;
      }
      if (parts.length) c.socket.write(Buffer.concat(parts));
    };
    c.onMessage = (s, p) => {
      if (!s.startsWith('_INBOX.ack.')) return;
      if (p.includes('"error"')) {
        c.failure = new Error(`nats publish: ${p.toString()}`);
        done();
        return;
      }
      latencies.push(performance.now() - sentAt[Number(s.slice('_INBOX.ack.'.length))]);
      if (++acked === count) done();
      else send();
    };
    c.socket.write('SUB _INBOX.ack.* 2\r\n');
    const t0 = performance.now();
    send();
    await finished;
    if (c.failure) throw c.failure;
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length - 1) * q))];
    return { seconds, acked, latencyMs: { p50: pct(0.5), p99: pct(0.99) } };
  } finally {
    c.close();
  }
}
