/**
 * A file's manifest: the list of its chunks (hash, length), in order. A long list
 * is cut into nodes that are stored as chunks themselves, and the node hashes are
 * listed one level up, until one root node remains: a 100 GB file costs one small
 * root plus a tree of nodes in the store.
 *
 * Nodes end where an entry's hash says so (content-defined, like the chunks), so
 * an edit in the middle of a file rewrites only the nodes on its path to the root.
 *
 * A hole (bytes never written, as a sparse file has) is a level-0 entry with
 * no object: its hash is all zeros and it stores nothing. Reads of a hole are
 * zeros, and a 1 TiB hole costs one entry, not a terabyte of zero chunks.
 *
 * Node format: "BZM1" ‖ level u8 ‖ count u32le ‖ count × (hash[32] ‖ span u64le),
 * where span is the number of file bytes the entry covers. A node with a hole
 * in or under it is "BZM2", whose entries also carry stored u64le: the bytes
 * under the entry that are data, not holes (so a file's st_blocks is its root's
 * sum, without reading the tree). Nodes without holes stay BZM1, byte for byte.
 */
import { BazilError } from '../errors.js';
import { HASH_BYTES } from './convergent.js';

export interface ManifestEntry {
  h: Buffer;
  span: number;
  /** Bytes under the entry that are data, when fewer than span (holes below); 0 at level 0 is a hole. */
  stored?: number;
}

export interface ManifestNode {
  /** 0: entries are data chunks; n > 0: entries are nodes of level n - 1. */
  level: number;
  entries: ManifestEntry[];
}

export interface FanoutParams {
  /** A node ends after an entry whose hash's low 16 bits are 0 modulo this (power of two). */
  avg: number;
  /** ... or when it has this many entries. */
  max: number;
}

export const DEFAULT_FANOUT: FanoutParams = { avg: 256, max: 1024 };

const MAGIC = Buffer.from('BZM1');
const MAGIC_HOLES = Buffer.from('BZM2');
const HEADER = MAGIC.length + 1 + 4;
const ENTRY = HASH_BYTES + 8;
const ENTRY_HOLES = ENTRY + 8;
/** The hash of a hole entry: no object has it (no SHA-256 is known to be all zeros). */
const HOLE_HASH = Buffer.alloc(HASH_BYTES);

export const EMPTY_MANIFEST: ManifestNode = { level: 0, entries: [] };

/** A level-0 entry of `span` zero bytes that are not stored. */
export function holeEntry(span: number): ManifestEntry {
  return { h: HOLE_HASH, span, stored: 0 };
}

/** True for a hole entry (only level-0 entries can be holes). */
export function isHole(entry: ManifestEntry): boolean {
  return entry.stored === 0 && entry.h.equals(HOLE_HASH);
}

export const storedOf = (e: ManifestEntry): number => e.stored ?? e.span;

export function manifestSize(node: ManifestNode): number {
  let n = 0;
  for (const e of node.entries) n += e.span;
  return n;
}

/** The bytes of the file that are data, not holes: what its content costs in a store. */
export function manifestStored(node: ManifestNode): number {
  let n = 0;
  for (const e of node.entries) n += storedOf(e);
  return n;
}

/** The entry one level up that refers to `node`, stored under hash h. */
export function nodeEntry(h: Buffer, node: ManifestNode): ManifestEntry {
  const span = manifestSize(node);
  const stored = manifestStored(node);
  return stored < span ? { h, span, stored } : { h, span };
}

export function encodeNode(node: ManifestNode): Buffer {
  const holes = node.entries.some((e) => e.stored !== undefined && e.stored < e.span);
  const size = holes ? ENTRY_HOLES : ENTRY;
  const buf = Buffer.alloc(HEADER + node.entries.length * size);
  (holes ? MAGIC_HOLES : MAGIC).copy(buf, 0);
  buf.writeUInt8(node.level, MAGIC.length);
  buf.writeUInt32LE(node.entries.length, MAGIC.length + 1);
  let at = HEADER;
  for (const e of node.entries) {
    e.h.copy(buf, at);
    buf.writeBigUInt64LE(BigInt(e.span), at + HASH_BYTES);
    if (holes) buf.writeBigUInt64LE(BigInt(storedOf(e)), at + ENTRY);
    at += size;
  }
  return buf;
}

