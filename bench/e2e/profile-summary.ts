// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time per function
// and per file, heaviest first, and inclusive time of the named functions.
// Usage: npx tsx bench/e2e/profile-summary.ts file.cpuprofile [--top N]
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
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
}
const totalUs = profile.endTime - profile.startTime;
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
