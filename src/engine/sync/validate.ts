/**
 * Everything a peer sends about a volume is checked here, once, before any of
 * it is used: the params of its requests (when it asks us) and the pages of a
 * directory listing (when it answers us). A peer may be granted and still
 * hostile: nothing it sends may reach the tree, the store or a vector in a
 * form the honest code would not make itself.
 *
 * Bad params are INVALID_ARGUMENT; a bad listing is CORRUPT and names what
 * was wrong, so the refusal can be logged in one line.
 */
import { join, vector, type Vector } from '../clock/vector.js';
import { BazilError } from '../errors.js';
import { checkName, isNameString, nameBytes, showName } from '../names.js';
import { decodeNode, manifestSize } from '../store/manifest.js';
import { INLINE_MAX } from '../tree/open-file.js';
import { NAME_MAX, SPECIAL_KINDS, isDevice, type Kind } from '../tree/tree.js';
import { XATTR_NAMES_MAX, XATTR_VALUE_MAX, xattrsFit, type Xattr } from '../tree/xattrs.js';
import type { Entry, WireEntry, WirePage } from './wire.js';
import type { SnapshotList } from './snapshots.js';
import type { Replicas, WireVector } from './replicas.js';

/** Linux's PATH_MAX, with its terminating NUL: a volume path is at most 4095 bytes. */
export const PATH_MAX = 4096;
/** The longest symlink target, in bytes (PATH_MAX - 1, as Linux allows). */
export const TARGET_MAX = PATH_MAX - 1;
/** Epochs are stored as uint32 (clock/vector.ts). */
export const EPOCH_MAX = 0xffff_ffff;
/** Replica keys one listing page may name. */
export const MAX_REPLICAS = 4096;
/** Entries (live and deleted) one directory may have in a listing, over all its pages: what a pull holds in memory at once. */
export const MAX_DIR_ENTRIES = 1_000_000;
/** The latest and earliest mtime JavaScript dates can hold, in ms (±100,000,000 days). */
const MTIME_LIMIT = 8.64e15;
/** The root's name for snapshots (fuse/volume-fs.ts serves it; it is never an entry). */
const SNAP_DIR = '.snap';

const HEX_KEY = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Where a peer names a directory of a volume: its inode there, with the parent and name it had when listed. */
export interface DirHandle {
  ino: number;
  parent: number;
  name: string;
}

// ---- names ----------------------------------------------------------------

/**
 * Why a name cannot be a directory entry, or undefined when it can. A name is
 * bytes, sent as the engine's string of them (names.ts: valid UTF-8 as text,
 * each other byte as \udc80-\udcff): one string per name, so a string that is
 * not that form of any bytes (another lone surrogate, or escaped bytes that
 * spell valid UTF-8: a second spelling of a text name) is refused.
 */
function badName(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'a name that is not a string';
  if (!isNameString(name)) return `the name "${showName(name.slice(0, 80))}", which is not the one spelling of its bytes`;
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) return `the name "${showName(name.slice(0, 80))}"`;
  const bytes = nameBytes(name).length;
  if (bytes > NAME_MAX) return `a name of ${bytes} bytes (over ${NAME_MAX})`;
  return undefined;
}

/** Names in the order the sender pages them: SQLite's order of BLOBs, byte by byte. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(nameBytes(a), nameBytes(b));
}

// ---- request params -------------------------------------------------------

const badParam = (name: string, what: string) => new BazilError('INVALID_ARGUMENT', `the request's "${name}" must be ${what}`);

/** A 32-byte value as 64 lowercase hex characters (a volume id, an object id, a proof). */
export function hexParam(params: Record<string, unknown>, name: string): Buffer {
  const v = params[name];
  if (typeof v !== 'string' || !HEX_KEY.test(v)) throw badParam(name, '64 lowercase hex characters');
  return Buffer.from(v, 'hex');
}

