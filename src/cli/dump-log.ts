// `samsa dump-log --files <paths> [--print-data-log] [--offsets-decoder]`: prints segment and index
// files the way Kafka's kafka-dump-log (DumpLogSegments) does, so operators can
// read a partition directory with the output format they know.
import fs from 'node:fs';
import path from 'node:path';
import { decodeBatchRecords, readBatchHeader, verifyBatchCrc, type BatchHeader } from '../record/record-batch.js';
import { OffsetIndex, TimeIndex } from '../storage/index-file.js';
import { decrementSequence, readProducerSnapshot } from '../storage/producer-state.js';
import { formatOffsetsRecord } from '../coordinator/offsets-topic-records.js';

export interface DumpOptions {
  files: string[];
  printDataLog: boolean;
  /** --offsets-decoder: keys and values of __consumer_offsets as Kafka's OffsetsMessageParser prints them (implies printDataLog). */
  offsetsDecoder?: boolean;
  out: (line: string) => void;
}

// Reading a segment in bounded chunks keeps memory flat on 1 GiB segments.
const READ_CHUNK_BYTES = 1024 * 1024;
const BATCH_HEADER_BYTES = 61;
const BATCH_LOG_OVERHEAD_BYTES = 12;

export function dumpFiles(options: DumpOptions): number {
  let failures = 0;
  for (const file of options.files) {
    options.out(`Dumping ${file}`);
    try {
      if (file.endsWith('.log')) dumpLog(file, options);
      else if (file.endsWith('.index')) dumpOffsetIndex(file, options);
      else if (file.endsWith('.timeindex')) dumpTimeIndex(file, options);
      else if (file.endsWith('.snapshot')) dumpProducerSnapshot(file, options);
      else {
        options.out(`Ignoring unknown file ${file}`);
        failures++;
      }
    } catch (err) {
      options.out(`Error reading ${file}: ${(err as Error).message}`);
      failures++;
    }
  }
  return failures;
}

function baseOffsetOf(file: string): number {
  const name = path.basename(file).split('.')[0];
  if (!/^\d{20}$/.test(name)) throw new Error(`${file}: not named by a 20-digit base offset`);
  return Number(name);
}

function dumpLog(file: string, options: DumpOptions): void {
  options.out(`Log starting offset: ${baseOffsetOf(file)}`);
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(BATCH_HEADER_BYTES);
    let position = 0;
    while (position < size) {
      const headBytes = fs.readSync(fd, head, 0, Math.min(BATCH_HEADER_BYTES, size - position), position);
      const batchBytes = headBytes >= BATCH_LOG_OVERHEAD_BYTES ? head.readInt32BE(8) + BATCH_LOG_OVERHEAD_BYTES : 0;
      if (batchBytes < BATCH_HEADER_BYTES || position + batchBytes > size) {
        // What follows is not a complete batch. A zero-filled tail (a preallocated
        // segment after a crash) is silent, as in Kafka; anything else is reported.
        if (!isZeroFilled(fd, position, size)) {
          options.out(`Found ${size - position} invalid bytes at the end of ${path.basename(file)} (position ${position})`);
        }
        return;
      }
      const batch = Buffer.alloc(batchBytes);
      readFully(fd, batch, position);
      const header = readBatchHeader(batch, 0);
      options.out(batchLine(header, position, verifyBatchCrc(batch, 0)));
      if (options.printDataLog || options.offsetsDecoder) {
        for (const r of decodeBatchRecords(batch, 0)) {
          const ts = header.timestampType === 'log-append' ? header.maxTimestamp : r.timestamp;
          const sequence = header.baseSequence < 0 ? -1 : header.baseSequence + (r.offset - header.baseOffset);
          const keySize = r.key ? r.key.length : -1;
          const valueSize = r.value ? r.value.length : -1;
          const parts = [
            `| offset: ${r.offset}`,
            `${timestampTypeName(header)}: ${ts}`,
            `keySize: ${keySize}`,
            `valueSize: ${valueSize}`,
            `sequence: ${sequence}`,
            `headerKeys: [${r.headers.map((h) => h.key).join(',')}]`,
          ];
          if (options.offsetsDecoder && !header.isControl) {
            const formatted = formatOffsetsRecord(r.offset, r.key, r.value);
            parts.push(`key: ${formatted.key}`);
            if (formatted.payload !== null) parts.push(`payload: ${formatted.payload}`);
          } else {
            if (r.key) parts.push(`key: ${r.key.toString('utf8')}`);
            if (r.value) parts.push(`payload: ${r.value.toString('utf8')}`);
          }
          options.out(parts.join(' '));
        }
      }
      position += batchBytes;
    }
  } finally {
    fs.closeSync(fd);
  }
}

