// Registers kafkajs's snappy, lz4 and zstd codec plugins (kafkajs ships gzip
// only). Each is an implementation independent of Samsa's own codecs, so
// batches they compress test the broker's and the record reader's decoders.
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import lz4Module from '@2l/kafkajs-lz4';
import SnappyCodec from 'kafkajs-snappy';
// Registers itself as CompressionCodecs[ZSTD] (zstd-napi, built from source at install).
import '@sensejs/kafkajs-zstd-support';

CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
// A CommonJS module whose module.exports is the class; TypeScript's view of its default export differs.
const LZ4Codec = ((lz4Module as unknown as { default?: unknown }).default ?? lz4Module) as new () => { codec: () => unknown };
CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec as (typeof CompressionCodecs)[CompressionTypes.LZ4];

export const KAFKAJS_CODECS = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD] as const;
