// Kafka's variable-length integers (ByteUtils.writeVarint / writeVarlong):
// zigzag-encoded so small negative numbers stay short, then base-128 little
// endian with the high bit of each byte meaning "more bytes follow".
//
// varint covers int32 (at most 5 bytes), varlong int64 (at most 10 bytes).
// JS numbers hold varlongs exactly only while the zigzag form is a safe
// integer, i.e. values within +-2^52 (VARLONG_SAFE_MAX); reader and writer
// refuse anything wider instead of rounding silently.

/** Longest encodings: ceil(32 / 7) and ceil(64 / 7) bytes. */
export const VARINT_BYTES_MAX = 5;
export const VARLONG_BYTES_MAX = 10;

/** Largest |value| whose zigzag form (2|v| or 2|v|-1) is a safe integer. */
export const VARLONG_SAFE_MAX = 2 ** 52 - 1;

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** Bytes that writeVarint/writeVarlong will use for `value`. */
export function varintBytes(value: number): number {
  let raw = zigzag(value);
  let bytes = 1;
  while (raw >= 0x80) {
    raw = Math.floor(raw / 128);
    bytes++;
  }
  return bytes;
}

function zigzag(value: number): number {
  // Arithmetic, not bit operators: varlongs exceed 32 bits.
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/**
 * Writes `value` (a safe integer; the caller checks the int32 range for
 * varints) at `position`; returns the position after it. The caller makes sure
 * `buf` has room (varintBytes).
 */
export function writeVarlong(buf: Uint8Array, position: number, value: number): number {
  let raw = zigzag(value);
  while (raw >= 0x80) {
    buf[position++] = (raw % 128) | 0x80;
    raw = Math.floor(raw / 128);
  }
  buf[position++] = raw;
  return position;
}

export function isInt32(value: number): boolean {
  return Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX;
}

/**
 * Bounded reader over buf[position, end). Short or malformed input does not
 * throw: the reader marks itself bad and returns 0 / empty values, and the
 * decoder checks `bad` once per record (house style: no RangeErrors mid-parse).
 */
export class ByteReader {
  bad = false;
  /** What went wrong first, for the error message. */
  reason = '';

  constructor(
    readonly buf: Uint8Array,
    public position: number,
    public end: number,
  ) {}

  remaining(): number {
    return this.end - this.position;
  }

  fail(reason: string): void {
    if (!this.bad) {
      this.bad = true;
      this.reason = `${reason} at byte ${this.position}`;
    }
    this.position = this.end;
  }

  int8(): number {
    if (this.position >= this.end) {
      this.fail('truncated int8');
      return 0;
    }
    const v = this.buf[this.position++];
    return v >= 0x80 ? v - 0x100 : v;
  }

  /** Zigzag varint; must fit an int32. */
  varint(): number {
    const v = this.readZigzag(VARINT_BYTES_MAX, 'varint');
    if (!isInt32(v)) {
      this.fail('varint outside int32');
      return 0;
    }
    return v;
  }

  /** Zigzag varlong; must fit a safe integer. */
  varlong(): number {
    return this.readZigzag(VARLONG_BYTES_MAX, 'varlong');
  }

  /** `length` bytes as a view (no copy); the caller checked length >= 0. */
  bytes(length: number): Uint8Array {
    if (length > this.remaining()) {
      this.fail(`length ${length} past the end`);
      return new Uint8Array(0);
    }
    const view = this.buf.subarray(this.position, this.position + length);
    this.position += length;
    return view;
  }

  private readZigzag(bytesMax: number, what: string): number {
    let raw = 0;
    let scale = 1;
    for (let i = 0; i < bytesMax; i++) {
      if (this.position >= this.end) {
        this.fail(`truncated ${what}`);
        return 0;
      }
      const b = this.buf[this.position++];
      raw += (b & 0x7f) * scale;
      if (b < 0x80) {
        // Partial sums stay exact while raw is a safe integer; that limits
        // decoded varlongs to +-2^52 (timestamps are ~2^41).
        if (raw > Number.MAX_SAFE_INTEGER) {
          this.fail(`${what} outside the safe integer range`);
          return 0;
        }
        return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      }
      scale *= 128;
    }
    this.fail(`${what} longer than ${bytesMax} bytes`);
    return 0;
  }
}