/** A volume's name as a user chose it (volume.info). */
export function volumeNameParam(params: Record<string, unknown>, name: string): string {
  const v = params[name];
  if (typeof v !== 'string') throw badParam(name, 'a volume name');
  try {
    return checkName('volume', v);
  } catch {
    throw badParam(name, 'a volume name (1 to 64 letters, digits, ".", "_" or "-")');
  }
}

/** An optional boolean flag. */
export function flagParam(params: Record<string, unknown>, name: string): boolean | undefined {
  const v = params[name];
  if (v !== undefined && typeof v !== 'boolean') throw badParam(name, 'true or false');
  return v;
}

const isIno = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x > 0;

/** The directory a listing is asked for: absent for the root, else a handle from an earlier listing. */
export function dirParam(params: Record<string, unknown>, name: string): DirHandle | null {
  const v = params[name];
  if (v === undefined || v === null) return null;
  const h = v as Partial<DirHandle>;
  if (typeof v !== 'object' || Array.isArray(v) || !isIno(h.ino) || !isIno(h.parent) || badName(h.name)) {
    throw badParam(name, 'a directory handle {ino, parent, name} from a listing');
  }
  return { ino: h.ino, parent: h.parent, name: h.name as string };
}

/** Where a listing goes on: absent for its first page, else the last name of the page before. */
export function cursorParam(params: Record<string, unknown>, name: string): string | null {
  const v = params[name];
  if (v === undefined || v === null) return null;
  if (badName(v)) throw badParam(name, 'the name the previous page ended with');
  return v as string;
}

// ---- answers ---------------------------------------------------------------

/** A peer's answer to volume.info: the volume's id and its sharing key check, 32 bytes each. */
export function readVolumeInfo(result: unknown): { volumeId: Buffer; keyCheck: Buffer } {
  const r = result as { volumeId?: unknown; keyCheck?: unknown } | null;
  if (!r || typeof r !== 'object' || typeof r.volumeId !== 'string' || !HEX_KEY.test(r.volumeId) || typeof r.keyCheck !== 'string' || !HEX_KEY.test(r.keyCheck)) {
    throw new BazilError('CORRUPT', 'the peer sent a malformed volume id or key check');
  }
  return { volumeId: Buffer.from(r.volumeId, 'hex'), keyCheck: Buffer.from(r.keyCheck, 'hex') };
}

// ---- listings -------------------------------------------------------------

export interface PageContext {
  replicas: Replicas;
  /** The sender's key (hex): the first replica of its list. */
  peer: string;
  /** The root's listing: `.snap` may not be in it. */
  root: boolean;
  /** The cursor the page was asked with: every name comes after it. */
  after: string | null;
  /** The directory's whole s as known before this page (from its parent's listing); EMPTY for the root. */
  base: Vector;
}

export interface Page {
  /** The directory's inode on the sender. */
  ino: number;
  m: Vector;
  /** The directory's whole s as this page shows it. */
  s: Vector;
  entries: Entry[];
  /** Ask again after this name; null when this was the last page. */
  next: string | null;
}

const KINDS = new Set(['file', 'dir', 'symlink', ...SPECIAL_KINDS, 'deleted']);
/** The largest device number (dev_t as Linux encodes it: 32-bit major and minor). */
const RDEV_MAX = 2 ** 53 - 1;

