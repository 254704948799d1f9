// A log-linear latency histogram in the spirit of HdrHistogram, so a run of
// 100M records keeps percentiles without an array of latencies.
//
// Values are integer microseconds. 0..255 µs are counted exactly; above that,
// each power-of-two range [2^e, 2^(e+1)) is split into 128 equal buckets, so
// a bucket spans at most 1/128 of its lower bound: any percentile is within
// 0.8% of the true value (we report a bucket's highest value, as HdrHistogram's
// valueAtPercentile does, so percentiles never understate). Values at or above
// 2^31 µs (~36 min) land in the last bucket. Exact min, max, sum and count are
// kept beside the buckets.
const EXACT_BELOW = 256;
const SUB_BUCKET_BITS = 7;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS; // 128
const VALUE_MAX = 2 ** 31 - 1;
// Exponents 8..30 above the exact range.
const BUCKETS = EXACT_BELOW + (31 - 8) * SUB_BUCKETS;

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sumUs = 0;
  minUs = Infinity;
  maxUs = 0;

  /** Records `n` occurrences of `valueUs` (fractional µs are truncated). */
  record(valueUs: number, n = 1): void {
    let v = valueUs > 0 ? Math.floor(valueUs) : 0;
    if (v > VALUE_MAX) v = VALUE_MAX;
    this.counts[bucketOf(v)] += n;
    this.count += n;
    this.sumUs += v * n;
    if (v < this.minUs) this.minUs = v;
    if (v > this.maxUs) this.maxUs = v;
  }

  /** Adds every count of `other`. */
  add(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.sumUs += other.sumUs;
    if (other.minUs < this.minUs) this.minUs = other.minUs;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumUs = 0;
    this.minUs = Infinity;
    this.maxUs = 0;
  }

  get meanUs(): number {
    return this.count === 0 ? 0 : this.sumUs / this.count;
  }

  /**
   * The value at percentile `p` (0..100): the highest value of the bucket
   * holding the ceil(p% of count)-th smallest value, capped at the exact max.
   */
  percentileUs(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(highestValueOf(i), this.maxUs);
    }
    return this.maxUs;
  }
}

export function bucketOf(v: number): number {
  if (v < EXACT_BELOW) return v;
  const exponent = 31 - Math.clz32(v); // >= 8
  const shift = exponent - SUB_BUCKET_BITS;
  const sub = (v >>> shift) - SUB_BUCKETS; // 0..127
  return EXACT_BELOW + (exponent - 8) * SUB_BUCKETS + sub;
}

export function highestValueOf(bucket: number): number {
  if (bucket < EXACT_BELOW) return bucket;
  const exponent = 8 + Math.floor((bucket - EXACT_BELOW) / SUB_BUCKETS);
  const sub = ((bucket - EXACT_BELOW) % SUB_BUCKETS) + SUB_BUCKETS;
  const shift = exponent - SUB_BUCKET_BITS;
  return (sub + 1) * 2 ** shift - 1;
}
