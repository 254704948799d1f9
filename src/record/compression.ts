// Compression codecs of Kafka RecordBatch v2 (attribute bits 0-2), applied to
// the whole records section of a batch. Used by tools, tests and the broker's
// batch-inspecting paths (compaction, ListOffsets by timestamp); the produce
// and fetch hot paths never decompress.
//
// Formats, as Kafka clients write them:
// - gzip: RFC 1952 stream (node:zlib).
// - snappy: the Java client writes snappy-java's "xerial" framing:
//   magic \x82SNAPPY\x00, version int32 BE, compatible-version int32 BE, then
//   [int32 BE length, raw snappy block]*. librdkafka and others may send one
//   raw snappy block. Decompression accepts both; compression writes xerial.
// - lz4: the LZ4 *frame* format (magic 0x184D2204). Decoded here by a bounded
//   decoder (lz4js's own decoder checks no bounds, no checksums); compressed
//   with lz4js's block compressor into independent 64 KiB blocks, like the
//   Java client.
// - zstd: decoded by fzstd after a structural check of the frame headers that
//   bounds the window it allocates. There is no pure-JS zstd encoder among our
//   dependencies, so compression writes Raw blocks: stored, not compressed:
//   for tests and tools only.
//
// Every decompression is bounded by `maxBytes` and throws RecordBatchError
// beyond it, or on any malformed input; nothing here throws anything else.
import type { Decompress as ZstdDecompressClass } from 'fzstd';
import type Lz4js from 'lz4js';
import type Xxh32 from 'lz4js/xxh32.js';
import type SnappyJs from 'snappyjs';
import { createRequire } from 'node:module';
import { gunzipSync, gzipSync } from 'node:zlib';

// The codec packages load on first use: a broker's produce and fetch paths never
// (de)compress, and loading them at start-up would cost ~50 ms of CPU and ~5 MB.
// All three are CommonJS (fzstd also), so a synchronous require serves.
const requireCodec = createRequire(import.meta.url);
interface CodecLibraries {
  lz4js: typeof Lz4js;
  xxh32: typeof Xxh32;
  snappyjs: typeof SnappyJs;
  ZstdDecompress: typeof ZstdDecompressClass;
}
let codecLibraries: CodecLibraries | null = null;

function codecs(): CodecLibraries {
  codecLibraries ??= {
    lz4js: requireCodec('lz4js') as typeof Lz4js,
    xxh32: requireCodec('lz4js/xxh32.js') as typeof Xxh32,
    snappyjs: requireCodec('snappyjs') as typeof SnappyJs,
    ZstdDecompress: (requireCodec('fzstd') as { Decompress: typeof ZstdDecompressClass }).Decompress,
  };
  return codecLibraries;
}

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export type CompressionName = keyof typeof Compression;

const COMPRESSION_NAMES: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Any malformed, truncated or oversized record batch or compressed records section. */
export class RecordBatchError extends Error {
  override name = 'RecordBatchError';
}

/**
 * Default bound on one decompressed records section. Kafka's default
 * message.max.bytes is 1 MiB and a batch rarely compresses more than 10x;
 * 64 MiB leaves room for large configured limits while keeping a hostile
 * "zip bomb" batch from exhausting memory.
 */
export const DECOMPRESSED_BYTES_MAX = 64 * 1024 * 1024;

/** Codec name of attribute bits 0-2; throws for the unused codes 5-7. */
export function compressionName(code: number): CompressionName {
  const name = COMPRESSION_NAMES[code];
  if (name === undefined) throw new RecordBatchError(`unknown compression code ${code}`);
  return name;
}

export function compress(name: CompressionName, input: Uint8Array): Buffer {
  const buf = asBuffer(input);
  switch (name) {
    case 'none':
      return buf;
    case 'gzip':
      return gzipSync(buf);
    case 'snappy':
      return snappyXerialCompress(buf);
    case 'lz4':
      return lz4FrameCompress(buf);
    case 'zstd':
      return zstdStoredCompress(buf);
  }
}

