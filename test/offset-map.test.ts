// The cleaner's key -> offset map: lookups, and that both ways of clearing it
// forget every key (clear() skips the fill when nothing was put; the cleaner
// clears in slices between turns of the event loop).
import { describe, expect, it } from 'vitest';
import { SkimpyOffsetMap } from '../src/storage/offset-map.js';

const key = (i: number) => Buffer.from(`key-${i}`);

describe('SkimpyOffsetMap', () => {
  it('maps each key to its latest offset', () => {
    const map = new SkimpyOffsetMap(24 * 100);
    map.put(key(1), 5);
    map.put(key(2), 6);
    map.put(key(1), 7);
    expect(map.size).toBe(2);
    expect(map.get(key(1))).toBe(7);
    expect(map.get(key(2))).toBe(6);
    expect(map.get(key(3))).toBe(-1);
    expect(map.latestOffset).toBe(7);
  });

  for (const how of ['clear', 'clearInSlices'] as const) {
    it(`${how} forgets every key, also across slices`, async () => {
      const map = new SkimpyOffsetMap(24 * 1000);
      for (let i = 0; i < 500; i++) map.put(key(i), i);
      if (how === 'clear') map.clear();
      else await map.clearInSlices(7);
      expect(map.size).toBe(0);
      expect(map.latestOffset).toBe(-1);
      for (let i = 0; i < 500; i++) expect(map.get(key(i))).toBe(-1);
      // Clearing an empty map leaves it usable.
      await map.clearInSlices(7);
      map.clear();
      map.put(key(3), 42);
      expect(map.get(key(3))).toBe(42);
      expect(map.size).toBe(1);
    });
  }
});
