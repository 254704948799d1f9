// Runtime of the generated Kafka protocol codecs (src/protocol/generated/):
// a bounded Reader and a growing, chunked Writer. Wire format: big-endian
// integers, int16-length strings and int32-length bytes/arrays in
// non-flexible versions, unsigned-varint (length + 1) "compact" forms and
// tagged-field sections in flexible versions (KIP-482); see
// ../shared/kafka-protocol/README.md.
//
// Reader rules (what must stay true): no method ever throws on client bytes.
// Short input, a length or count larger than the bytes remaining, or a
// malformed varint marks the reader bad (`ok = false`, `error` says why) and
// every later read returns a zero value without moving. Decoders therefore
// run to the end and the caller checks `reader.ok` once per message. Every
// length and count is checked against the bytes remaining BEFORE anything is
// allocated, so a hostile frame can never make us allocate more than a small
// multiple of its own size.
//
// Value representation in the generated types: int8..int32, uint16, uint32
// and float64 are numbers; int64 is a bigint; uuid is a lowercase canonical
// string ('xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx', ZERO_UUID by default) so it
// can key a Map; `records` and `zeroCopy` bytes are subarray views of the
// input frame (never copied: they live as long as the frame is not reused);
// other bytes are copied so they may outlive the frame (group metadata,
// SASL tokens). Fields absent in some versions, and tagged fields, are
// optional in the types; decoders always fill every field (the default when
// absent), so decoded objects have one shape. Unknown tagged fields are kept
// in `_unknownTaggedFields` (ascending tags) and written back on encode.
//
// Writer: bytes accumulate in one Buffer that doubles when full (amortised
// O(n)). `recordsRef` appends a large Buffer by reference: the bytes written
// so far become one chunk, the caller's Buffer the next, and `finish()`
// returns the chunk list for a gathered (writev) send, so produce and fetch
// payloads are never copied. Length prefixes of tagged values are not known
// in advance; `beginSized`/`endSized` write the value, then insert its
// uvarint length by shifting those few bytes. By-reference appends are
// disabled inside such a region (the shift must stay in one buffer).
// Writer methods throw on our own mistakes (a string too long for its
// length prefix, a malformed uuid): the broker must never build those.

/** Kafka's all-zero UUID, the default of every uuid field. */
export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A tagged field this build does not know, kept verbatim for lossless re-encoding. */
export interface UnknownTaggedField {
  tag: number;
  data: Buffer;
}

// Buffers smaller than this are cheaper to copy than to send as a separate
// iovec; 4 KiB is well under one record batch of a real producer.
export const REF_BYTES_MIN = 4096;
const WRITER_BYTES_INITIAL = 256;
// Non-flexible strings carry an int16 length.
const STRING_BYTES_MAX = 0x7fff;