export function decompress(name: CompressionName, input: Uint8Array, maxBytes = DECOMPRESSED_BYTES_MAX): Buffer {
  if (!(Number.isInteger(maxBytes) && maxBytes >= 0)) throw new RangeError(`maxBytes ${maxBytes} is not a size`);
  const buf = asBuffer(input);
  try {
    switch (name) {
      case 'none':
        if (buf.length > maxBytes) throw tooLarge(name, buf.length, maxBytes);
        return buf;
      case 'gzip':
        return gunzip(buf, maxBytes);
      case 'snappy':
        return snappyDecompress(buf, maxBytes);
      case 'lz4':
        return lz4FrameDecompress(buf, maxBytes);
      case 'zstd':
        return zstdDecompress(buf, maxBytes);
    }
  } catch (err) {
    // The codecs throw plain Errors, RangeErrors or TypeErrors on bad input;
    // callers get one type.
    if (err instanceof RecordBatchError) throw err;
    throw new RecordBatchError(`${name}: ${(err as Error).message}`);
  }
}

function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

function tooLarge(name: CompressionName, bytes: number, maxBytes: number): RecordBatchError {
  return new RecordBatchError(`${name}: decompressed size ${bytes} exceeds the limit of ${maxBytes} bytes`);
}

// ---- gzip ----

