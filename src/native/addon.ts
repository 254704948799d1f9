// Loads the samsa_native addon the conventional way (node-gyp-build: a prebuild
// under prebuilds/ if present, else build/Release), or returns null so callers
// fall back to the TypeScript implementations.
//
// SAMSA_NATIVE=0 forces the fallbacks (tests of the copy paths, machines
// without a compiler). SAMSA_NATIVE_PATH loads a specific binary (the ASan build).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from './types.js';

export type { NativeAddon } from './types.js';

const require = createRequire(import.meta.url);
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let loaded: NativeAddon | null | undefined;
let loadError: Error | null = null;

function load(): NativeAddon | null {
  if (process.env.SAMSA_NATIVE === '0') return null;
  try {
    if (process.env.SAMSA_NATIVE_PATH) return require(path.resolve(process.env.SAMSA_NATIVE_PATH)) as NativeAddon;
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return nodeGypBuild(projectRoot) as NativeAddon;
  } catch (err) {
    loadError = err as Error;
    return null;
  }
}

/** The addon, or null when it is disabled or could not be loaded. */
export function nativeAddon(): NativeAddon | null {
  if (loaded === undefined) loaded = load();
  return loaded;
}

/** Why the addon is not available (null when it is, or when disabled on purpose). */
export function nativeLoadError(): Error | null {
  nativeAddon();
  return loadError;
}

/** The addon, or a thrown error saying why it is missing; for code paths that require it. */
export function requireNative(): NativeAddon {
  const addon = nativeAddon();
  if (addon) return addon;
  throw new Error(`samsa native addon unavailable: ${loadError?.message ?? 'disabled by SAMSA_NATIVE=0'}`);
}
