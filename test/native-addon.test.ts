import { describe, expect, it } from 'vitest';
import { nativeAddon, nativeLoadError } from '../src/native/addon.js';

describe('native addon', () => {
  it('loads unless disabled with SAMSA_NATIVE=0', () => {
    if (process.env.SAMSA_NATIVE === '0') {
      expect(nativeAddon()).toBeNull();
      return;
    }
    expect(nativeLoadError()).toBeNull();
    expect(nativeAddon()).not.toBeNull();
  });
});
