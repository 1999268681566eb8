/**
 * Where a user points in a volume: an absolute path inside one of the mounts,
 * or VOLUME:/path (which works unmounted too). One reading for every control
 * method that takes such a path (conflicts, pins, whereis).
 */
import { isAbsolute, relative, sep } from 'node:path';
import type { MountInfo } from '../engine/control/api.js';
import { BazilError } from '../engine/errors.js';

/** The volume's name and the path from its root ("/" for the root, no trailing slash). */
export function locateInVolumes(mounts: MountInfo[], target: string): { volume: string; path: string } {
  const named = /^([^/:]+):(\/.*)$/.exec(target);
  if (named) return { volume: named[1], path: named[2] };
  if (!isAbsolute(target)) throw new BazilError('INVALID_ARGUMENT', `"${target}" must be an absolute path inside a mount, or VOLUME:/path`);
  for (const m of mounts) {
    const rel = relative(m.dir, target);
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) return { volume: m.volume, path: `/${rel.split(sep).filter(Boolean).join('/')}` };
  }
  throw new BazilError('NOT_FOUND', `${target} is not inside a mounted volume; name it as VOLUME:/path instead`);
}
