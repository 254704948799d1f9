// The zero-copy sender reads file ranges through private dups of their fds, so a
// caller closing (and the kernel reusing) an fd mid-send changes nothing.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/native/addon.js';
import { createSender } from '../src/net/sender.js';
import { tempDir } from './support/storage.js';

const FILE_BYTES = 16 * 1024 * 1024;

describe.skipIf(!nativeAddon())('zero-copy sender and fd lifetime', () => {
  it('sends the original file even when its fd is closed and reused during the send', async () => {
    const dir = tempDir();
    const original = path.join(dir, 'original.log');
    const other = path.join(dir, 'other.log');
    const content = randomBytes(FILE_BYTES);
    fs.writeFileSync(original, content);
    fs.writeFileSync(other, Buffer.alloc(FILE_BYTES, 0x5a));

    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as net.AddressInfo).port;
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const reader = net.connect(port, '127.0.0.1');
    const socket = await accepted;
    const hash = createHash('sha256');
    let received = 0;
    const done = new Promise<void>((resolve) => {
      reader.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
        if (received >= FILE_BYTES) resolve();
      });
    });
    // A paused reader makes the send wait for socket space while the fd is swapped.
    reader.pause();

    const sender = createSender(socket, 'zero-copy');
    const fd = fs.openSync(original, 'r');
    const sending = sender.send([{ fd, position: 0, length: FILE_BYTES }]);
    fs.closeSync(fd);
    const reused = fs.openSync(other, 'r');
    expect(reused).toBe(fd);
    reader.resume();
    await sending;
    await done;
    expect(hash.digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));
    fs.closeSync(reused);
    sender.close();
    reader.destroy();
    socket.destroy();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