export class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  ok = true;
  /** Why the reader went bad, with the position; null while ok. */
  error: string | null = null;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Marks the reader bad (first error wins) and returns 0 for convenience. */
  fail(reason: string): 0 {
    if (this.ok) {
      this.ok = false;
      this.error = `${reason} at byte ${this.pos}`;
      this.pos = this.end;
    }
    return 0;
  }

  private take(n: number, what: string): number {
    const at = this.pos;
    if (n > this.end - at) return this.fail(`short input reading ${what}`) - 1;
    this.pos = at + n;
    return at;
  }

  int8(): number {
    const at = this.take(1, 'int8');
    return at < 0 ? 0 : this.buf.readInt8(at);
  }
  bool(): boolean {
    const at = this.take(1, 'bool');
    return at < 0 ? false : this.buf[at] !== 0;
  }
  int16(): number {
    const at = this.take(2, 'int16');
    return at < 0 ? 0 : this.buf.readInt16BE(at);
  }
  uint16(): number {
    const at = this.take(2, 'uint16');
    return at < 0 ? 0 : this.buf.readUInt16BE(at);
  }
  int32(): number {
    const at = this.take(4, 'int32');
    return at < 0 ? 0 : this.buf.readInt32BE(at);
  }
  uint32(): number {
    const at = this.take(4, 'uint32');
    return at < 0 ? 0 : this.buf.readUInt32BE(at);
  }
  int64(): bigint {
    const at = this.take(8, 'int64');
    return at < 0 ? 0n : this.buf.readBigInt64BE(at);
  }
  float64(): number {
    const at = this.take(8, 'float64');
    return at < 0 ? 0 : this.buf.readDoubleBE(at);
  }
  uuid(): string {
    const at = this.take(16, 'uuid');
    if (at < 0) return ZERO_UUID;
    const hex = this.buf.toString('hex', at, at + 16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** Unsigned varint of at most 32 bits (5 bytes). */
  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) return this.fail('short input reading uvarint');
      const byte = this.buf[this.pos++];
      if (shift === 28 && byte > 0x0f) return this.fail('uvarint over 32 bits');
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return value;
    }
    return this.fail('uvarint over 32 bits');
  }

  // Length prefixes: -1 means null; anything else must fit in what remains.
  private length16(): number {
    const n = this.int16();
    if (n < -1) return this.fail('negative string length') - 1;
    if (n > this.end - this.pos) return this.fail('string length beyond input') - 1;
    return n;
  }
  private length32(what: string): number {
    const n = this.int32();
    if (n < -1) return this.fail(`negative ${what} length`) - 1;
    if (n > this.end - this.pos) return this.fail(`${what} length beyond input`) - 1;
    return n;
  }
  private lengthCompact(what: string): number {
    const n = this.uvarint() - 1;
    if (!this.ok) return -1;
    if (n > this.end - this.pos) return this.fail(`${what} length beyond input`) - 1;
    return n;
  }

  private utf8(n: number): string {
    const at = this.pos;
    this.pos = at + n;
    return this.buf.toString('utf8', at, at + n);
  }
  private copy(n: number): Buffer {
    const at = this.pos;
    this.pos = at + n;
    return Buffer.from(this.buf.subarray(at, at + n));
  }
  private view(n: number): Buffer {
    const at = this.pos;
    this.pos = at + n;
    return this.buf.subarray(at, at + n);
  }

  string(): string {
    const n = this.length16();
    if (n >= 0) return this.utf8(n);
    if (this.ok) this.fail('null in non-nullable value');
    return '';
  }
  nullableString(): string | null {
    const n = this.length16();
    return n < 0 ? null : this.utf8(n);
  }
  compactString(): string {
    const n = this.lengthCompact('string');
    if (n >= 0) return this.utf8(n);
    if (this.ok) this.fail('null in non-nullable value');
    return '';
  }
  compactNullableString(): string | null {
    const n = this.lengthCompact('string');
    return n < 0 ? null : this.utf8(n);
  }

  /** bytes, copied so the value may outlive the input frame. */
  bytes(): Buffer {
    const n = this.length32('bytes');
    if (n >= 0) return this.copy(n);
    if (this.ok) this.fail('null in non-nullable value');
    return Buffer.alloc(0);
  }
  nullableBytes(): Buffer | null {
    const n = this.length32('bytes');
    return n < 0 ? null : this.copy(n);
  }
  compactBytes(): Buffer {
    const n = this.lengthCompact('bytes');
    if (n >= 0) return this.copy(n);
    if (this.ok) this.fail('null in non-nullable value');
    return Buffer.alloc(0);
  }
  compactNullableBytes(): Buffer | null {
    const n = this.lengthCompact('bytes');
    return n < 0 ? null : this.copy(n);
  }

  /** records and zeroCopy bytes: a view of the input, never copied. */
  bytesView(): Buffer {
    const n = this.length32('bytes');
    if (n >= 0) return this.view(n);
    if (this.ok) this.fail('null in non-nullable value');
    return Buffer.alloc(0);
  }
  nullableBytesView(): Buffer | null {
    const n = this.length32('bytes');
    return n < 0 ? null : this.view(n);
  }
  compactBytesView(): Buffer {
    const n = this.lengthCompact('bytes');
    if (n >= 0) return this.view(n);
    if (this.ok) this.fail('null in non-nullable value');
    return Buffer.alloc(0);
  }
  compactNullableBytesView(): Buffer | null {
    const n = this.lengthCompact('bytes');
    return n < 0 ? null : this.view(n);
  }

  /**
   * Array count: -1 for null, else a count whose elements (each at least
   * `elementBytesMin` bytes, and never less than 1) fit in what remains.
   */
  arrayCount(elementBytesMin: number): number {
    const n = this.int32();
    if (n < -1) return this.fail('negative array count') - 1;
    if (n * elementBytesMin > this.end - this.pos) return this.fail('array count beyond input') - 1;
    return n;
  }
  compactArrayCount(elementBytesMin: number): number {
    const n = this.uvarint() - 1;
    if (!this.ok) return -1;
    if (n * elementBytesMin > this.end - this.pos) return this.fail('array count beyond input') - 1;
    return n;
  }
  /** A non-nullable array read as null is malformed. */
  nonNull(count: number): number {
    if (count < 0 && this.ok) this.fail('null in non-nullable array');
    return count < 0 ? 0 : count;
  }

  /** Nullable struct marker: int8 -1 for null, 1 for present. */
  structPresent(): boolean {
    const marker = this.int8();
    if (marker !== -1 && marker !== 1 && this.ok) this.fail('bad nullable struct marker');
    return marker === 1;
  }

  /** Begins one tagged field of `size` bytes; returns where it must end. */
  taggedEnd(size: number): number {
    if (size > this.end - this.pos) return this.fail('tagged field beyond input');
    return this.pos + size;
  }
  /** Checks that a known tagged field used exactly its declared size. */
  checkTaggedEnd(end: number): void {
    if (this.ok && this.pos !== end) this.fail('tagged field size mismatch');
  }
  /** Keeps an unknown tagged field (copied) for lossless re-encoding. */
  unknownTagged(tag: number, size: number, into: UnknownTaggedField[] | undefined): UnknownTaggedField[] | undefined {
    if (!this.ok) return into;
    const data = this.copy(size);
    if (!into) return [{ tag, data }];
    into.push({ tag, data });
    return into;
  }
}

