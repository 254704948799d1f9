// Minimal type declarations for the untyped compression packages, covering
// only what src/record/compression.ts calls. fzstd ships its own types.

declare module 'lz4js' {
  interface Lz4js {
    /** Worst-case size of compressing `n` bytes as one block. */
    compressBound(n: number): number;
    /**
     * Compresses src[sIndex, sIndex + sLength) as one raw LZ4 block into dst
     * (from 0); returns the block's size, or 0 when nothing could be matched.
     * `hashTable` (65536 entries) must be zeroed for an independent block.
     */
    compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
  }
  const lz4js: Lz4js;
  export default lz4js;
}

declare module 'lz4js/xxh32.js' {
  interface Xxh32 {
    /** XXH32 of src[index, index + length) with `seed`, as an unsigned 32-bit number. */
    hash(seed: number, src: Uint8Array, index: number, length: number): number;
  }
  const xxh32: Xxh32;
  export default xxh32;
}

declare module 'snappyjs' {
  interface SnappyJs {
    /** Raw snappy block (no framing). */
    compress(input: Buffer): Buffer;
    /** Decodes one raw snappy block; throws when its declared length exceeds maxLength. */
    uncompress(input: Buffer, maxLength?: number): Buffer;
  }
  const snappyjs: SnappyJs;
  export default snappyjs;
}
