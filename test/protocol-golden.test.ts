// Golden bytes, written by hand from the wire format (Kafka 3.8 schemas):
// each fixture decodes to the expected value and re-encodes byte for byte.
import { describe, expect, it } from 'vitest';
import { Reader, Writer } from '../src/protocol/codec.js';
import {
  ApiKey,
  decodeApiVersionsRequest,
  decodeApiVersionsResponse,
  decodeMetadataRequest,
  decodeProduceRequest,
  decodeRequestHeader,
  decodeResponseHeader,
  encodeApiVersionsRequest,
  encodeApiVersionsResponse,
  encodeMetadataRequest,
  encodeProduceRequest,
  encodeRequestHeader,
  encodeResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
} from '../src/protocol/generated/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): string => Buffer.from(s, 'ascii').toString('hex');

function written(fill: (w: Writer) => void): Buffer {
  const w = new Writer();
  fill(w);
  return w.toBuffer();
}

describe('golden bytes', () => {
  it('ApiVersions request v3: header v2 and the client software tagged-struct section', () => {
    const frame = hex(`
      0012 0003 00000007              # apiKey 18, version 3, correlationId 7
      0006 ${ascii('client')}         # ClientId: int16 length even in header v2
      00                              # header tagged fields: none
      0b ${ascii('librdkafka')}       # ClientSoftwareName: compact (10 + 1)
      06 ${ascii('2.3.0')}            # ClientSoftwareVersion: compact (5 + 1)
      00                              # body tagged fields: none
    `.replace(/#.*$/gm, ''));
    expect(requestHeaderVersion(ApiKey.ApiVersions, 3)).toBe(2);
    const r = new Reader(frame);
    const header = decodeRequestHeader(r, 2);
    const body = decodeApiVersionsRequest(r, header.requestApiVersion);
    expect(r.ok).toBe(true);
    expect(r.remaining).toBe(0);
    expect(header).toMatchObject({ requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: 'client' });
    expect(body).toMatchObject({ clientSoftwareName: 'librdkafka', clientSoftwareVersion: '2.3.0' });
    const again = written((w) => {
      encodeRequestHeader(w, 2, header);
      encodeApiVersionsRequest(w, 3, body);
    });
    expect(again.toString('hex')).toBe(frame.toString('hex'));
  });

  it('ApiVersions response v0', () => {
    const frame = hex(`
      00000007                        # response header v0: correlationId
      0000                            # errorCode
      00000002 0000 0000 000b 0012 0000 0003
    `.replace(/#.*$/gm, ''));
    expect(responseHeaderVersion(ApiKey.ApiVersions, 0)).toBe(0);
    const r = new Reader(frame);
    const header = decodeResponseHeader(r, 0);
    const body = decodeApiVersionsResponse(r, 0);
    expect(r.ok && r.remaining === 0).toBe(true);
    expect(header.correlationId).toBe(7);
    expect(body).toMatchObject({ errorCode: 0, apiKeys: [{ apiKey: 0, minVersion: 0, maxVersion: 11 }, { apiKey: 18, minVersion: 0, maxVersion: 3 }] });
    const again = written((w) => {
      encodeResponseHeader(w, 0, header);
      encodeApiVersionsResponse(w, 0, body);
    });
    expect(again.equals(frame)).toBe(true);
  });

  it('ApiVersions response v3: header stays v0, compact array, tagged FinalizedFeaturesEpoch', () => {
    const frame = hex(`
      00000007                        # header v0 even though v3 is flexible: no tagged section
      0000                            # errorCode
      03                              # compact array: 2 + 1
      0000 0000 000b 00               # Produce 0-11, element tagged fields
      0012 0000 0003 00               # ApiVersions 0-3
      00000000                        # throttleTimeMs
      01 01 08 0000000000000005       # one tagged field: tag 1 (FinalizedFeaturesEpoch), 8 bytes, 5
    `.replace(/#.*$/gm, ''));
    expect(responseHeaderVersion(ApiKey.ApiVersions, 3)).toBe(0);
    const r = new Reader(frame);
    const header = decodeResponseHeader(r, responseHeaderVersion(ApiKey.ApiVersions, 3));
    const body = decodeApiVersionsResponse(r, 3);
    expect(r.ok && r.remaining === 0).toBe(true);
    expect(body).toMatchObject({ errorCode: 0, throttleTimeMs: 0, finalizedFeaturesEpoch: 5n, supportedFeatures: [], zkMigrationReady: false });
    expect(body.apiKeys).toHaveLength(2);
    const again = written((w) => {
      encodeResponseHeader(w, 0, header);
      encodeApiVersionsResponse(w, 3, body);
    });
    expect(again.equals(frame)).toBe(true);
  });

  it('Metadata request v1: null topics array means all topics', () => {
    const frame = hex('ffffffff');
    const r = new Reader(frame);
    const body = decodeMetadataRequest(r, 1);
    expect(r.ok && r.remaining === 0).toBe(true);
    expect(body.topics).toBeNull();
    expect(written((w) => encodeMetadataRequest(w, 1, body)).equals(frame)).toBe(true);
    expect(requestHeaderVersion(ApiKey.Metadata, 1)).toBe(1);
  });

  it('Metadata request v12: flexible, topic ids', () => {
    const frame = hex(`
      03                                           # compact array: 2 topics
      0123456789abcdef0123456789abcdef 04 ${ascii('foo')} 00   # id, name, tags
      00000000000000000000000000000000 00 00        # name by id only: null name
      01                                           # allowAutoTopicCreation
      00                                           # includeTopicAuthorizedOperations
      00                                           # tagged fields
    `.replace(/#.*$/gm, ''));
    expect(requestHeaderVersion(ApiKey.Metadata, 12)).toBe(2);
    const r = new Reader(frame);
    const body = decodeMetadataRequest(r, 12);
    expect(r.ok && r.remaining === 0).toBe(true);
    expect(body).toMatchObject({
      topics: [
        { topicId: '01234567-89ab-cdef-0123-456789abcdef', name: 'foo' },
        { topicId: '00000000-0000-0000-0000-000000000000', name: null },
      ],
      allowAutoTopicCreation: true,
      includeTopicAuthorizedOperations: false,
    });
    expect(written((w) => encodeMetadataRequest(w, 12, body)).equals(frame)).toBe(true);
  });

  it('Produce request v9: records stay a view of the input, and are written by reference', () => {
    const records = Buffer.alloc(5000, 0xab); // opaque to the codec; large enough to go by reference
    const frame = Buffer.concat([
      hex(`
        00                            # transactionalId: null
        ffff                          # acks -1
        00007530                      # timeoutMs 30000
        02 02 ${ascii('t')}           # one topic, name "t"
        02 00000003                   # one partition, index 3
        8927                          # records: compact length 5000 + 1 = 5001 as uvarint (0x89 0x27)
      `.replace(/#.*$/gm, '')),
      records,
      hex('00 00 00'),                // partition, topic and body tagged fields
    ]);
    const r = new Reader(frame);
    const body = decodeProduceRequest(r, 9);
    expect(r.ok && r.remaining === 0).toBe(true);
    expect(body).toMatchObject({ transactionalId: null, acks: -1, timeoutMs: 30000 });
    const view = body.topicData[0].partitionData[0].records;
    expect(view?.equals(records)).toBe(true);
    expect(view?.buffer).toBe(frame.buffer); // zero copy
    expect(view?.byteOffset).toBe(frame.byteOffset + 17);
    const w = new Writer();
    encodeProduceRequest(w, 9, body);
    const chunks = w.finish();
    expect(chunks).toHaveLength(3);
    expect(chunks[1]).toBe(view); // the same Buffer object: not copied
    expect(Buffer.concat(chunks).equals(frame)).toBe(true);
    expect(w.byteLength).toBe(frame.length);
  });
});

describe('header versions', () => {
  it('uses request header v0 only for ControlledShutdown v0', () => {
    expect(requestHeaderVersion(ApiKey.ControlledShutdown, 0)).toBe(0);
    expect(requestHeaderVersion(ApiKey.ControlledShutdown, 1)).toBe(1);
    expect(requestHeaderVersion(ApiKey.ControlledShutdown, 3)).toBe(2);
    expect(requestHeaderVersion(ApiKey.Produce, 8)).toBe(1);
    expect(requestHeaderVersion(ApiKey.Produce, 9)).toBe(2);
  });
  it('uses response header v1 for flexible responses except ApiVersions', () => {
    expect(responseHeaderVersion(ApiKey.Fetch, 11)).toBe(0);
    expect(responseHeaderVersion(ApiKey.Fetch, 12)).toBe(1);
    expect(responseHeaderVersion(ApiKey.ApiVersions, 3)).toBe(0);
    expect(responseHeaderVersion(ApiKey.OffsetDelete, 0)).toBe(0);
  });
});
