/**
 * The native addon (native/fuse_edge.cc, built by node-gyp at install): libfuse3's
 * low-level API. Requests come in batches; each is answered once, by its id,
 * with one of the reply functions.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BazilError } from '../engine/errors.js';

/** The operations, numbered as in native/fuse_edge.cc. */
export enum Op {
  LOOKUP, GETATTR, SETATTR, READLINK, MKDIR, UNLINK, RMDIR, SYMLINK, RENAME, OPEN, READ, WRITE,
  FLUSH, RELEASE, FSYNC, OPENDIR, READDIR, RELEASEDIR, STATFS, CREATE, READDIRPLUS, LINK, MKNOD, LSEEK,
  SETXATTR, GETXATTR, LISTXATTR, REMOVEXATTR, FALLOCATE,
}

/** What setattr's toSet says to change (FUSE_SET_ATTR_*). */
export const SET = { MODE: 1, UID: 2, GID: 4, SIZE: 8, ATIME: 16, MTIME: 32, ATIME_NOW: 128, MTIME_NOW: 256 } as const;

export interface Request {
  id: number;
  op: Op;
  /** The inode the request is about (a directory for name operations). */
  ino: number;
  name?: Buffer;
  /** rename's new name, symlink's target. (name: an entry's name, or an extended attribute's.) */
  name2?: Buffer;
  /** rename's new parent, link's new parent. */
  ino2: number;
  fh: number;
  mode: number;
  /** open(2) flags; rename(2) flags; fsync's datasync; setattr: 1 when fh is set; lseek's whence; setxattr's XATTR_CREATE/REPLACE. */
  flags: number;
  /** read's length; getxattr's and listxattr's buffer size; fallocate's length; mknod's rdev. (mode: fallocate's mode.) */
  size: number;
  offset: number;
  toSet?: number;
  atimeS?: number;
  atimeNs?: number;
  mtimeS?: number;
  mtimeNs?: number;
  /** write's bytes, setxattr's value. */
  data?: Buffer;
}

/** [ino, mode, nlink, uid, gid, size, blocks, atimeS, atimeNs, mtimeS, mtimeNs, ctimeS, ctimeNs, rdev?] */
export type Attr = number[];
/** [attr (null: the name does not exist), generation, timeout in seconds] */
export type Entry = [Attr | null, number, number];

declare const sessionBrand: unique symbol;
export type Session = { [sessionBrand]: true };

export interface Edge {
  mount(dir: string, options: string, handler: (batch: Request[]) => void): Session;
  /** umount2(2) with flags (MNT_FORCE, MNT_DETACH): 0, or its errno. */
  umount(dir: string, flags: number): number;
  /** True once the kernel ended the session's connection. */
  ended(s: Session): boolean;
  /** Stops the session's threads and frees it: after it ended and every request was answered. */
  destroy(s: Session): void;
  invalEntry(s: Session, parent: number, name: Buffer): void;
  /** Drops the inode's cached attributes, and with data its cached pages. */
  invalInode(s: Session, ino: number, data: boolean): void;
  replyErr(id: number, errno: number): void;
  replyNone(id: number): void;
  replyEntry(id: number, entry: Entry): void;
  replyAttr(id: number, attr: Attr, timeout: number): void;
  replyOpen(id: number, fh: number, keepCache: boolean): void;
  replyCreate(id: number, entry: Entry, fh: number): void;
  replyBuf(id: number, buf: Buffer, length: number): void;
  replyWrite(id: number, count: number): void;
  /** lseek: the offset found. */
  replyLseek(id: number, offset: number): void;
  /** getxattr, listxattr asked with size 0: the size needed. */
  replyXattr(id: number, size: number): void;
  replyReadlink(id: number, target: Buffer): void;
  replyStatfs(id: number, s: number[]): void;
  /** Answers entries from `offset` on, as many as fit in size; returns how many. entries: Entry (plus) or [ino, mode]. */
  replyDir(id: number, size: number, offset: number, names: Buffer[], entries: unknown[], plus: boolean): number;
}

const ADDON = fileURLToPath(new URL('../../../build/Release/fuse_edge.node', import.meta.url));

let loaded: Edge | undefined;

export function edge(): Edge {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)(ADDON) as Edge;
  } catch (err) {
    throw new BazilError('INTERNAL', `the FUSE addon could not be loaded (${(err as Error).message}): run \`npm install\` (it builds ${ADDON} and needs libfuse3-dev)`, { cause: err });
  }
  return loaded;
}