function isZeroFilled(fd: number, position: number, size: number): boolean {
  const chunk = Buffer.alloc(Math.min(READ_CHUNK_BYTES, size - position));
  for (let at = position; at < size; ) {
    const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, size - at), at);
    if (n === 0) return true;
    for (let i = 0; i < n; i++) if (chunk[i] !== 0) return false;
    at += n;
  }
  return true;
}

function readFully(fd: number, target: Buffer, position: number): void {
  for (let done = 0; done < target.length; ) {
    const n = fs.readSync(fd, target, done, Math.min(READ_CHUNK_BYTES, target.length - done), position + done);
    if (n === 0) throw new Error(`unexpected end of file at ${position + done}`);
    done += n;
  }
}

function timestampTypeName(header: BatchHeader): string {
  return header.timestampType === 'log-append' ? 'LogAppendTime' : 'CreateTime';
}

function batchLine(h: BatchHeader, position: number, valid: boolean): string {
  const count = h.recordsCount;
  const lastSequence = h.baseSequence < 0 ? -1 : h.baseSequence + h.lastOffsetDelta;
  return (
    `baseOffset: ${h.baseOffset} lastOffset: ${h.lastOffset} count: ${count} baseSequence: ${h.baseSequence} ` +
    `lastSequence: ${lastSequence} producerId: ${h.producerId} producerEpoch: ${h.producerEpoch} ` +
    `partitionLeaderEpoch: ${h.partitionLeaderEpoch} isTransactional: ${h.isTransactional} isControl: ${h.isControl} ` +
    `deleteHorizonMs: OptionalLong.empty position: ${position} ${timestampTypeName(h)}: ${h.maxTimestamp} ` +
    `size: ${h.sizeInBytes} magic: ${h.magic} compresscodec: ${h.compression} crc: ${h.crc} isvalid: ${valid}`
  );
}

function dumpOffsetIndex(file: string, options: DumpOptions): void {
  const index = new OffsetIndex(file, baseOffsetOf(file), { maxIndexBytes: fs.statSync(file).size || 8, writable: false });
  try {
    for (let slot = 0; slot < index.entryCount; slot++) {
      const e = index.entry(slot);
      // An untrimmed index (after a crash) ends in zero entries; Kafka stops at the first one past slot 0.
      if (slot > 0 && e.offset === index.baseOffset) break;
      options.out(`offset: ${e.offset} position: ${e.position}`);
    }
  } finally {
    index.close();
  }
}

function dumpTimeIndex(file: string, options: DumpOptions): void {
  const index = new TimeIndex(file, baseOffsetOf(file), { maxIndexBytes: fs.statSync(file).size || 12, writable: false });
  try {
    for (let slot = 0; slot < index.entryCount; slot++) {
      const e = index.entry(slot);
      if (slot > 0 && e.timestamp === 0 && e.offset === index.baseOffset) break;
      options.out(`timestamp: ${e.timestamp} offset: ${e.offset}`);
    }
  } finally {
    index.close();
  }
}

/** Producer snapshots, one line per producer, in kafka-dump-log's words (OptionalLong as Java prints it). */
function dumpProducerSnapshot(file: string, options: DumpOptions): void {
  for (const e of readProducerSnapshot(file)) {
    const txnFirstOffset = e.currentTxnFirstOffset >= 0 ? `OptionalLong[${e.currentTxnFirstOffset}]` : 'OptionalLong.empty';
    options.out(
      `producerId: ${e.producerId} producerEpoch: ${e.producerEpoch} coordinatorEpoch: ${e.coordinatorEpoch} ` +
        `currentTxnFirstOffset: ${txnFirstOffset} lastTimestamp: ${e.timestamp} ` +
        `firstSequence: ${decrementSequence(e.lastSequence, e.offsetDelta)} lastSequence: ${e.lastSequence} ` +
        `lastOffset: ${e.lastOffset} offsetDelta: ${e.offsetDelta} timestamp: ${e.timestamp}`,
    );
  }
}
