// The streams a command reads and writes, injectable so commands can run
// in-process in tests; `bin/samsa.js` passes the process's own.

export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}

export function printLine(stream: NodeJS.WritableStream, line: string): void {
  stream.write(line + '\n');
}

/** Writes and waits for 'drain' when the stream buffers, so a slow reader bounds our memory. */
export async function writeBounded(stream: NodeJS.WritableStream, data: Buffer | string): Promise<void> {
  if (stream.write(data)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

/** How long connecting (TCP plus ApiVersions) may take; SAMSA_CONNECT_TIMEOUT_MS overrides. */
export function connectTimeoutMs(): number {
  const raw = process.env.SAMSA_CONNECT_TIMEOUT_MS;
  const value = raw === undefined ? NaN : Number(raw);
  return Number.isSafeInteger(value) && value > 0 ? value : 10_000;
}
