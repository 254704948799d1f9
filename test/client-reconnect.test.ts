// The CLI's client reopens its bootstrap connection after a broker restart.
// Callers that need it at the same moment (a fetch loop, a heartbeat, a
// rejoin) must share one new socket: a second one would be dropped unclosed
// and keep a finished console-consumer alive after Ctrl-C.
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { KafkaClient } from '../src/client/client.js';
import { ConnectionError } from '../src/client/errors.js';
import { silentLogger } from '../src/storage/log.js';
import { tempDir } from './support/storage.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startBroker(dataDir: string, port = 0): Promise<Broker> {
  const broker = await Broker.start({ port, host: '127.0.0.1', dataDir, logger: silentLogger });
  cleanups.push(() => broker.close());
  return broker;
}

describe('KafkaClient bootstrap reconnect', () => {
  it('opens one connection for concurrent callers after the broker restarts, and none once closed', async () => {
    const dataDir = tempDir();
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    const first = await startBroker(dataDir);
    const port = first.port;
    const client = await KafkaClient.connect({ bootstrapServers: `127.0.0.1:${port}` });
    cleanups.push(() => client.close());
    const before = client.bootstrap;
    await first.close();
    await expect.poll(() => before.closed).toBe(true);
    await startBroker(dataDir, port);

    const conns = await Promise.all(Array.from({ length: 5 }, () => client.bootstrapConnection()));
    expect(new Set(conns).size).toBe(1);
    expect(conns[0]).not.toBe(before);
    expect(conns[0].closed).toBe(false);
    expect(client.bootstrap).toBe(conns[0]);

    client.close();
    expect(conns[0].closed).toBe(true);
    await expect(client.bootstrapConnection()).rejects.toBeInstanceOf(ConnectionError);
    await expect(client.connection(0)).rejects.toBeInstanceOf(ConnectionError);
  });
});
