// A TCP proxy between a Kafka client and a broker that loses chosen Produce
// responses: the broker has appended and answered, the proxy drops the answer
// and closes both connections, so the client must retry a batch the broker
// already has. Requests pass through untouched; frames are parsed only to pair
// responses with their requests (by correlation id).
import net from 'node:net';

const PRODUCE_API_KEY = 0;

export class DroppingProxy {
  /** Produce requests seen (client to broker), retries included. */
  produceRequests = 0;
  /** Produce responses dropped so far. */
  droppedResponses = 0;
  private produceResponses = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    public targetPort: number,
    /** Called with the 1-based index of each Produce response; true drops it. */
    private readonly shouldDrop: (produceResponseIndex: number) => boolean,
  ) {}

  static start(targetPort: number, shouldDrop: (produceResponseIndex: number) => boolean): Promise<DroppingProxy> {
    const server = net.createServer();
    const proxy = new DroppingProxy(server, targetPort, shouldDrop);
    server.on('connection', (client) => proxy.pipe(client));
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(proxy)));
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  private pipe(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    const apiKeyOf = new Map<number, number>();
    let requestBytes = Buffer.alloc(0);
    let responseBytes = Buffer.alloc(0);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      requestBytes = Buffer.concat([requestBytes, chunk]);
      while (requestBytes.length >= 4 && requestBytes.length >= 4 + requestBytes.readInt32BE(0)) {
        const size = requestBytes.readInt32BE(0);
        const apiKey = requestBytes.readInt16BE(4);
        apiKeyOf.set(requestBytes.readInt32BE(8), apiKey);
        if (apiKey === PRODUCE_API_KEY) this.produceRequests++;
        requestBytes = requestBytes.subarray(4 + size);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      responseBytes = Buffer.concat([responseBytes, chunk]);
      while (responseBytes.length >= 8 && responseBytes.length >= 4 + responseBytes.readInt32BE(0)) {
        const size = responseBytes.readInt32BE(0);
        const correlationId = responseBytes.readInt32BE(4);
        const frame = responseBytes.subarray(0, 4 + size);
        responseBytes = responseBytes.subarray(4 + size);
        if (apiKeyOf.get(correlationId) === PRODUCE_API_KEY && this.shouldDrop(++this.produceResponses)) {
          this.droppedResponses++;
          closeBoth();
          return;
        }
        apiKeyOf.delete(correlationId);
        client.write(frame);
      }
    });
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
