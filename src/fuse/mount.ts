/** Mounting a volume's operations on a directory with the native edge, and unmounting it. */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { BazilError, isErrno } from '../engine/errors.js';
import { edge, type Request, type Session } from './edge.js';

const MNT_FORCE = 1;
const MNT_DETACH = 2;
/** How long an unmount waits for other processes to close what they have open before it cuts them off. */
const BUSY_WAIT_MS = 3000;
const POLL_MS = 20;

export interface Mounted {
  session: Session;
  unmount(): Promise<void>;
}

export interface Handler {
  /** Handles one batch of requests; every request is answered, now or later. */
  handle(batch: Request[]): void;
  /** Resolves when every request handed over has been answered. */
  idle(): Promise<void>;
}

/**
 * umount2(2) for root. A user who is not root may not call it (EPERM) and
 * asks the setuid helper, fusermount3, as libfuse mounted through it: run
 * without blocking, since the kernel may need this thread's answers to
 * finish. The helper cannot force (MNT_FORCE): a lazy unmount stands in.
 */
function errnoName(errno: number): string {
  return Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? `errno ${errno}`;
}

async function umount(dir: string, flags: number): Promise<number> {
  const rc = edge().umount(dir, flags);
  if (rc !== constants.errno.EPERM) return rc;
  const args = flags === 0 ? ['-u', '-q', dir] : ['-u', '-z', '-q', dir];
  return new Promise((resolve) =>
    execFile('fusermount3', args, (err, _out, stderr) => resolve(!err ? 0 : /busy/i.test(stderr) ? constants.errno.EBUSY : constants.errno.EPERM)),
  );
}

/** Why FUSE cannot mount on this machine, as an error that says what to install or load; nothing when it can. */
export function checkFuse(): void {
  if (!existsSync('/dev/fuse')) {
    throw new BazilError('UNAVAILABLE', 'FUSE is not available: there is no /dev/fuse; load the module (`sudo modprobe fuse`), or in a container pass the device (`--device /dev/fuse`)');
  }
  // Dead mounts are cleared with it (see server/mount-points.ts).
  if (spawnSync('fusermount3', ['-V'], { stdio: 'ignore' }).error) {
    throw new BazilError('UNAVAILABLE', 'fusermount3 is not installed, and FUSE mounts need it; install it with `sudo apt-get install fuse3`');
  }
}

/**
 * Mounts handler's operations on dir. The caller has checked the directory
 * (see checkMountPoint); libfuse's own reason for a failure that remains goes
 * to the server's log.
 */
export function mountOps(dir: string, handler: Handler, name: string): Mounted {
  checkFuse();
  const e = edge();
  // A mount left by a killed server answers ENOTCONN: clear it first.
  try {
    statSync(dir);
  } catch (err) {
    if (isErrno(err, 'ENOTCONN')) e.umount(dir, MNT_DETACH);
  }
  const options = [`fsname=bazil:${name}`, 'subtype=bazil', 'default_permissions'].join(',');
  let session: Session;
  try {
    session = e.mount(dir, options, (batch) => handler.handle(batch));
  } catch (err) {
    const why = 'libfuse refused (its reason is in the server log: DATADIR/server.log, or the terminal of `bazil server run`)';
    throw new BazilError('INTERNAL', `could not mount ${name} on ${dir}: ${why}`, { cause: err });
  }
  widenReadahead(dir);
  let unmounted: Promise<void> | undefined;
  const unmount = async () => {
    // The JavaScript thread keeps answering while it waits: a process
    // finishing a write then closes, and the unmount goes through.
    const deadline = Date.now() + BUSY_WAIT_MS;
    let rc = await umount(dir, 0);
    while (rc === constants.errno.EBUSY && Date.now() < deadline) {
      await sleep(POLL_MS);
      rc = await umount(dir, 0);
    }
    // Still in use: cut the users off (what they wait for fails), then take the mount away.
    if (rc === constants.errno.EBUSY) {
      const forced = await umount(dir, MNT_FORCE);
      const detached = await umount(dir, MNT_DETACH);
      rc = forced === 0 || detached === 0 ? 0 : detached;
    }
    // Gone already (unmounted from outside) is fine; any other refusal must not leave us waiting for an end that never comes.
    if (rc !== 0 && !e.ended(session)) throw new BazilError('INTERNAL', `could not unmount ${dir}: ${errnoName(rc)}; try \`fusermount3 -uz ${dir}\``);
    while (!e.ended(session)) await sleep(POLL_MS);
    await handler.idle();
    e.destroy(session);
  };
  // One unmount at a time; after a failure, the next call tries again.
  return {
    session,
    unmount: () =>
      (unmounted ??= unmount().catch((err: unknown) => {
        unmounted = undefined;
        throw err;
      })),
  };
}

/**
 * The kernel offers FUSE its default read-ahead (128 KiB), so a sequential
 * reader's requests stay that small. Where this process may (root), the
 * mount's read-ahead is raised to 1 MiB, the size of the edge's requests. The
 * device comes from mountinfo: looking at the mount itself would ask this
 * thread to answer.
 */
function widenReadahead(dir: string): void {
  try {
    const line = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[4] === dir);
    const device = line?.split(' ')[2];
    if (device) writeFileSync(`/sys/class/bdi/${device}/read_ahead_kb`, '1024');
  } catch {
    // Not root, or no sysfs: requests stay at the kernel's default size.
  }
}