/** Checks one page of a peer's listing and maps it to local replica ids; CORRUPT names the first bad value. */
export function readPage(wire: unknown, ctx: PageContext): Page {
  const corrupt = (what: string) => new BazilError('CORRUPT', `the peer sent a malformed directory listing: ${what}`);
  if (!wire || typeof wire !== 'object' || Array.isArray(wire)) throw corrupt('not an object');
  const w = wire as Partial<WirePage>;
  if (!isIno(w.ino)) throw corrupt('no directory inode');
  const keys = replicaList(w.replicas, ctx.peer, corrupt);
  if (!Array.isArray(w.entries)) throw corrupt('no entries');
  if (w.next !== undefined && (badName(w.next) || w.entries.length === 0 || w.next !== (w.entries[w.entries.length - 1] as WireEntry)?.name)) {
    throw corrupt('a cursor that is not the last name of the page');
  }
  const vec = vectorReader(ctx.replicas, keys, corrupt);
  const s = join(ctx.base, vec(w.s, 'the directory'));
  const m = vec(w.m, 'the directory');
  let previous = ctx.after;
  const entries = w.entries.map((e: unknown) => {
    const entry = readEntry(e, s, vec, corrupt);
    if (ctx.root && entry.name === SNAP_DIR) throw corrupt(`"${SNAP_DIR}" at the root, where snapshots are`);
    if (previous !== null && compareNames(previous, entry.name) >= 0) throw corrupt(`"${showName(entry.name.slice(0, 80))}" out of name order, or twice`);
    previous = entry.name;
    return entry;
  });
  return { ino: w.ino, m, s, entries, next: w.next ?? null };
}

function replicaList(v: unknown, peer: string, corrupt: (what: string) => BazilError): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_REPLICAS) throw corrupt(`a replica list that is not 1 to ${MAX_REPLICAS} keys`);
  if (!v.every((k) => typeof k === 'string' && HEX_KEY.test(k))) throw corrupt('a replica key that is not 64 lowercase hex characters');
  if (new Set(v).size !== v.length) throw corrupt('a replica named twice');
  if (v[0] !== peer) throw corrupt('a replica list that does not begin with the sender');
  return v as string[];
}

type VectorReader = (w: unknown, what: string) => Vector;

function vectorReader(replicas: Replicas, keys: string[], corrupt: (what: string) => BazilError): VectorReader {
  const decode = replicas.decoder(keys);
  return (w, what) => {
    if (!Array.isArray(w)) throw corrupt(`a vector of ${what} that is not a list of pairs`);
    if (w.length > keys.length) throw corrupt(`a vector of ${what} with more pairs than replicas`);
    const seen = new Set<number>();
    for (const p of w) {
      if (!Array.isArray(p) || p.length !== 2) throw corrupt(`a vector of ${what} that is not a list of pairs`);
      const [i, epoch] = p as unknown[];
      if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= keys.length || seen.has(i)) throw corrupt(`a vector of ${what} with a bad replica index`);
      if (typeof epoch !== 'number' || !Number.isInteger(epoch) || epoch < 0 || epoch > EPOCH_MAX) throw corrupt(`a vector of ${what} with the epoch ${String(epoch).slice(0, 30)} (0 to ${EPOCH_MAX})`);
      seen.add(i);
    }
    return vector(decode(w as WireVector));
  };
}

