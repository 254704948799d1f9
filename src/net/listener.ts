// A TCP listener for Kafka clients: accepts connections up to max.connections,
// hands each to a Connection, and shuts down gracefully (stop accepting, answer
// what was read, close).
import net from 'node:net';
import { Connection, DEFAULT_CONNECTION_OPTIONS, type ConnectionLogger, type ConnectionOptions, type RequestHandler } from './connection.js';

/** max.connections default: Kafka's is Integer.MAX_VALUE; a finite bound keeps fds in check. */
export const MAX_CONNECTIONS_DEFAULT = 10_000;

export interface ListenerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  handler: RequestHandler;
  maxConnections?: number;
  connection?: Partial<ConnectionOptions>;
  logger?: ConnectionLogger;
}

export class Listener {
  private readonly connections = new Set<Connection>();
  private closing = false;

  private constructor(
    private readonly server: net.Server,
    private readonly options: ListenerOptions,
    private readonly connectionOptions: ConnectionOptions,
    private readonly logger: ConnectionLogger,
  ) {}

  static async start(options: ListenerOptions): Promise<Listener> {
    // Paused: the Connection chooses how the socket is read before any byte is.
    const server = net.createServer({ noDelay: true, pauseOnConnect: true });
    const connectionOptions = { ...DEFAULT_CONNECTION_OPTIONS, ...options.connection };
    const logger = options.logger ?? { warn: (m: string) => console.warn(`[samsa] WARN ${m}`) };
    const listener = new Listener(server, options, connectionOptions, logger);
    server.on('connection', (socket) => listener.accept(socket));
    server.on('error', (err) => logger.warn(`listener ${options.host}:${options.port}: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return listener;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : this.options.port;
  }

  get host(): string {
    return this.options.host;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: net.Socket): void {
    const max = this.options.maxConnections ?? MAX_CONNECTIONS_DEFAULT;
    if (this.closing || this.connections.size >= max) {
      const peer = `${socket.remoteAddress}:${socket.remotePort}`;
      if (!this.closing) this.logger.warn(`refusing connection from ${peer}: max.connections (${max}) reached`, { peer, reason: 'max.connections' });
      socket.destroy();
      return;
    }
    const connection = new Connection(socket, this.options.handler, this.connectionOptions, this.logger);
    this.connections.add(connection);
    connection.onClosed(() => this.connections.delete(connection));
  }

  /**
   * Stops accepting, lets every connection answer the requests it has read
   * (up to timeoutMs), then closes them.
   */
  async close(timeoutMs = 30_000): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.connections].map((c) => c.closeGracefully(timeoutMs)));
    for (const c of this.connections) c.close();
    await closed;
  }
}