/**
 * Checks a node's encoding and calls visit(at, span, stored) for each entry
 * (stored as encoded: the span itself in BZM1). Returns the level.
 */
function parseNode(buf: Buffer, what: string, visit: (at: number, span: number, stored: number) => void): number {
  const bad = (why: string) => new BazilError('CORRUPT', `${what} is not a valid manifest: ${why}`);
  const magic = buf.subarray(0, MAGIC.length);
  const holes = magic.equals(MAGIC_HOLES);
  if (buf.length < HEADER || !(holes || magic.equals(MAGIC))) throw bad('bad magic');
  const size = holes ? ENTRY_HOLES : ENTRY;
  const level = buf.readUInt8(MAGIC.length);
  const count = buf.readUInt32LE(MAGIC.length + 1);
  if (buf.length !== HEADER + count * size) throw bad(`length ${buf.length} does not fit ${count} entries`);
  for (let at = HEADER; at < buf.length; at += size) {
    const span = Number(buf.readBigUInt64LE(at + HASH_BYTES));
    if (!Number.isSafeInteger(span) || span === 0) throw bad(`entry span ${span}`);
    const stored = holes ? Number(buf.readBigUInt64LE(at + ENTRY)) : span;
    if (!(stored >= 0 && stored <= span)) throw bad(`entry stores ${stored} of ${span} bytes`);
    if (level === 0 && stored !== span && (stored !== 0 || !buf.subarray(at, at + HASH_BYTES).equals(HOLE_HASH))) {
      throw bad(`a data entry stores ${stored} of ${span} bytes`);
    }
    visit(at, span, stored);
  }
  return level;
}

/** Parses a node; `what` names it in the CORRUPT error when the bytes are not a node. */
export function decodeNode(buf: Buffer, what: string): ManifestNode {
  const entries: ManifestEntry[] = [];
  const level = parseNode(buf, what, (at, span, stored) => {
    const h = Buffer.from(buf.subarray(at, at + HASH_BYTES));
    entries.push(stored < span ? { h, span, stored } : { h, span });
  });
  return { level, entries };
}

/** The file size and stored bytes an encoded root describes, without building its entries (for stat). */
export function encodedSizes(buf: Buffer, what: string): { size: number; stored: number } {
  let size = 0;
  let stored = 0;
  parseNode(buf, what, (_at, span, s) => {
    size += span;
    stored += s;
  });
  if (!Number.isSafeInteger(size)) throw new BazilError('CORRUPT', `${what} is not a valid manifest: it covers more than 2^53 bytes`);
  return { size, stored };
}

/**
 * Builds a manifest tree from entries added in file order. storeNode persists a
 * finished inner node and returns the entry that refers to it.
 */
export class ManifestBuilder {
  private readonly levels: ManifestEntry[][] = [[]];

  constructor(
    private readonly storeNode: (node: ManifestNode) => Promise<ManifestEntry>,
    private readonly fanout: FanoutParams = DEFAULT_FANOUT,
  ) {}

  async add(entry: ManifestEntry, level = 0): Promise<void> {
    if (this.levels.length === level) this.levels.push([]);
    const entries = this.levels[level];
    entries.push(entry);
    // A hole's hash is all zeros: it does not end a node (that would cut one after every hole).
    const cut = !isHole(entry) && (entry.h.readUInt16LE(0) & (this.fanout.avg - 1)) === 0;
    if (cut || entries.length >= this.fanout.max) {
      this.levels[level] = [];
      await this.add(await this.storeNode({ level, entries }), level + 1);
    }
  }

  /** Closes every open node and returns the root (kept in memory, not stored). */
  async finish(): Promise<ManifestNode> {
    for (let level = 0; ; level++) {
      const above = this.levels.slice(level + 1).some((l) => l.length > 0);
      if (!above) return { level, entries: this.levels[level] };
      if (this.levels[level].length > 0) {
        const entries = this.levels[level];
        this.levels[level] = [];
        await this.add(await this.storeNode({ level, entries }), level + 1);
      }
    }
  }
}