function gunzip(buf: Buffer, maxBytes: number): Buffer {
  try {
    // zlib stops inflating at maxOutputLength, so a bomb costs at most maxBytes.
    return gunzipSync(buf, { maxOutputLength: Math.max(1, maxBytes) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new RecordBatchError(`gzip: decompressed size exceeds the limit of ${maxBytes} bytes`);
    }
    throw err;
  }
}

// ---- snappy ----

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic (8) + version (4) + compatible version (4). */
const XERIAL_HEADER_BYTES = 16;
/** snappy-java's default block size, which Kafka's producer uses. */
const XERIAL_CHUNK_BYTES = 32 * 1024;

function isXerial(buf: Buffer): boolean {
  return buf.length >= XERIAL_HEADER_BYTES && buf.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

function snappyXerialCompress(buf: Buffer): Buffer {
  const parts: Buffer[] = [XERIAL_MAGIC, int32BE(1), int32BE(1)];
  for (let start = 0; start < buf.length; start += XERIAL_CHUNK_BYTES) {
    const block = codecs().snappyjs.compress(buf.subarray(start, start + XERIAL_CHUNK_BYTES));
    parts.push(int32BE(block.length), block);
  }
  return Buffer.concat(parts);
}

function int32BE(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(value);
  return b;
}

function snappyDecompress(buf: Buffer, maxBytes: number): Buffer {
  if (!isXerial(buf)) return snappyBlock(buf, maxBytes);
  const chunks: Buffer[] = [];
  let totalBytes = 0;
  let position = XERIAL_HEADER_BYTES;
  while (position < buf.length) {
    if (buf.length - position < 4) throw new RecordBatchError(`snappy: truncated xerial chunk length at ${position}`);
    const chunkBytes = buf.readInt32BE(position);
    position += 4;
    if (chunkBytes < 0 || chunkBytes > buf.length - position) {
      throw new RecordBatchError(`snappy: xerial chunk of ${chunkBytes} bytes at ${position} runs past the input`);
    }
    const chunk = snappyBlock(buf.subarray(position, position + chunkBytes), maxBytes - totalBytes);
    position += chunkBytes;
    totalBytes += chunk.length;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, totalBytes);
}

/** One raw snappy block, whose uncompressed length is its leading varint. */
function snappyBlock(block: Buffer, maxBytes: number): Buffer {
  const declaredBytes = snappyUncompressedLength(block);
  if (declaredBytes > maxBytes) throw tooLarge('snappy', declaredBytes, maxBytes);
  return snappyRawDecode(block, declaredBytes);
}

/**
 * Raw snappy block decoder with every length checked before use. (snappyjs
 * trusts literal and copy lengths: a few garbage bytes can declare a literal of
 * billions of bytes and keep the CPU busy for seconds.)
 *
 * Elements after the length varint, by the low two bits of the tag byte:
 * 0 literal (length in the tag, or in 1-4 following little-endian bytes),
 * 1 copy of 4-11 bytes with an 11-bit offset, 2 copy of 1-64 bytes with a
 * 16-bit offset, 3 the same with a 32-bit offset.
 */
function snappyRawDecode(block: Buffer, declaredBytes: number): Buffer {
  let pos = 0;
  while (block[pos] >= 0x80) pos++;
  pos++;
  const out = Buffer.allocUnsafe(declaredBytes);
  let outPos = 0;
  const fail = (what: string): never => {
    throw new RecordBatchError(`snappy: ${what} at input byte ${pos}, output byte ${outPos} of ${declaredBytes}`);
  };
  while (pos < block.length) {
    const tag = block[pos++];
    const type = tag & 3;
    if (type === 0) {
      let length = tag >>> 2;
      if (length >= 60) {
        const extra = length - 59;
        if (pos + extra > block.length) fail('truncated literal length');
        length = 0;
        for (let i = 0; i < extra; i++) length += block[pos + i] * 2 ** (8 * i);
        pos += extra;
      }
      length += 1;
      if (length > block.length - pos) fail(`literal of ${length} bytes past the input`);
      if (length > declaredBytes - outPos) fail(`literal of ${length} bytes past the declared length`);
      block.copy(out, outPos, pos, pos + length);
      pos += length;
      outPos += length;
      continue;
    }
    let length: number;
    let offset: number;
    if (type === 1) {
      if (pos + 1 > block.length) fail('truncated copy');
      length = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | block[pos];
      pos += 1;
    } else if (type === 2) {
      if (pos + 2 > block.length) fail('truncated copy');
      length = (tag >>> 2) + 1;
      offset = block.readUInt16LE(pos);
      pos += 2;
    } else {
      if (pos + 4 > block.length) fail('truncated copy');
      length = (tag >>> 2) + 1;
      offset = block.readUInt32LE(pos);
      pos += 4;
    }
    if (offset === 0 || offset > outPos) fail(`copy offset ${offset} outside the output`);
    if (length > declaredBytes - outPos) fail(`copy of ${length} bytes past the declared length`);
    // Copies may overlap their own output (offset < length): byte by byte, bounded by 64.
    for (let i = 0; i < length; i++) out[outPos + i] = out[outPos - offset + i];
    outPos += length;
  }
  if (outPos !== declaredBytes) fail('block ends before its declared length');
  return out;
}

function snappyUncompressedLength(block: Buffer): number {
  let value = 0;
  // A uint32 as base-128 varint: at most 5 bytes.
  for (let i = 0; i < 5 && i < block.length; i++) {
    value += (block[i] & 0x7f) * 2 ** (7 * i);
    if (block[i] < 0x80) return value;
  }
  throw new RecordBatchError('snappy: bad uncompressed length');
}

// ---- lz4 (frame format) ----

const LZ4_MAGIC = 0x184d2204;
/** Skippable frames: magic 0x184D2A50 .. 0x184D2A5F, then a uint32 LE size. */
const LZ4_SKIPPABLE_MASK = 0xfffffff0;
const LZ4_SKIPPABLE_MAGIC = 0x184d2a50;
const LZ4_FLG_VERSION = 0x40;
const LZ4_FLG_BLOCK_INDEPENDENT = 0x20;
const LZ4_FLG_BLOCK_CHECKSUM = 0x10;
const LZ4_FLG_CONTENT_SIZE = 0x08;
const LZ4_FLG_CONTENT_CHECKSUM = 0x04;
const LZ4_FLG_DICT_ID = 0x01;
const LZ4_BLOCK_UNCOMPRESSED = 0x80000000;
/** BD codes 4..7 -> maximum block size. */
const LZ4_BLOCK_BYTES_MAX: Record<number, number> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };
/** The Java client's block size (KafkaLZ4BlockOutputStream.BLOCKSIZE_64KB). */
const LZ4_BLOCK_BYTES = 64 << 10;
const LZ4_BD_64KB = 4 << 4;
/** LZ4 block rules: the last 5 bytes are literals; the last match starts >= 12 bytes before the end. */
const LZ4_LAST_LITERALS = 5;
const LZ4_MF_LIMIT = 12;
const LZ4_MIN_MATCH = 4;

function lz4FrameCompress(buf: Buffer): Buffer {
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, LZ4_FLG_VERSION | LZ4_FLG_BLOCK_INDEPENDENT, LZ4_BD_64KB, 0]);
  header[6] = (codecs().xxh32.hash(0, header, 4, 2) >>> 8) & 0xff;
  const parts: Buffer[] = [header];
  const hashTable = new Uint32Array(1 << 16);
  const scratch = Buffer.allocUnsafe(codecs().lz4js.compressBound(LZ4_BLOCK_BYTES));
  for (let start = 0; start < buf.length; start += LZ4_BLOCK_BYTES) {
    const blockBytes = Math.min(LZ4_BLOCK_BYTES, buf.length - start);
    hashTable.fill(0); // independent blocks: no match may reach into an earlier block
    const compressedBytes = codecs().lz4js.compressBlock(buf, scratch, start, blockBytes, hashTable);
    const block = compressedBytes > 0 ? lz4FixBlockEnd(scratch.subarray(0, compressedBytes), buf, start, blockBytes) : null;
    const size = Buffer.allocUnsafe(4);
    if (block !== null && block.length < blockBytes) {
      size.writeUInt32LE(block.length);
      parts.push(size, block);
    } else {
      // Incompressible: stored, flagged by the high bit of the size.
      size.writeUInt32LE((LZ4_BLOCK_UNCOMPRESSED | blockBytes) >>> 0);
      parts.push(size, buf.subarray(start, start + blockBytes));
    }
  }
  parts.push(Buffer.alloc(4)); // end mark
  return Buffer.concat(parts);
}