function readEntry(v: unknown, dirS: Vector, vec: VectorReader, corrupt: (what: string) => BazilError): Entry {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw corrupt('an entry that is not an object');
  const e = v as Partial<WireEntry>;
  const nameProblem = badName(e.name);
  if (nameProblem) throw corrupt(nameProblem);
  const name = e.name as string;
  const shown = `"${showName(name.slice(0, 80))}"`;
  const bad = (what: string) => corrupt(`${what} for ${shown}`);
  if (typeof e.kind !== 'string' || !KINDS.has(e.kind)) throw bad('an unknown kind');
  const vectors = { m: vec(e.m, shown), s: join(dirS, vec(e.s, shown)), c: vec(e.c, shown) };
  const none = { mode: 0, size: 0, mtime: 0, data: null, manifest: null, target: null, rdev: 0, xattrs: [], ino: null };
  if (e.kind === 'deleted') return { name, kind: 'deleted', ...none, ...vectors };
  const kind = e.kind as Kind;
  if (typeof e.mode !== 'number' || !Number.isInteger(e.mode) || e.mode < 0 || e.mode > 0o7777) throw bad('a mode that is not 0 to 07777');
  if (typeof e.mtime !== 'number' || !Number.isSafeInteger(e.mtime) || Math.abs(e.mtime) > MTIME_LIMIT) throw bad('an mtime that is not a date');
  if (e.mtimeNs !== undefined && (typeof e.mtimeNs !== 'number' || !Number.isInteger(e.mtimeNs) || e.mtimeNs < 0 || e.mtimeNs >= 1_000_000)) {
    throw bad("an mtime's nanoseconds that are not 0 to 999999 past its millisecond");
  }
  if (typeof e.size !== 'number' || !Number.isSafeInteger(e.size) || e.size < 0) throw bad('a size that is not a whole number of bytes');
  if (kind !== 'file' && kind !== 'dir' && e.xattrs !== undefined) throw bad(`extended attributes on a ${kind}`);
  const base = { ...none, name, kind, mode: e.mode, mtime: e.mtime, mtimeNs: e.mtimeNs ?? 0, xattrs: readXattrs(e.xattrs, bad), ...vectors };
  if (kind !== 'file' && (e.data !== undefined || e.manifest !== undefined)) throw bad(`content on a ${kind}`);
  if (kind !== 'symlink' && e.target !== undefined) throw bad(`a target on a ${kind}`);
  if (kind !== 'dir' && e.ino !== undefined) throw bad(`an inode on a ${kind}`);
  if (!isDevice(kind) && e.rdev !== undefined) throw bad(`a device number on a ${kind}`);
  switch (kind) {
    case 'fifo':
    case 'socket':
    case 'chardev':
    case 'blockdev': {
      // Special files are metadata only: no content, and a device its number.
      if (e.size !== 0) throw bad(`a size of ${e.size} bytes on a ${kind}`);
      const rdev = e.rdev ?? 0;
      if (typeof rdev !== 'number' || !Number.isSafeInteger(rdev) || rdev < 0 || rdev > RDEV_MAX) throw bad('a device number that is not a whole number');
      return { ...base, size: 0, rdev };
    }
    case 'dir':
      if (!isIno(e.ino)) throw bad('a directory without its inode');
      return { ...base, ino: e.ino };
    case 'symlink': {
      // A target is bytes too, sent as a name is.
      const t = e.target;
      if (typeof t !== 'string' || t === '' || t.includes('\0') || !isNameString(t) || nameBytes(t).length > TARGET_MAX) {
        throw bad(`a symlink target that is not 1 to ${TARGET_MAX} bytes without NUL`);
      }
      if (e.size !== nameBytes(t).length) throw bad("a size that is not its target's length");
      return { ...base, size: e.size, target: t };
    }
    case 'file': {
      if (e.data !== undefined && e.manifest !== undefined) throw bad('both inline data and a manifest');
      if (e.data !== undefined) {
        const data = base64(e.data, INLINE_MAX, () => bad(`inline data that is not base64 of at most ${INLINE_MAX} bytes`));
        if (data.length !== e.size) throw bad(`a size of ${e.size} bytes with ${data.length} bytes of inline data`);
        return { ...base, size: e.size, data };
      }
      if (e.manifest !== undefined) {
        // A manifest root's entries span the file: its size is theirs, never more (or a read would
        // reach past the content into whatever memory held the buffer).
        const manifest = base64(e.manifest, Infinity, () => bad('a manifest that is not base64'));
        let spans: number;
        try {
          spans = manifestSize(decodeNode(manifest, 'its manifest root'));
        } catch (err) {
          throw bad(`a manifest root that does not parse (${(err as Error).message})`);
        }
        if (spans !== e.size) throw bad(`a size of ${e.size} bytes with a manifest of ${spans}`);
        return { ...base, size: e.size, manifest };
      }
      if (e.size !== 0) throw bad(`a size of ${e.size} bytes with no content`);
      return { ...base, size: 0, data: Buffer.alloc(0) };
    }
  }
}

