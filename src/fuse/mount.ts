/** Mounting a volume's operations on a directory with the native edge, and unmounting it. */
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrno } from '../engine/errors.js';
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

export function mountOps(dir: string, handler: Handler, name: string): Mounted {
  const e = edge();
  // A mount left by a killed server answers ENOTCONN: clear it first.
  try {
    statSync(dir);
  } catch (err) {
    if (isErrno(err, 'ENOTCONN')) e.umount(dir, MNT_DETACH);
  }
  const options = [`fsname=bazil:${name}`, 'subtype=bazil', 'default_permissions'].join(',');
  const session = e.mount(dir, options, (batch) => handler.handle(batch));
  let unmounted: Promise<void> | undefined;
  const unmount = async () => {
    // The JavaScript thread keeps answering while it waits: a process
    // finishing a write then closes, and the unmount goes through.
    const deadline = Date.now() + BUSY_WAIT_MS;
    let rc = e.umount(dir, 0);
    while (rc === constants.errno.EBUSY && Date.now() < deadline) {
      await sleep(POLL_MS);
      rc = e.umount(dir, 0);
    }
    // Still in use: cut the users off (what they wait for fails), then take the mount away.
    if (rc === constants.errno.EBUSY) {
      e.umount(dir, MNT_FORCE);
      e.umount(dir, MNT_DETACH);
    }
    while (!e.ended(session)) await sleep(POLL_MS);
    await handler.idle();
    e.destroy(session);
  };
  return { session, unmount: () => (unmounted ??= unmount()) };
}
