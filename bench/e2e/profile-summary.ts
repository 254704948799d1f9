// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time per function
// and per file, heaviest first, and inclusive time of the named functions.
// Usage: npx tsx bench/e2e/profile-summary.ts file.cpuprofile [--top N] [--window text]
// --window: only the span from the first to the last sample whose stack has a
// frame from a file whose path contains `text` (e.g. 00-produce: the load,
// without start-up and shutdown).
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, ...rest] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary.ts file.cpuprofile [--top N]');
  process.exit(1);
}
const topAt = rest.indexOf('--top');
const top = topAt >= 0 ? Number(rest[topAt + 1]) : 30;
const windowAt = rest.indexOf('--window');
const windowText = windowAt >= 0 ? rest[windowAt + 1] : null;
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inWindow = new Map<number, boolean>();
const matches = (id: number): boolean => {
  const known = inWindow.get(id);
  if (known !== undefined) return known;
  const n = byId.get(id)!;
  const p = parent.get(id);
  const hit = (windowText !== null && n.callFrame.url.includes(windowText)) || (p !== undefined && matches(p));
  inWindow.set(id, hit);
  return hit;
};
let first = 0;
let last = profile.samples.length - 1;
if (windowText !== null) {
  first = profile.samples.findIndex((id) => matches(id));
  for (let i = profile.samples.length - 1; i >= 0; i--) if (matches(profile.samples[i])) { last = i; break; }
  if (first < 0) throw new Error(`no sample has a frame from ${windowText}`);
}
const selfUs = new Map<number, number>();
let totalUs = 0;
for (let i = first; i <= last; i++) {
  const dt = profile.timeDeltas[i + 1] ?? 0;
  totalUs += dt;
  selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
}
const label = (n: ProfileNode) => {
  const f = n.callFrame;
  const where = f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
};
const fileOf = (n: ProfileNode) => (n.callFrame.url ? n.callFrame.url.replace(/^file:\/\//, '').replace(/.*\/(src|node_modules)\//, '$1/') : n.callFrame.functionName);
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
const fnSelf = new Map<string, number>();
const fileSelf = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  add(fnSelf, label(n), us);
  add(fileSelf, fileOf(n), us);
}
const idle = fnSelf.get('(idle)') ?? 0;
const busy = totalUs - idle;
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
console.log(`${file}: ${(totalUs / 1e6).toFixed(2)} s profiled, ${(busy / 1e6).toFixed(2)} s not idle (percentages are of that)`);
console.log('\nself time by function');
for (const [k, us] of [...fnSelf].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${k}`);
console.log('\nself time by file');
for (const [k, us] of [...fileSelf].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ${pct(us)}  ${k}`);
