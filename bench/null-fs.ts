/**
 * A do-nothing FUSE file system on Bazil's own edge (src/fuse/edge.ts), with
 * the same caching as a Bazil volume: the ceiling the edge allows. Writes are
 * accepted and dropped, reads return the bytes asked for without touching
 * them, and files exist only as names with sizes (directories as names).
 */
import { constants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { edge, Op, SET, type Attr, type Entry, type Request } from '../src/fuse/edge.js';
import { mountOps, type Mounted } from '../src/fuse/mount.js';

const TTL = 3600;

export function mountNullFs(dir: string): Promise<Mounted> {
  const e = edge();
  const inos = new Map<string, number>();
  const nodes = new Map<number, { dir: boolean; size: number }>([[1, { dir: true, size: 0 }]]);
  let next = 2;
  const now = Math.floor(Date.now() / 1000);
  const attr = (ino: number): Attr => {
    const n = nodes.get(ino)!;
    return [ino, n.dir ? constants.S_IFDIR | 0o755 : constants.S_IFREG | 0o644, n.dir ? 2 : 1, process.getuid!(), process.getgid!(), n.size, Math.ceil(n.size / 512), now, 0, now, 0, now, 0];
  };
  const entry = (ino: number): Entry => [attr(ino), 0, TTL];
  const add = (r: Request, isDir: boolean) => {
    const ino = next++;
    inos.set(`${r.ino}/${r.name!.toString()}`, ino);
    nodes.set(ino, { dir: isDir, size: 0 });
    return ino;
  };
  const one = (r: Request) => {
    switch (r.op) {
      case Op.LOOKUP: {
        const ino = inos.get(`${r.ino}/${r.name!.toString()}`);
        return e.replyEntry(r.id, ino ? entry(ino) : [null, 0, TTL]);
      }
      case Op.GETATTR:
        return e.replyAttr(r.id, attr(r.ino), TTL);
      case Op.SETATTR:
        if (r.toSet! & SET.SIZE) nodes.get(r.ino)!.size = r.size;
        return e.replyAttr(r.id, attr(r.ino), TTL);
      case Op.CREATE:
        return e.replyCreate(r.id, entry(add(r, false)), 1);
      case Op.MKDIR:
        return e.replyEntry(r.id, entry(add(r, true)));
      case Op.OPEN:
        return e.replyOpen(r.id, 1, true);
      case Op.OPENDIR:
        return e.replyOpen(r.id, 1, false);
      case Op.READ: {
        const n = Math.max(0, Math.min(r.size, nodes.get(r.ino)!.size - r.offset));
        return e.replyBuf(r.id, Buffer.allocUnsafe(n), n);
      }
      case Op.WRITE: {
        const node = nodes.get(r.ino)!;
        node.size = Math.max(node.size, r.offset + r.data!.length);
        return e.replyWrite(r.id, r.data!.length);
      }
      case Op.READDIR:
      case Op.READDIRPLUS:
        return e.replyDir(r.id, r.size, r.offset, [], [], r.op === Op.READDIRPLUS);
      case Op.FLUSH:
      case Op.FSYNC:
      case Op.RELEASE:
      case Op.RELEASEDIR:
        return e.replyErr(r.id, 0);
      default:
        return e.replyErr(r.id, osConstants.errno.ENOSYS);
    }
  };
  return Promise.resolve(mountOps(dir, { handle: (batch) => batch.forEach(one), idle: () => Promise.resolve() }, 'null'));
}