/**
 * Enforces the end-of-block rules of the LZ4 block format, which lz4js does
 * not quite follow: every match ends at least LAST_LITERALS bytes before the
 * block end, and a sequence whose literals end past blockBytes - MF_LIMIT must
 * be the last. Strict decoders (lz4-java in the Kafka client, whose output
 * buffer is exactly one block) reject blocks that break them. The block is cut
 * before the first offending sequence and ends with one literals-only
 * sequence holding the rest of the input. Returns a copy; null when the
 * block does not parse (never expected).
 */
function lz4FixBlockEnd(block: Uint8Array, src: Buffer, srcStart: number, blockBytes: number): Buffer | null {
  let ip = 0;
  let op = 0;
  while (ip < block.length) {
    const tokenAt = ip;
    const outputAt = op;
    const token = block[ip++];
    let literalBytes = token >>> 4;
    if (literalBytes === 15) {
      let b;
      do {
        b = block[ip++];
        literalBytes += b;
      } while (b === 255 && ip < block.length);
    }
    ip += literalBytes;
    op += literalBytes;
    if (ip >= block.length) return ip === block.length && op === blockBytes ? Buffer.from(block) : null;
    ip += 2;
    let matchBytes = token & 15;
    if (matchBytes === 15) {
      let b;
      do {
        b = block[ip++];
        matchBytes += b;
      } while (b === 255 && ip < block.length);
    }
    const matchEnd = op + matchBytes + LZ4_MIN_MATCH;
    if (op > blockBytes - LZ4_MF_LIMIT || matchEnd > blockBytes - LZ4_LAST_LITERALS) {
      return lz4EndWithLiterals(block.subarray(0, tokenAt), src, srcStart + outputAt, blockBytes - outputAt);
    }
    op = matchEnd;
  }
  return null;
}

