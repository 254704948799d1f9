// Producer id allocation for InitProducerId. In Kafka the controller hands out
// blocks of 1000 ids and records each block durably before a broker uses it,
// so an id is never given twice, even across restarts. A single broker does
// the same with a file in its first log dir: the block is written (fsynced,
// renamed into place) before any id in it is returned; after a restart the
// next id comes from the block after the recorded one. Ids left unused in a
// block when the broker stops are skipped, as in Kafka.
//
// File format (Kafka's old ZooKeeper node /latest_producer_id_block, as JSON):
//   {"version":1,"broker":<node id>,"block_start":"<first id>","block_end":"<last id>"}
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../storage/checkpoint.js';

export const PRODUCER_ID_BLOCK_FILE = 'producer-id-block.json';
/** Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE. */
export const PRODUCER_ID_BLOCK_SIZE = 1000;
const BLOCK_FILE_BYTES_MAX = 4096;
const BLOCK_VERSION = 1;

export class ProducerIdManager {
  private nextId = 0;
  /** One past the last id of the current block; nextId === blockEnd means a new block is needed. */
  private blockEnd = 0;

  private constructor(
    private readonly file: string,
    private readonly nodeId: number,
    /** The first id of the next block to reserve. */
    private nextBlockStart: number,
  ) {}

  /** Reads the last reserved block from `dir` (or starts at 0). A damaged file stops the broker: reusing ids would be worse. */
  static open(dir: string, nodeId: number): ProducerIdManager {
    const file = path.join(dir, PRODUCER_ID_BLOCK_FILE);
    if (!fs.existsSync(file)) return new ProducerIdManager(file, nodeId, 0);
    const size = fs.statSync(file).size;
    if (size > BLOCK_FILE_BYTES_MAX) throw new Error(`${file}: ${size} bytes is not a producer id block`);
    let doc: { version?: unknown; block_end?: unknown };
    try {
      doc = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof doc;
    } catch (err) {
      throw new Error(`${file}: unreadable producer id block: ${(err as Error).message}`);
    }
    const end = typeof doc.block_end === 'string' ? Number(doc.block_end) : NaN;
    if (doc.version !== BLOCK_VERSION || !Number.isSafeInteger(end) || end < -1) {
      throw new Error(`${file}: unreadable producer id block ${JSON.stringify(doc)}`);
    }
    return new ProducerIdManager(file, nodeId, end + 1);
  }

  /** A producer id never returned before by this broker. Throws when the block cannot be recorded (disk failure). */
  generateProducerId(): bigint {
    if (this.nextId >= this.blockEnd) this.reserveBlock();
    return BigInt(this.nextId++);
  }

  private reserveBlock(): void {
    const start = this.nextBlockStart;
    const last = start + PRODUCER_ID_BLOCK_SIZE - 1;
    if (!Number.isSafeInteger(last)) throw new Error('producer ids exhausted');
    const doc = { version: BLOCK_VERSION, broker: this.nodeId, block_start: String(start), block_end: String(last) };
    writeFileAtomic(this.file, JSON.stringify(doc));
    this.nextBlockStart = last + 1;
    this.nextId = start;
    this.blockEnd = last + 1;
  }
}

/** Where InitProducerId gets ids: this broker's block file, or (in a cluster) blocks the cluster hands out. */
export interface ProducerIdSource {
  generateProducerId(): bigint | Promise<bigint>;
}

/**
 * Producer ids from blocks reserved in the cluster's metadata (etcd), as
 * Kafka's brokers get theirs from the controller: no two brokers ever hand
 * out the same id, which a block file per broker could not promise. Ids left
 * in a block when the broker stops are skipped.
 */
export class ClusterProducerIds implements ProducerIdSource {
  private nextId = 0;
  private blockEnd = 0;
  private refilling: Promise<void> | null = null;

  constructor(private readonly reserveBlock: (size: number) => Promise<{ start: number; end: number }>) {}

  generateProducerId(): bigint | Promise<bigint> {
    if (this.nextId < this.blockEnd) return BigInt(this.nextId++);
    this.refilling ??= this.reserveBlock(PRODUCER_ID_BLOCK_SIZE)
      .then((block) => {
        this.nextId = block.start;
        this.blockEnd = block.end + 1;
      })
      .finally(() => (this.refilling = null));
    return this.refilling.then(() => this.generateProducerId());
  }
}
