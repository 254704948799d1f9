// The dispatcher and ApiVersions over real sockets, encoded and decoded on the
// client side with the generated codecs.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Dispatcher } from '../src/net/dispatcher.js';
import { apiVersionsHandler } from '../src/net/handlers/18-api-versions.js';
import { Listener } from '../src/net/listener.js';
import { Reader, Writer } from '../src/protocol/codec.js';
import {
  ApiKey,
  decodeApiVersionsResponse,
  decodeResponseHeader,
  encodeApiVersionsRequest,
  encodeRequestHeader,
  requestHeaderVersion,
  type ApiVersionsResponse,
} from '../src/protocol/generated/index.js';

const listeners: Listener[] = [];
afterEach(async () => {
  for (const l of listeners.splice(0)) await l.close(1000);
});

async function startBroker(warnings: string[] = []) {
  const logger = { warn: (m: string) => warnings.push(m) };
  const dispatcher = new Dispatcher(logger);
  dispatcher.register(apiVersionsHandler(dispatcher));
  const l = await Listener.start({ host: '127.0.0.1', port: 0, handler: dispatcher.handle, logger });
  listeners.push(l);
  return l;
}

function request(apiKey: number, apiVersion: number, correlationId: number, body: (w: Writer) => void): Buffer {
  const w = new Writer();
  encodeRequestHeader(w, requestHeaderVersion(apiKey, apiVersion), { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId: 'test' });
  body(w);
  const payload = w.toBuffer();
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length);
  return Buffer.concat([size, payload]);
}

function exchange(port: number, frame: Buffer): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(frame));
    let data = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      data = Buffer.concat([data, c]);
      if (data.length >= 4 && data.length >= 4 + data.readInt32BE(0)) {
        s.destroy();
        resolve(data.subarray(4, 4 + data.readInt32BE(0)));
      }
    });
    s.on('close', () => resolve(null));
    s.on('error', reject);
  });
}

function decodeApiVersions(frame: Buffer, version: number): { correlationId: number; body: ApiVersionsResponse } {
  const r = new Reader(frame);
  // ApiVersions responses always use response header v0.
  const header = decodeResponseHeader(r, 0);
  const body = decodeApiVersionsResponse(r, version);
  expect(r.ok).toBe(true);
  expect(r.remaining).toBe(0);
  return { correlationId: header.correlationId, body };
}

describe('Dispatcher with ApiVersions', () => {
  it.each([0, 1, 2, 3])('answers ApiVersions v%i with exactly the implemented APIs', async (version) => {
    const l = await startBroker();
    const frame = request(ApiKey.ApiVersions, version, 4242, (w) =>
      encodeApiVersionsRequest(w, version, { clientSoftwareName: 'samsa-test', clientSoftwareVersion: '1.0.0' }),
    );
    const { correlationId, body } = decodeApiVersions((await exchange(l.port, frame))!, version);
    expect(correlationId).toBe(4242);
    expect(body.errorCode).toBe(0);
    expect(body.apiKeys.map((k) => [k.apiKey, k.minVersion, k.maxVersion])).toEqual([[18, 0, 3]]);
  });

  it('answers an ApiVersions version it does not know with v0 UNSUPPORTED_VERSION and its versions', async () => {
    const l = await startBroker();
    const frame = request(ApiKey.ApiVersions, 99, 7, () => {});
    const { correlationId, body } = decodeApiVersions((await exchange(l.port, frame))!, 0);
    expect(correlationId).toBe(7);
    expect(body.errorCode).toBe(35);
    expect(body.apiKeys).toEqual([{ apiKey: 18, minVersion: 0, maxVersion: 3 }]);
  });

  it('rejects a v3 request with an invalid client software name as INVALID_REQUEST', async () => {
    const l = await startBroker();
    const frame = request(ApiKey.ApiVersions, 3, 1, (w) => encodeApiVersionsRequest(w, 3, { clientSoftwareName: '-bad name', clientSoftwareVersion: '1' }));
    expect(decodeApiVersions((await exchange(l.port, frame))!, 3).body.errorCode).toBe(42);
  });

  it('closes the connection, with a log line, for an API it does not implement or a body that does not parse', async () => {
    const warnings: string[] = [];
    const l = await startBroker(warnings);
    expect(await exchange(l.port, request(ApiKey.Produce, 9, 1, () => {}))).toBeNull();
    const truncated = request(ApiKey.ApiVersions, 3, 2, (w) => encodeApiVersionsRequest(w, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }));
    const cut = Buffer.from(truncated.subarray(0, truncated.length - 3));
    cut.writeInt32BE(cut.length - 4);
    expect(await exchange(l.port, cut)).toBeNull();
    expect(warnings.join('\n')).toMatch(/Produce/);
    expect(warnings.join('\n')).toMatch(/malformed ApiVersions v3/);
    // The broker keeps serving.
    const ok = request(ApiKey.ApiVersions, 0, 3, (w) => encodeApiVersionsRequest(w, 0, {}));
    expect(decodeApiVersions((await exchange(l.port, ok))!, 0).body.errorCode).toBe(0);
  });
});