/** `head` (whole sequences) followed by one sequence of `count` literals from src[from..]. */
function lz4EndWithLiterals(head: Uint8Array, src: Buffer, from: number, count: number): Buffer {
  const lengthBytes: number[] = [];
  if (count >= 15) {
    let rest = count - 15;
    for (; rest >= 255; rest -= 255) lengthBytes.push(255);
    lengthBytes.push(rest);
  }
  const token = Math.min(count, 15) << 4;
  return Buffer.concat([head, Buffer.from([token, ...lengthBytes]), src.subarray(from, from + count)]);
}

/** Output buffer that grows by doubling up to a hard limit. */
class BoundedOutput {
  buf: Buffer;
  length = 0;

  constructor(
    initialBytes: number,
    private readonly maxBytes: number,
    private readonly codec: CompressionName,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(Math.max(initialBytes, 256), maxBytes));
  }

  /** Makes room for `bytes` more; throws past the limit. */
  reserve(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.buf.length) return;
    if (needed > this.maxBytes) throw tooLarge(this.codec, needed, this.maxBytes);
    const grown = Buffer.allocUnsafe(Math.min(this.maxBytes, Math.max(needed, this.buf.length * 2)));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function lz4FrameDecompress(src: Buffer, maxBytes: number): Buffer {
  const out = new BoundedOutput(src.length * 4, maxBytes, 'lz4');
  let ip = 0;
  do {
    ip = lz4Frame(src, ip, out);
  } while (ip < src.length);
  return out.result();
}

function lz4Fail(message: string, position: number): never {
  throw new RecordBatchError(`lz4: ${message} at byte ${position}`);
}

