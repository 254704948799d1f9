// `samsa broker-api-versions` as a real process. The expected versions come
// from a hand-built ApiVersions v0 request on a raw socket, not from the
// client under test.
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../src/broker/broker.js';
import { clientVersionRange } from '../src/client/connection.js';
import { Reader } from '../src/protocol/codec.js';
import { API_REGISTRY, decodeApiVersionsResponse } from '../src/protocol/generated/index.js';
import { silentLogger } from '../src/storage/log.js';
import { runCli } from './support/cli.js';
import { tempDir } from './support/storage.js';

let broker: Broker;
let dataDir: string;

beforeAll(async () => {
  dataDir = tempDir('samsa-cli-apiv-');
  broker = await Broker.start({ port: 0, host: '127.0.0.1', dataDir, logger: silentLogger });
});

afterAll(async () => {
  await broker?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** ApiVersions v0 by hand: size, api key 18, version 0, correlation id 7, client id "raw". */
async function rawApiVersions(port: number): Promise<Map<number, [number, number]>> {
  const request = Buffer.from([0, 0, 0, 13, 0, 18, 0, 0, 0, 0, 0, 7, 0, 3, 0x72, 0x61, 0x77]);
  const frame = await new Promise<Buffer>((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(request));
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        socket.destroy();
        resolve(buf.subarray(4, 4 + buf.readInt32BE(0)));
      }
    });
    socket.on('error', reject);
  });
  expect(frame.readInt32BE(0)).toBe(7);
  const r = new Reader(frame, 4);
  const body = decodeApiVersionsResponse(r, 0);
  expect(r.ok).toBe(true);
  return new Map(body.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
}

describe('samsa broker-api-versions', { timeout: 300_000 }, () => {
  it("prints each advertised API with its range and the version this client uses, in Kafka's layout", async () => {
    const expected = await rawApiVersions(broker.port);
    const r = await runCli(['broker-api-versions', '--bootstrap-server', `127.0.0.1:${broker.port}`]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`${broker.self.host}:${broker.port} (id: ${broker.self.nodeId} rack: null isFenced: false) -> (`);
    expect(lines.at(-2)).toBe(')');
    expect(lines.at(-1)).toBe('');
    const body = lines.slice(1, -2);
    body.slice(0, -1).forEach((l) => expect(l).toMatch(/^\t.*,$/));
    const byKey = new Map(body.map((l) => [Number(/\((\d+)\)/.exec(l)![1]), l.replace(/^\t/, '').replace(/,$/, '')]));
    for (const [apiKey, [min, max]] of expected) {
      const name = API_REGISTRY.get(apiKey)!.name;
      const usable = Math.min(max, clientVersionRange(apiKey)!.maxVersion);
      const range = min === max ? `${min}` : `${min} to ${max}`;
      expect(byKey.get(apiKey)).toBe(`${name}(${apiKey}): ${range} [usable: ${usable}]`);
    }
    // Client APIs the broker lacks are listed as UNSUPPORTED, in key order.
    const keys = [...byKey.keys()];
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    for (const [apiKey, text] of byKey) if (!expected.has(apiKey)) expect(text).toMatch(/: UNSUPPORTED$/);
    expect(byKey.get(18)).toMatch(/^ApiVersions\(18\): /);
  });

  it('names an unreachable broker and exits 1', async () => {
    const r = await runCli(['broker-api-versions', '--bootstrap-server', '127.0.0.1:1']);
    expect(r).toMatchObject({ code: 1, stdout: '', stderr: 'Error: cannot connect to 127.0.0.1:1 (ECONNREFUSED)\n' });
  });

  it('gives up on a peer that accepts but never answers, within the connect timeout', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['broker-api-versions', '--bootstrap-server', `127.0.0.1:${port}`], { env: { SAMSA_CONNECT_TIMEOUT_MS: '1000' } });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`Error: cannot connect to 127.0.0.1:${port} (timed out after 1000 ms)\n`);
    } finally {
      silent.close();
    }
  });
});
