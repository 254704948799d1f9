// The log cleaner's key -> latest offset map, after Kafka's SkimpyOffsetMap:
// a fixed-size open-addressing hash table that stores, per key, the 16-byte
// MD5 digest of the key and the offset (24 bytes a slot), never the key
// itself. Memory is therefore bounded by log.cleaner.dedupe.buffer.size
// whatever the keys look like; two keys with the same digest are taken for
// one (MD5 collisions are far less likely than disk errors, as Kafka argues).
//
// The table is filled only to a load factor (log.cleaner.io.buffer.load.factor,
// 0.9); past it the cleaner stops mapping and cleans up to where it got.
//
// Layout: digests in an Int32Array (4 words per slot), offsets in a
// Float64Array holding offset + 1, so 0 marks an empty slot and clearing the
// table is one fill of the offsets. Linear probing from the digest's first word.
import { md5Words } from './md5.js';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

/** Bytes per slot: a 16-byte digest and an 8-byte offset, as in Kafka. */
export const OFFSET_MAP_SLOT_BYTES = 24;
const DIGEST_WORDS = 4;

export class SkimpyOffsetMap {
  readonly slots: number;
  private readonly digests: Int32Array;
  private readonly offsets: Float64Array;
  private readonly probe = new Int32Array(DIGEST_WORDS);
  private entries = 0;
  private latest = -1;

  constructor(memoryBytes: number) {
    this.slots = Math.floor(memoryBytes / OFFSET_MAP_SLOT_BYTES);
    if (this.slots < 1) throw new RangeError(`an offset map needs at least ${OFFSET_MAP_SLOT_BYTES} bytes, got ${memoryBytes}`);
    this.digests = new Int32Array(this.slots * DIGEST_WORDS);
    this.offsets = new Float64Array(this.slots);
  }

  /** Keys mapped. */
  get size(): number {
    return this.entries;
  }

  /** The last offset of the last batch mapped (-1 when none): the end of the mapped range. */
  get latestOffset(): number {
    return this.latest;
  }

  updateLatestOffset(offset: number): void {
    this.latest = offset;
  }

  // Only put() writes offsets, and it counts every slot it fills: with no
  // entries the table is already clear (a new map is, and a 128 MiB map's fill
  // costs a first touch of every page).
  clear(): void {
    if (this.entries > 0) this.offsets.fill(0);
    this.entries = 0;
    this.latest = -1;
  }

  /**
   * clear() for the cleaner, on the event loop: the fill goes in slices of
   * `sliceSlots` with a turn of the loop between them, so a map of hundreds of
   * MiB does not hold up requests.
   */
  async clearInSlices(sliceSlots = 1 << 20): Promise<void> {
    if (this.entries > 0) {
      for (let at = 0; at < this.slots; at += sliceSlots) {
        this.offsets.fill(0, at, Math.min(this.slots, at + sliceSlots));
        await yieldToLoop();
      }
    }
    this.entries = 0;
    this.latest = -1;
  }

  /** Maps `key` to `offset` (offsets only grow within one build, so a later put wins). */
  put(key: Uint8Array, offset: number): void {
    if (this.entries >= this.slots) throw new RangeError('offset map is full');
    const slot = this.find(key);
    if (this.offsets[slot] === 0) {
      this.entries++;
      this.digests.set(this.probe, slot * DIGEST_WORDS);
    }
    this.offsets[slot] = offset + 1;
    this.latest = offset;
  }

  /** The offset mapped for `key`, or -1. */
  get(key: Uint8Array): number {
    return this.offsets[this.find(key)] - 1;
  }

  /** The slot holding key's digest, or the empty slot where it would go. */
  private find(key: Uint8Array): number {
    const probe = this.probe;
    md5Words(key, probe);
    let slot = (probe[0] >>> 0) % this.slots;
    for (let attempt = 0; attempt < this.slots; attempt++) {
      if (this.offsets[slot] === 0) return slot;
      const at = slot * DIGEST_WORDS;
      const d = this.digests;
      if (d[at] === probe[0] && d[at + 1] === probe[1] && d[at + 2] === probe[2] && d[at + 3] === probe[3]) return slot;
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
    // Only reachable when every slot is taken by other keys; put() refuses before that.
    return slot;
  }
}
