#!/usr/bin/env node
// Builds the native addon with node-gyp unless a usable binary is already there
// (a prebuild under prebuilds/ or a previous local build). Never downloads anything:
// it points node-gyp at the headers of the running Node when they are installed
// beside it (Debian's nodejs-dev puts them under /usr/include/node).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const force = process.argv.includes('--force');
const buildDir = process.env.SAMSA_BUILD_DIR ?? 'build';

function newestSourceMtimeMs() {
  let newest = statSync(path.join(root, 'binding.gyp')).mtimeMs;
  for (const name of readdirSync(path.join(root, 'native'))) {
    newest = Math.max(newest, statSync(path.join(root, 'native', name)).mtimeMs);
  }
  return newest;
}

function upToDate() {
  const built = path.join(root, buildDir, 'Release', 'samsa_native.node');
  return existsSync(built) && statSync(built).mtimeMs >= newestSourceMtimeMs();
}

function hasPrebuild() {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  return existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.node'));
}

function nodeGypScript() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) {
    return process.env.npm_config_node_gyp;
  }
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {}
  const npmDir = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
  const bundled = path.join(npmDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return bundled;
  throw new Error('node-gyp not found: install it (npm i -g node-gyp) or use a prebuild');
}

function localNodeDir() {
  // The headers that match the running Node, if the system has them.
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

if (!force && (hasPrebuild() && !process.env.SAMSA_BUILD_FROM_SOURCE)) process.exit(0);
if (!force && upToDate()) process.exit(0);

const args = [nodeGypScript(), 'rebuild'];
const nodedir = process.env.npm_config_nodedir ?? localNodeDir();
if (nodedir) args.push(`--nodedir=${nodedir}`);
if (process.env.SAMSA_DEBUG_BUILD) args.push('--debug');
const env = { ...process.env };
if (buildDir !== 'build') env.npm_config_build_dir = buildDir;
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
if (result.status !== 0) {
  console.error('samsa: building the native addon failed; the TypeScript fallbacks will be used');
  // A failed build must not fail `npm ci`: the broker runs on the copy paths without it.
  process.exit(process.env.SAMSA_REQUIRE_NATIVE ? 1 : 0);
}
