// `npm run build` (also run by `npm ci` through `prepare`):
//   1. tsc compiles src/ into dist/ (JavaScript and .d.ts, one file per module);
//   2. esbuild bundles the CLI and the package entry from that output into
//      dist/bundle/ (shared code in chunks; node_modules stay external). Node
//      loads one bundle in a fraction of the time it spends resolving and
//      evaluating ~250 separate modules, which is most of the CLI's start-up.
//      dist/bundle/ sits two levels below the package root like dist/native/,
//      so the addon loader's path to build/Release still holds;
//   3. writes dist/.build-stamp: bin/samsa.js runs dist/ only while that stamp
//      is newer than every file under src/.
// `--if-stale` skips all of it when the stamp is already newer than src/.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const stamp = path.join(dist, '.build-stamp');
const require = createRequire(import.meta.url);

function newestMtimeMs(target) {
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of fs.readdirSync(target)) newest = Math.max(newest, newestMtimeMs(path.join(target, name)));
  return newest;
}

if (process.argv.includes('--if-stale') && fs.existsSync(stamp)) {
  const sourcesMs = Math.max(newestMtimeMs(path.join(root, 'src')), newestMtimeMs(path.join(root, 'tsconfig.build.json')), newestMtimeMs(fileURLToPath(import.meta.url)));
  if (sourcesMs <= fs.statSync(stamp).mtimeMs) {
    console.log('build: dist/ is up to date');
    process.exit(0);
  }
}

const startedMs = Date.now();
// Output of modules deleted from src/ must not linger, nor a stamp survive a failed build.
fs.rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error(`build: tsc failed (exit ${tsc.status ?? tsc.signal}); bin/samsa.js will run the sources through tsx`);
  process.exit(tsc.status ?? 1);
}
const esbuild = require('esbuild');
esbuild.buildSync({
  entryPoints: { cli: path.join(dist, 'cli', 'main.js'), index: path.join(dist, 'index.js') },
  outdir: path.join(dist, 'bundle'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
});
fs.writeFileSync(stamp, `built ${new Date().toISOString()}\n`);
console.log(`build: dist/ in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`);
