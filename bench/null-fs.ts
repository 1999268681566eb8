/**
 * A do-nothing FUSE file system on fuse-native, with the same mount options
 * as a Bazil volume: the ceiling this binding allows. Writes are accepted and
 * dropped, reads return the bytes asked for without touching them, and files
 * exist only as names with sizes (directories as names).
 */
import { constants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { mountOps, type Mounted } from '../src/fuse/mount.js';

export function mountNullFs(dir: string): Promise<Mounted> {
  const sizes = new Map<string, number>();
  const dirs = new Set<string>();
  const now = Date.now();
  const stat = (mode: number, size: number) => ({ mode, size, mtime: now, atime: now, ctime: now, nlink: 1, uid: process.getuid!(), gid: process.getgid!() });
  const ENOENT = -osConstants.errno.ENOENT;
  const ops = {
    getattr: (path: string, cb: (code: number, st?: unknown) => void) => {
      if (path === '/' || dirs.has(path)) return cb(0, stat(constants.S_IFDIR | 0o755, 0));
      const size = sizes.get(path);
      return size === undefined ? cb(ENOENT) : cb(0, stat(constants.S_IFREG | 0o644, size));
    },
    readdir: (_path: string, cb: (code: number, names: string[]) => void) => cb(0, [...sizes.keys()].map((p) => p.slice(1))),
    create: (path: string, _mode: number, cb: (code: number, fh: number) => void) => {
      sizes.set(path, 0);
      cb(0, 1);
    },
    open: (path: string, _flags: number, cb: (code: number, fh?: number) => void) => (sizes.has(path) ? cb(0, 1) : cb(ENOENT)),
    read: (path: string, _fh: number, _buf: Buffer, len: number, pos: number, cb: (n: number) => void) =>
      cb(Math.max(0, Math.min(len, (sizes.get(path) ?? 0) - pos))),
    write: (path: string, _fh: number, _buf: Buffer, len: number, pos: number, cb: (n: number) => void) => {
      sizes.set(path, Math.max(sizes.get(path) ?? 0, pos + len));
      cb(len);
    },
    truncate: (path: string, size: number, cb: (code: number) => void) => {
      sizes.set(path, size);
      cb(0);
    },
    utimens: (_p: string, _a: number, _m: number, cb: (code: number) => void) => cb(0),
    chmod: (_p: string, _m: number, cb: (code: number) => void) => cb(0),
    flush: (_p: string, _fh: number, cb: (code: number) => void) => cb(0),
    fsync: (_p: string, _d: boolean, _fh: number, cb: (code: number) => void) => cb(0),
    mkdir: (path: string, _mode: number, cb: (code: number) => void) => {
      dirs.add(path);
      cb(0);
    },
    release: (_p: string, _fh: number, cb: (code: number) => void) => cb(0),
  };
  return mountOps(dir, ops, 'null');
}
