// Running confluent-kafka for Python (Debian's python3-confluent-kafka,
// librdkafka underneath) from interop tests; they skip when it is missing.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';

export const PYTHON = '/usr/bin/python3';
export const runPython = promisify(execFile);

/** Whether /usr/bin/python3 can import `module` (e.g. 'confluent_kafka.admin'). */
export function hasPythonModule(module: string): boolean {
  if (!fs.existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}
