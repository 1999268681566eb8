/** Mounting a set of operations on a directory with fuse-native. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import Fuse from 'fuse-native';
import { BazilError } from '../engine/errors.js';

/**
 * fuse-native builds libfuse's -o options from a fixed list; these are the
 * ones it lacks. big_writes with max_write lets a write(2) reach us in 128 KiB
 * requests instead of 4 KiB pages; a larger read-ahead keeps several reads in
 * flight for a sequential reader.
 *
 * A sync changes the tree underneath the kernel. entry_timeout=0: names are
 * never cached, so a name a sync added, removed or renamed is seen at once
 * (fuse-native cannot pass 0, hence here). ac_attr_timeout=0 makes every open
 * ask for the file's attributes, so auto_cache drops its cached pages when
 * they changed: what is read after a sync is the new content. Attributes stay
 * cached for the usual second: asking on every access cost a third of the
 * small-file rate, for a stat that may lag a sync by up to a second.
 */
const EXTRA_OPTIONS = ['big_writes', 'max_write=131072', 'max_readahead=1048576', 'attr_timeout=1', 'entry_timeout=0', 'ac_attr_timeout=0'];

class BazilFuse extends Fuse {
  protected override _fuseOptions(): string {
    const base = super._fuseOptions();
    return base ? `${base},${EXTRA_OPTIONS.join(',')}` : `-o${EXTRA_OPTIONS.join(',')}`;
  }
}

export interface Mounted {
  unmount(): Promise<void>;
}

/** Why FUSE cannot mount on this machine, as an error that says what to install or load; nothing when it can. */
export function checkFuse(): void {
  if (!existsSync('/dev/fuse')) {
    throw new BazilError('UNAVAILABLE', 'FUSE is not available: there is no /dev/fuse; load the module (`sudo modprobe fuse`), or in a container pass the device (`--device /dev/fuse`)');
  }
  if (spawnSync('fusermount', ['-V'], { stdio: 'ignore' }).error) {
    throw new BazilError('UNAVAILABLE', 'fusermount is not installed, and FUSE mounts need it; install it with `sudo apt-get install fuse`');
  }
}

/**
 * Mounts ops on dir. The caller has checked the directory (see checkMountPoint);
 * libfuse's own reason for a failure that remains goes to the server's log.
 */
export function mountOps(dir: string, ops: Record<string, (...args: any[]) => void>, name: string): Promise<Mounted> {
  // Unpatched, fuse-native would mangle names that are not UTF-8 and set wrong times.
  if (!Fuse.BAZIL_PATCH) {
    const hint = 'run `npm install` again (its postinstall applies patches/ and rebuilds fuse-native)';
    return Promise.reject(new BazilError('INTERNAL', `fuse-native was not built from its patched source: ${hint}`));
  }
  checkFuse();
  const fuse = new BazilFuse(dir, ops, {
    force: true, // a mount left by a killed server is cleared first
    timeout: false, // a commit on close may take longer than fuse-native's 15 s default
    fsname: `bazil:${name}`,
    subtype: 'bazil',
    autoCache: true,
    defaultPermissions: true,
  });
  return new Promise((resolve, reject) => {
    fuse.mount((err) => {
      if (err) {
        const why = err.message === 'fuse failed' ? 'libfuse refused (its reason is in the server log: DATADIR/server.log, or the terminal of `bazil server run`)' : err.message;
        return reject(new BazilError('INTERNAL', `could not mount ${name} on ${dir}: ${why}`, { cause: err }));
      }
      resolve({
        unmount: () => new Promise<void>((res, rej) => fuse.unmount((e) => (e ? rej(e) : res()))),
      });
    });
  });
}
