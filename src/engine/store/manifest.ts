/**
 * A file's manifest: the list of its chunks (hash, length), in order. A long list
 * is cut into nodes that are stored as chunks themselves, and the node hashes are
 * listed one level up, until one root node remains: a 100 GB file costs one small
 * root plus a tree of nodes in the store.
 *
 * Nodes end where an entry's hash says so (content-defined, like the chunks), so
 * an edit in the middle of a file rewrites only the nodes on its path to the root.
 *
 * Node format: "BZM1" ‖ level u8 ‖ count u32le ‖ count × (hash[32] ‖ span u64le),
 * where span is the number of file bytes the entry covers.
 */
import { BazilError } from '../errors.js';
import { HASH_BYTES } from './convergent.js';

export interface ManifestEntry {
  h: Buffer;
  span: number;
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
const HEADER = MAGIC.length + 1 + 4;
const ENTRY = HASH_BYTES + 8;

export const EMPTY_MANIFEST: ManifestNode = { level: 0, entries: [] };

export function manifestSize(node: ManifestNode): number {
  let n = 0;
  for (const e of node.entries) n += e.span;
  return n;
}

export function encodeNode(node: ManifestNode): Buffer {
  const buf = Buffer.alloc(HEADER + node.entries.length * ENTRY);
  MAGIC.copy(buf, 0);
  buf.writeUInt8(node.level, MAGIC.length);
  buf.writeUInt32LE(node.entries.length, MAGIC.length + 1);
  let at = HEADER;
  for (const e of node.entries) {
    e.h.copy(buf, at);
    buf.writeBigUInt64LE(BigInt(e.span), at + HASH_BYTES);
    at += ENTRY;
  }
  return buf;
}

/** Parses a node; `what` names it in the CORRUPT error when the bytes are not a node. */
export function decodeNode(buf: Buffer, what: string): ManifestNode {
  const bad = (why: string) => new BazilError('CORRUPT', `${what} is not a valid manifest: ${why}`);
  if (buf.length < HEADER || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw bad('bad magic');
  const level = buf.readUInt8(MAGIC.length);
  const count = buf.readUInt32LE(MAGIC.length + 1);
  if (buf.length !== HEADER + count * ENTRY) throw bad(`length ${buf.length} does not fit ${count} entries`);
  const entries: ManifestEntry[] = [];
  for (let at = HEADER; at < buf.length; at += ENTRY) {
    const span = Number(buf.readBigUInt64LE(at + HASH_BYTES));
    if (!Number.isSafeInteger(span) || span === 0) throw bad(`entry span ${span}`);
    entries.push({ h: Buffer.from(buf.subarray(at, at + HASH_BYTES)), span });
  }
  return { level, entries };
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
    if ((entry.h.readUInt16LE(0) & (this.fanout.avg - 1)) === 0 || entries.length >= this.fanout.max) {
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
