#!/usr/bin/env node
// The `samsa` command. Runs the compiled CLI in dist/ when `npm run build` made
// it after the last change under src/ (it starts faster and uses less memory);
// otherwise, in a checkout being edited, runs the TypeScript through tsx.
// SAMSA_FROM_SOURCE=1 forces the TypeScript.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function newestMtimeMs(dir) {
  let newest = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    const mtimeMs = entry.isDirectory() ? Math.max(fs.statSync(full).mtimeMs, newestMtimeMs(full)) : fs.statSync(full).mtimeMs;
    if (mtimeMs > newest) newest = mtimeMs;
  }
  return newest;
}

function distIsFresh() {
  if (process.env.SAMSA_FROM_SOURCE === '1') return false;
  let stampMs;
  try {
    stampMs = fs.statSync(path.join(root, 'dist', '.build-stamp')).mtimeMs;
  } catch {
    return false;
  }
  return newestMtimeMs(path.join(root, 'src')) <= stampMs;
}

let main;
if (distIsFresh()) {
  ({ main } = await import('../dist/bundle/cli.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