/** Decodes the frame at `ip` into `out`; returns the position after it. */
function lz4Frame(src: Buffer, ip: number, out: BoundedOutput): number {
  if (src.length - ip < 4) lz4Fail('truncated frame magic', ip);
  const magic = src.readUInt32LE(ip);
  if (((magic & LZ4_SKIPPABLE_MASK) >>> 0) === LZ4_SKIPPABLE_MAGIC) {
    if (src.length - ip < 8) lz4Fail('truncated skippable frame', ip);
    const skipBytes = src.readUInt32LE(ip + 4);
    if (skipBytes > src.length - ip - 8) lz4Fail('skippable frame runs past the input', ip);
    return ip + 8 + skipBytes;
  }
  if (magic !== LZ4_MAGIC) lz4Fail(`bad frame magic 0x${magic.toString(16)}`, ip);
  const descriptorStart = ip + 4;
  if (src.length - descriptorStart < 3) lz4Fail('truncated frame descriptor', descriptorStart);
  const flg = src[descriptorStart];
  const bd = src[descriptorStart + 1];
  if ((flg & 0xc0) !== LZ4_FLG_VERSION) lz4Fail(`unsupported frame version in FLG 0x${flg.toString(16)}`, ip);
  if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) lz4Fail('reserved descriptor bits set', descriptorStart);
  if (flg & LZ4_FLG_DICT_ID) lz4Fail('dictionaries are not supported', descriptorStart);
  const blockBytesMax = LZ4_BLOCK_BYTES_MAX[(bd >>> 4) & 7];
  if (blockBytesMax === undefined) lz4Fail(`bad block size code ${(bd >>> 4) & 7}`, descriptorStart + 1);
  const descriptorBytes = 2 + (flg & LZ4_FLG_CONTENT_SIZE ? 8 : 0);
  if (src.length - descriptorStart < descriptorBytes + 1) lz4Fail('truncated frame descriptor', descriptorStart);
  let contentBytes = -1;
  if (flg & LZ4_FLG_CONTENT_SIZE) {
    const declared = src.readBigUInt64LE(descriptorStart + 2);
    contentBytes = declared > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(declared);
    // Early refusal; the decoder enforces the bound byte by byte anyway.
    out.reserve(contentBytes);
  }
  const headerChecksum = src[descriptorStart + descriptorBytes];
  if (((codecs().xxh32.hash(0, src, descriptorStart, descriptorBytes) >>> 8) & 0xff) !== headerChecksum) {
    lz4Fail('frame header checksum mismatch', descriptorStart + descriptorBytes);
  }
  ip = descriptorStart + descriptorBytes + 1;
  const frameOutputStart = out.length;
  const blockChecksums = (flg & LZ4_FLG_BLOCK_CHECKSUM) !== 0;
  for (;;) {
    if (src.length - ip < 4) lz4Fail('truncated block size', ip);
    const word = src.readUInt32LE(ip);
    ip += 4;
    if (word === 0) break; // end mark
    const stored = (word & LZ4_BLOCK_UNCOMPRESSED) !== 0;
    const blockBytes = (word & ~LZ4_BLOCK_UNCOMPRESSED) >>> 0;
    if (blockBytes > blockBytesMax) lz4Fail(`block of ${blockBytes} bytes above the frame's maximum`, ip - 4);
    if (blockBytes + (blockChecksums ? 4 : 0) > src.length - ip) lz4Fail('block runs past the input', ip - 4);
    if (blockChecksums && codecs().xxh32.hash(0, src, ip, blockBytes) !== src.readUInt32LE(ip + blockBytes)) {
      lz4Fail('block checksum mismatch', ip);
    }
    if (stored) {
      out.reserve(blockBytes);
      src.copy(out.buf, out.length, ip, ip + blockBytes);
      out.length += blockBytes;
    } else {
      lz4Block(src, ip, ip + blockBytes, out, blockBytesMax);
    }
    ip += blockBytes + (blockChecksums ? 4 : 0);
  }
  const frameBytes = out.length - frameOutputStart;
  if (contentBytes >= 0 && frameBytes !== contentBytes) {
    lz4Fail(`frame declared ${contentBytes} bytes of content but held ${frameBytes}`, ip);
  }
  if (flg & LZ4_FLG_CONTENT_CHECKSUM) {
    if (src.length - ip < 4) lz4Fail('truncated content checksum', ip);
    if (codecs().xxh32.hash(0, out.buf, frameOutputStart, frameBytes) !== src.readUInt32LE(ip)) {
      lz4Fail('content checksum mismatch', ip);
    }
    ip += 4;
  }
  return ip;
}

/**
 * One LZ4 block (sequences of literals + match) from src[ip, end) appended to
 * out. Matches may reach into earlier blocks of the output, which decodes
 * linked-block frames too; every length and offset is checked first.
 */
function lz4Block(src: Buffer, ip: number, end: number, out: BoundedOutput, blockBytesMax: number): void {
  const blockStart = out.length;
  while (ip < end) {
    const token = src[ip++];
    let literalBytes = token >>> 4;
    if (literalBytes === 15) {
      let b;
      do {
        if (ip >= end) lz4Fail('truncated literal length', ip);
        b = src[ip++];
        literalBytes += b;
      } while (b === 255);
    }
    if (literalBytes > end - ip) lz4Fail('literals run past the block', ip);
    if (out.length - blockStart + literalBytes > blockBytesMax) lz4Fail('block decodes past its maximum size', ip);
    out.reserve(literalBytes);
    src.copy(out.buf, out.length, ip, ip + literalBytes);
    out.length += literalBytes;
    ip += literalBytes;
    if (ip === end) return; // the last sequence has no match
    if (end - ip < 2) lz4Fail('truncated match offset', ip);
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    if (offset === 0 || offset > out.length) lz4Fail(`match offset ${offset} outside the output`, ip - 2);
    let matchBytes = token & 15;
    if (matchBytes === 15) {
      let b;
      do {
        if (ip >= end) lz4Fail('truncated match length', ip);
        b = src[ip++];
        matchBytes += b;
      } while (b === 255);
    }
    matchBytes += LZ4_MIN_MATCH;
    if (out.length - blockStart + matchBytes > blockBytesMax) lz4Fail('block decodes past its maximum size', ip);
    out.reserve(matchBytes);
    const target = out.buf;
    let from = out.length - offset;
    if (offset >= matchBytes) {
      target.copyWithin(out.length, from, from + matchBytes);
      out.length += matchBytes;
    } else {
      // Overlapping match: repeats the last `offset` bytes, byte by byte.
      for (let i = 0; i < matchBytes; i++) target[out.length++] = target[from++];
    }
  }
  lz4Fail('empty block', ip);
}