/**
 * An entry's extended attributes: user.* names of at most 255 bytes without
 * NUL, in strictly increasing byte order, values and totals within one
 * inode's bounds (tree/xattrs.ts), as a local setxattr would allow.
 */
function readXattrs(v: unknown, bad: (what: string) => BazilError): Xattr[] {
  if (v === undefined) return [];
  const refuse = () => bad('extended attributes that are not user.* names and values in name order within their bounds');
  if (!Array.isArray(v) || v.length === 0 || v.length > XATTR_NAMES_MAX / 7) throw refuse();
  const list = v.map((p: unknown): Xattr => {
    if (!Array.isArray(p) || p.length !== 2) throw refuse();
    return [base64(p[0], NAME_MAX, refuse), base64(p[1], XATTR_VALUE_MAX, refuse)];
  });
  for (let i = 0; i < list.length; i++) {
    if (list[i][0].includes(0) || (i > 0 && Buffer.compare(list[i - 1][0], list[i][0]) >= 0)) throw refuse();
  }
  if (!xattrsFit(list)) throw refuse();
  return list;
}

function base64(v: unknown, max: number, bad: () => BazilError): Buffer {
  if (typeof v !== 'string' || v.length % 4 !== 0 || !BASE64.test(v) || (v.length / 4) * 3 > max + 2) throw bad();
  const bytes = Buffer.from(v, 'base64');
  if (bytes.length > max) throw bad();
  return bytes;
}

// ---- snapshot listings (engine/sync/snapshots.ts) ----------------------------

/** Snapshots, and snapshot deletions, one listing may carry. */
export const MAX_SNAPSHOTS = 10_000;
/** The largest snapshot root (an encoded manifest root) accepted, in bytes. */
export const SNAPSHOT_ROOT_MAX = 64 * 1024;

/** Checks a peer's answer to sync.snapshots; CORRUPT names the first bad value. */
export function readSnapshots(result: unknown): SnapshotList {
  const corrupt = (what: string) => new BazilError('CORRUPT', `the peer sent a malformed snapshot listing: ${what}`);
  const r = result as { snapshots?: unknown; deleted?: unknown } | null;
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw corrupt('not an object');
  const list = (v: unknown, what: string): Record<string, unknown>[] => {
    if (!Array.isArray(v) || v.length > MAX_SNAPSHOTS) throw corrupt(`${what} that are not a list of at most ${MAX_SNAPSHOTS}`);
    if (!v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) throw corrupt(`${what} with an entry that is not an object`);
    return v as Record<string, unknown>[];
  };
  const name = (v: unknown): string => {
    try {
      return checkName('snapshot', typeof v === 'string' ? v : '');
    } catch {
      throw corrupt(`the snapshot name ${JSON.stringify(String(v).slice(0, 80))}`);
    }
  };
  const root = (v: unknown, of: string): Buffer => {
    const bytes = base64(v, SNAPSHOT_ROOT_MAX, () => corrupt(`a root of "${of}" that is not base64 of at most ${SNAPSHOT_ROOT_MAX} bytes`));
    try {
      decodeNode(bytes, 'its root');
    } catch (err) {
      throw corrupt(`a root of "${of}" that does not parse (${(err as Error).message})`);
    }
    return bytes;
  };
  const time = (v: unknown, of: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || Math.abs(v) > MTIME_LIMIT) throw corrupt(`a time of "${of}" that is not a date`);
    return v;
  };
  const names = new Set<string>();
  const snapshots = list(r.snapshots, 'snapshots').map((s) => {
    const n = name(s.name);
    if (names.has(n)) throw corrupt(`the snapshot "${n}" twice`);
    names.add(n);
    return { name: n, root: root(s.root, n), createdAt: time(s.createdAt, n) };
  });
  const deleted = list(r.deleted, 'deletions').map((d) => {
    const n = name(d.name);
    return { name: n, root: root(d.root, n), at: time(d.at, n) };
  });
  return { snapshots, deleted };
}