export class Writer {
  private buf: Buffer;
  private pos = 0;
  // Start of the bytes of `buf` not yet handed to `chunks`.
  private chunkStart = 0;
  private readonly chunks: Buffer[] = [];
  private chunkedBytes = 0;
  private sizedDepth = 0;

  constructor(initialBytes = WRITER_BYTES_INITIAL) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Bytes written so far, including buffers appended by reference. */
  get byteLength(): number {
    return this.chunkedBytes + this.pos - this.chunkStart;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // Only the uncommitted tail moves: committed chunks keep viewing the old buffer.
    const live = this.pos - this.chunkStart;
    let size = this.buf.length * 2;
    while (size < live + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.chunkStart, this.pos);
    this.buf = next;
    this.chunkStart = 0;
    this.pos = live;
  }

  int8(v: number): void {
    this.ensure(1);
    this.pos = this.buf.writeInt8(v, this.pos);
  }
  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }
  int16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
  }
  uint16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
  }
  int32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
  }
  uint32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
  }
  int64(v: bigint): void {
    this.ensure(8);
    this.pos = this.buf.writeBigInt64BE(v, this.pos);
  }
  float64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }
  uuid(v: string): void {
    if (!UUID_PATTERN.test(v)) throw new Error(`malformed uuid ${JSON.stringify(v)}: expected lowercase 8-4-4-4-12 hex`);
    this.ensure(16);
    this.pos += this.buf.write(v.replaceAll('-', ''), this.pos, 16, 'hex');
  }
  uvarint(v: number): void {
    if (!(v >= 0 && v <= 0xffffffff && Number.isInteger(v))) throw new Error(`uvarint out of range: ${v}`);
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  private utf8(v: string, n: number): void {
    this.ensure(n);
    this.pos += this.buf.write(v, this.pos, n, 'utf8');
  }

  nullableString(v: string | null): void {
    if (v === null) return this.int16(-1);
    const n = Buffer.byteLength(v, 'utf8');
    if (n > STRING_BYTES_MAX) throw new Error(`string of ${n} bytes exceeds the int16 length prefix`);
    this.int16(n);
    this.utf8(v, n);
  }
  string(v: string): void {
    this.nullableString(v);
  }
  compactNullableString(v: string | null): void {
    if (v === null) return this.uvarint(0);
    const n = Buffer.byteLength(v, 'utf8');
    this.uvarint(n + 1);
    this.utf8(v, n);
  }
  compactString(v: string): void {
    this.compactNullableString(v);
  }

  /** Copies `v` into the output. */
  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }
  /** Appends `v` by reference when large and allowed, else copies it. */
  rawRef(v: Buffer): void {
    if (v.length < REF_BYTES_MIN || this.sizedDepth > 0) return this.raw(v);
    if (this.pos > this.chunkStart) {
      this.chunks.push(this.buf.subarray(this.chunkStart, this.pos));
      this.chunkedBytes += this.pos - this.chunkStart;
      this.chunkStart = this.pos;
    }
    this.chunks.push(v);
    this.chunkedBytes += v.length;
  }

  nullableBytes(v: Buffer | null): void {
    if (v === null) return this.int32(-1);
    this.int32(v.length);
    this.raw(v);
  }
  bytes(v: Buffer): void {
    this.nullableBytes(v);
  }
  compactNullableBytes(v: Buffer | null): void {
    if (v === null) return this.uvarint(0);
    this.uvarint(v.length + 1);
    this.raw(v);
  }
  compactBytes(v: Buffer): void {
    this.compactNullableBytes(v);
  }
  /** records: by reference when large (see the file header). */
  nullableRecords(v: Buffer | null): void {
    if (v === null) return this.int32(-1);
    this.int32(v.length);
    this.rawRef(v);
  }
  compactNullableRecords(v: Buffer | null): void {
    if (v === null) return this.uvarint(0);
    this.uvarint(v.length + 1);
    this.rawRef(v);
  }

  arrayCount(n: number | null): void {
    this.int32(n === null ? -1 : n);
  }
  compactArrayCount(n: number | null): void {
    this.uvarint(n === null ? 0 : n + 1);
  }

  /** Starts a value whose uvarint byte length must precede it. */
  beginSized(): number {
    this.sizedDepth++;
    return this.pos - this.chunkStart;
  }
  /** Ends the value begun at `mark`, inserting its length in front of it. */
  endSized(mark: number): void {
    this.sizedDepth--;
    this.ensure(5); // room for the prefix first: growing moves the buffer
    const start = this.chunkStart + mark;
    const size = this.pos - start;
    const end = this.pos;
    // Write the varint at the end, then rotate it to the front.
    this.uvarint(size);
    const prefix = this.pos - end;
    const tmp = Buffer.from(this.buf.subarray(end, this.pos));
    this.buf.copyWithin(start + prefix, start, end);
    tmp.copy(this.buf, start);
  }

  /** Writes unknown tagged fields with index >= `from` and tag < `below`; returns the next index. */
  unknownTagged(fields: readonly UnknownTaggedField[], from: number, below: number): number {
    let i = from;
    for (; i < fields.length && fields[i].tag < below; i++) {
      this.uvarint(fields[i].tag);
      this.uvarint(fields[i].data.length);
      this.raw(fields[i].data);
    }
    return i;
  }

  /** The output as a list of buffers (some may be caller buffers appended by reference). */
  finish(): Buffer[] {
    if (this.pos > this.chunkStart) {
      this.chunks.push(this.buf.subarray(this.chunkStart, this.pos));
      this.chunkedBytes += this.pos - this.chunkStart;
      this.chunkStart = this.pos;
    }
    return this.chunks;
  }

  /** The output as one Buffer (copies when records were appended by reference). */
  toBuffer(): Buffer {
    const chunks = this.finish();
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.chunkedBytes);
  }
}

/** Returns `v`, or throws when a value that is nullable only in other versions is null here. */
export function notNull<T>(v: T | null, field: string): T {
  if (v === null) throw new Error(`${field} is null at a version where it is not nullable`);
  return v;
}