// ---- zstd ----

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_SKIPPABLE_MASK = 0xfffffff0;
const ZSTD_SKIPPABLE_MAGIC = 0x184d2a50;
/** Block_Maximum_Size of the format. */
const ZSTD_BLOCK_BYTES_MAX = 128 * 1024;
/**
 * Largest window we let fzstd allocate: libzstd's own default decoding limit
 * (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27). Producers at standard levels use at
 * most 8 MiB; fzstd allocates the declared window up front.
 */
export const ZSTD_WINDOW_BYTES_MAX = 1 << 27;
const ZSTD_BLOCK_RAW = 0;
const ZSTD_BLOCK_RLE = 1;
const ZSTD_BLOCK_RESERVED = 3;

/**
 * A zstd frame of Raw blocks: single segment, 4-byte content size, no checksum.
 * Stored, not compressed: for tests and tools only.
 */
function zstdStoredCompress(buf: Buffer): Buffer {
  if (buf.length > 0xffffffff) throw new RecordBatchError('zstd: stored frames hold at most 4 GiB');
  // FHD: FCS_Field_Size flag 2 (4 bytes) << 6 | Single_Segment << 5.
  const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, (2 << 6) | (1 << 5), 0, 0, 0, 0]);
  header.writeUInt32LE(buf.length, 5);
  const parts: Buffer[] = [header];
  let start = 0;
  do {
    const blockBytes = Math.min(ZSTD_BLOCK_BYTES_MAX, buf.length - start);
    const last = start + blockBytes >= buf.length ? 1 : 0;
    // Block_Header: 3 bytes LE, Last_Block (bit 0), Block_Type (bits 1-2), Block_Size (bits 3-23).
    const blockHeader = (blockBytes << 3) | (ZSTD_BLOCK_RAW << 1) | last;
    parts.push(Buffer.from([blockHeader & 0xff, (blockHeader >>> 8) & 0xff, (blockHeader >>> 16) & 0xff]));
    parts.push(buf.subarray(start, start + blockBytes));
    start += blockBytes;
  } while (start < buf.length);
  return Buffer.concat(parts);
}

function zstdFail(message: string, position: number): never {
  throw new RecordBatchError(`zstd: ${message} at byte ${position}`);
}

/**
 * Walks the frames' headers and block headers without decoding, so fzstd only
 * sees frames whose window is within ZSTD_WINDOW_BYTES_MAX, whose blocks lie
 * inside the input and which need no dictionary.
 */
function zstdCheckFrames(src: Buffer, maxBytes: number): void {
  let ip = 0;
  while (ip < src.length) {
    if (src.length - ip < 4) zstdFail('truncated frame magic', ip);
    const magic = src.readUInt32LE(ip);
    if (((magic & ZSTD_SKIPPABLE_MASK) >>> 0) === ZSTD_SKIPPABLE_MAGIC) {
      if (src.length - ip < 8) zstdFail('truncated skippable frame', ip);
      const skipBytes = src.readUInt32LE(ip + 4);
      if (skipBytes > src.length - ip - 8) zstdFail('skippable frame runs past the input', ip);
      ip += 8 + skipBytes;
      continue;
    }
    if (magic !== ZSTD_MAGIC) zstdFail(`bad frame magic 0x${magic.toString(16)}`, ip);
    ip = zstdCheckFrame(src, ip + 4, maxBytes);
  }
}

