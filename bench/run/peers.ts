// Scenario 9: peers on the same machine, when installed (never required):
// Redis Streams (`redis-server`) and NATS JetStream (`nats-server -js`).
import { spawnSync } from 'node:child_process';
import type { Context } from './context.js';

function installed(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function peers(ctx: Context, round: number): Promise<void> {
  for (const [cmd, what] of [
    ['redis-server', 'Redis Streams'],
    ['nats-server', 'NATS JetStream'],
  ]) {
    if (!installed(cmd)) {
      if (round === 0) ctx.note(`scenario 9: ${what} skipped: \`${cmd}\` is not installed`);
      continue;
    }
    if (round === 0) ctx.note(`scenario 9: ${what}: \`${cmd}\` is installed but the harness has no ${what} load yet; no rows`);
  }
}
