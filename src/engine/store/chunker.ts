/**
 * Content-defined chunking, FastCDC style (Xia et al., "FastCDC", USENIX ATC 2016):
 * a gear rolling hash, no cut points before `min`, a harder mask before `avg` and
 * an easier one after it ("normalized chunking", which narrows the size spread),
 * and a forced cut at `max`. Because cut points depend only on nearby content, an
 * insert or delete moves the boundaries of the chunks around it and no others.
 *
 * The gear table is derived from the sharing key, so the chunk boundaries (and so
 * the sizes a store without the key can see) reveal nothing about content to
 * anyone who does not hold the key, while holders still dedup each other's data.
 */
import { createHmac } from 'node:crypto';

export interface ChunkParams {
  min: number;
  avg: number;
  max: number;
}

export const DEFAULT_CHUNK_PARAMS: ChunkParams = { min: 256 << 10, avg: 1 << 20, max: 4 << 20 };

/** 256 pseudo-random 32-bit gear values, a pure function of the key. */
export function gearTable(key: Uint8Array): Int32Array {
  const bytes = Buffer.alloc(1024);
  for (let i = 0; i < 32; i++) {
    createHmac('sha256', key).update(`gear ${i}`).digest().copy(bytes, i * 32);
  }
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = bytes.readInt32LE(i * 4);
  return table;
}

/** A mask of the top `bits` bits of a 32-bit word, as a signed int for fast `&`. */
function topBits(bits: number): number {
  return (~0 << (32 - bits)) | 0;
}

export function validateChunkParams(p: ChunkParams): void {
  const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(p.avg) || p.avg < 256 || !(p.min > 0 && p.min < p.avg && p.avg < p.max)) {
    throw new RangeError(`bad chunk parameters ${JSON.stringify(p)}: need 0 < min < avg < max, avg a power of two >= 256`);
  }
}

/**
 * Splits a byte stream into chunks. Feed it with push() in pieces of any size and
 * call finish() at the end; the chunks are the same whatever the piece sizes.
 * Returned chunks reference the pushed buffers where they can (no copy), so the
 * caller must not reuse a buffer after pushing it.
 */
export class Chunker {
  private readonly gear: Int32Array;
  private readonly min: number;
  private readonly avg: number;
  private readonly max: number;
  private readonly maskS: number;
  private readonly maskL: number;
  private parts: Buffer[] = [];
  private size = 0; // bytes of the current chunk seen so far
  private hash = 0;

  constructor(gear: Int32Array, params: ChunkParams = DEFAULT_CHUNK_PARAMS) {
    validateChunkParams(params);
    this.gear = gear;
    this.min = params.min;
    this.avg = params.avg;
    this.max = params.max;
    const bits = Math.log2(params.avg);
    this.maskS = topBits(bits + 2);
    this.maskL = topBits(bits - 2);
  }

  /** True at a cut point: nothing of a chunk is pending (at the start, or just after a cut). */
  get atCut(): boolean {
    return this.size === 0;
  }

  push(data: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let off = 0;
    while (off < data.length) {
      const end = this.scan(data, off);
      if (end < 0) {
        this.parts.push(data.subarray(off));
        break;
      }
      this.parts.push(data.subarray(off, end));
      out.push(this.take());
      off = end;
    }
    return out;
  }

  finish(): Buffer[] {
    return this.size > 0 ? [this.take()] : [];
  }

  private take(): Buffer {
    const chunk = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    this.hash = 0;
    return chunk;
  }

  /**
   * Scans data from off onwards as the continuation of the current chunk. Returns
   * the index in data just past the cut point, or -1 when data ran out first (the
   * hash state is kept for the next piece). Either way this.size is updated.
   */
  private scan(data: Buffer, off: number): number {
    const len = data.length;
    const base = this.size - off; // chunk-relative position of data[i] is base + i
    let i = off;
    if (this.size < this.min) {
      i = Math.min(len, this.min - base); // no cut point can fall before min
      if (base + i < this.min) {
        this.size = base + len;
        return -1;
      }
    }
    const gear = this.gear;
    let h = this.hash;
    const maskS = this.maskS;
    let stop = Math.min(len, this.avg - base);
    while (i < stop) {
      h = ((h << 1) + gear[data[i++]]) | 0;
      if ((h & maskS) === 0) {
        this.size = base + i;
        return i;
      }
    }
    const maskL = this.maskL;
    stop = Math.min(len, this.max - base);
    while (i < stop) {
      h = ((h << 1) + gear[data[i++]]) | 0;
      if ((h & maskL) === 0) {
        this.size = base + i;
        return i;
      }
    }
    this.size = base + i;
    if (this.size >= this.max) return i;
    this.hash = h;
    return -1;
  }
}