function zstdCheckFrame(src: Buffer, ip: number, maxBytes: number): number {
  if (ip >= src.length) zstdFail('truncated frame header', ip);
  const fhd = src[ip];
  const fcsFlag = fhd >>> 6;
  const singleSegment = (fhd >>> 5) & 1;
  const hasChecksum = (fhd >>> 2) & 1;
  const dictFlag = fhd & 3;
  if (fhd & 0x08) zstdFail('reserved frame header bit set', ip);
  if (dictFlag !== 0) zstdFail('dictionaries are not supported', ip);
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  const headerBytes = 1 + (singleSegment ? 0 : 1) + fcsBytes;
  if (src.length - ip < headerBytes) zstdFail('truncated frame header', ip);
  let windowBytes = 0;
  if (!singleSegment) {
    const wd = src[ip + 1];
    const windowBase = 2 ** (10 + (wd >>> 3));
    windowBytes = windowBase + (windowBase / 8) * (wd & 7);
  }
  let contentBytes = -1;
  if (fcsBytes > 0) {
    const at = ip + headerBytes - fcsBytes;
    if (fcsBytes === 1) contentBytes = src[at];
    else if (fcsBytes === 2) contentBytes = src.readUInt16LE(at) + 256;
    else if (fcsBytes === 4) contentBytes = src.readUInt32LE(at);
    else {
      const declared = src.readBigUInt64LE(at);
      contentBytes = declared > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(declared);
    }
    if (contentBytes > maxBytes) throw tooLarge('zstd', contentBytes, maxBytes);
    if (singleSegment) windowBytes = contentBytes;
  }
  if (windowBytes > ZSTD_WINDOW_BYTES_MAX) zstdFail(`window of ${windowBytes} bytes above the limit`, ip);
  ip += headerBytes;
  for (;;) {
    if (src.length - ip < 3) zstdFail('truncated block header', ip);
    const blockHeader = src[ip] | (src[ip + 1] << 8) | (src[ip + 2] << 16);
    const last = blockHeader & 1;
    const type = (blockHeader >>> 1) & 3;
    const blockBytes = blockHeader >>> 3;
    if (type === ZSTD_BLOCK_RESERVED) zstdFail('reserved block type', ip);
    if (blockBytes > ZSTD_BLOCK_BYTES_MAX) zstdFail(`block of ${blockBytes} bytes above the maximum`, ip);
    const payloadBytes = type === ZSTD_BLOCK_RLE ? 1 : blockBytes;
    ip += 3;
    if (payloadBytes > src.length - ip) zstdFail('block runs past the input', ip - 3);
    ip += payloadBytes;
    if (last) break;
  }
  if (hasChecksum) {
    if (src.length - ip < 4) zstdFail('truncated content checksum', ip);
    ip += 4;
  }
  return ip;
}

function zstdDecompress(src: Buffer, maxBytes: number): Buffer {
  zstdCheckFrames(src, maxBytes);
  const chunks: Uint8Array[] = [];
  let totalBytes = 0;
  // fzstd's streaming decoder hands out each block (<= 128 KiB) as it is
  // decoded, so the bound is enforced before the output grows past it.
  const decoder = new (codecs().ZstdDecompress)((chunk) => {
    totalBytes += chunk.length;
    if (totalBytes > maxBytes) throw tooLarge('zstd', totalBytes, maxBytes);
    chunks.push(chunk);
  });
  decoder.push(src, true);
  return Buffer.concat(chunks, totalBytes);
}
