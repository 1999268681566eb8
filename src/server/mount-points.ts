/**
 * Mount points as the system sees them: which ones a data dir remembers (to
 * mount again at start), whether one can take a mount, whether one is a dead
 * mount left by a killed server, and which processes hold one. Used by the
 * server, and by the CLI when no server runs (a dead mount needs no server to
 * be cleared).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync, accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import type { Db } from '../engine/db/open.js';
import { BazilError, isErrno } from '../engine/errors.js';

export interface RememberedMount {
  volume: string;
  dir: string;
}

/** A remembered mount that is not being served. */
export interface MountProblem extends RememberedMount {
  /** dead: the kernel still has the mount of a killed server; unmounted: the server could not mount it. */
  state: 'dead' | 'unmounted';
  why: string;
}

export function deadMount(r: RememberedMount): MountProblem {
  return { ...r, state: 'dead', why: `its server was stopped without unmounting it; \`bazil volume unmount ${r.dir}\` clears it` };
}

export function rememberedMounts(db: Db): RememberedMount[] {
  return db.prepare('SELECT v.name AS volume, m.dir FROM mounts m JOIN volumes v ON v.id = m.volume ORDER BY v.name').all() as RememberedMount[];
}

/** Records that a volume is mounted on dir (one place per volume, one volume per place). */
export function rememberMount(db: Db, volumeRowId: number, dir: string): void {
  db.transaction(() => {
    db.prepare('DELETE FROM mounts WHERE volume = ? OR dir = ?').run(volumeRowId, dir);
    db.prepare('INSERT INTO mounts (volume, dir) VALUES (?, ?)').run(volumeRowId, dir);
  })();
}

export function forgetMount(db: Db, dir: string): void {
  db.prepare('DELETE FROM mounts WHERE dir = ?').run(dir);
}

/** True when dir is a FUSE mount whose server is gone: every access fails with ENOTCONN. */
export function isDeadMount(dir: string): boolean {
  try {
    statSync(dir);
    return false;
  } catch (err) {
    return isErrno(err, 'ENOTCONN');
  }
}

/** The kernel's mount table entry for dir, if something is mounted there. */
function mountEntry(dir: string): { fsType: string; source: string } | undefined {
  // Fields: id parent major:minor root mountpoint options [optional...] - fstype source superoptions
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const fields = line.split(' ');
    if (unescape(fields[4] ?? '') !== dir) continue;
    const sep = fields.indexOf('-');
    return { fsType: fields[sep + 1], source: unescape(fields[sep + 2]) };
  }
  return undefined;
}

/** The volume name of a bazil mount on dir (live or dead), from the kernel's mount table. */
export function bazilMountVolume(dir: string): string | undefined {
  const entry = mountEntry(dir);
  return entry?.fsType === 'fuse.bazil' && entry.source.startsWith('bazil:') ? entry.source.slice('bazil:'.length) : undefined;
}

/** Detaches a dead mount (lazily: nothing can be using it, its server is gone). */
export function clearDeadMount(dir: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('fusermount', ['-uz', dir], (err, _out, stderr) =>
      err ? reject(new BazilError('INTERNAL', `could not clear the dead mount on ${dir}: ${stderr.trim() || err.message}; try \`fusermount -uz ${dir}\``)) : resolve(),
    ),
  );
}

/**
 * Why dir cannot be a mount point at all (missing, not a directory, out of
 * reach), as an error that says what to do. A dead mount left by a killed
 * server passes: mounting clears it. `asTyped`: the path as the user gave it.
 */
export function checkDirectory(dir: string, asTyped = dir): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    if (isErrno(err, 'ENOTCONN')) return;
    if (isErrno(err, 'ENOENT')) throw new BazilError('NOT_FOUND', `${dir} does not exist; make it with \`mkdir ${asTyped}\`, then mount again`);
    if (isErrno(err, 'EACCES')) throw new BazilError('UNAUTHORIZED', `cannot reach ${dir}: permission denied on ${dirname(dir)}; mount on a directory of your own`);
    throw err;
  }
  if (!isDir) throw new BazilError('INVALID_ARGUMENT', `${dir} is not a directory; mount the volume on an empty directory`);
}

/**
 * Why dir cannot take a mount now, as an error that says what to do; nothing
 * when it can: checkDirectory, then not mounted on already, writable, empty.
 */
export function checkMountPoint(dir: string): void {
  checkDirectory(dir);
  if (isDeadMount(dir)) return;
  const entry = mountEntry(dir);
  if (entry) {
    const what = entry.fsType === 'fuse.bazil' ? `volume ${entry.source.slice('bazil:'.length)} of a bazil server` : `${entry.source} (${entry.fsType})`;
    throw new BazilError('ALREADY_EXISTS', `${dir} is already a mount point: ${what} is mounted there; unmount it first or pick another directory`);
  }
  let names: string[];
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
    names = readdirSync(dir);
  } catch (err) {
    if (isErrno(err, 'EACCES')) throw new BazilError('UNAUTHORIZED', `you may not write to ${dir} (FUSE mounts only on a directory you can write); mount on a directory of your own`);
    throw err;
  }
  if (names.length > 0) {
    const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? ', ...' : '');
    throw new BazilError('NOT_EMPTY', `${dir} is not empty (it holds ${shown}); mount on an empty directory, or move its contents away first`);
  }
}

export interface Holder {
  pid: number;
  /** The program's name, from /proc/PID/comm. */
  command: string;
  /** What it holds: a path in the mount, or "working directory". */
  what: string;
}

/**
 * The processes that use something under dir: open files, memory-mapped files,
 * working or root directories, as /proc shows them (for processes this user
 * may inspect: only they can use a FUSE mount made without allow_other).
 */
export function holders(dir: string, except?: number): Holder[] {
  const inside = (p: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
  const found: Holder[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid || Number(name) === except) continue;
    const proc = `/proc/${name}`;
    const seen = new Set<string>();
    const add = (what: string) => {
      if (seen.has(what)) return;
      seen.add(what);
      let command = '?';
      try {
        command = readFileSync(`${proc}/comm`, 'utf8').trim();
      } catch {
        // it just exited
      }
      found.push({ pid: Number(name), command, what });
    };
    for (const [link, what] of [['cwd', 'working directory'], ['root', 'root directory']] as const) {
      const target = readLink(`${proc}/${link}`);
      if (target !== undefined && inside(target)) add(what);
    }
    for (const fd of readDir(`${proc}/fd`)) {
      const target = readLink(`${proc}/fd/${fd}`);
      if (target !== undefined && inside(target)) add(target);
    }
    for (const line of readText(`${proc}/maps`).split('\n')) {
      const path = line.split(/\s+/).slice(5).join(' ');
      if (path && inside(path)) add(path);
    }
  }
  return found;
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function readDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
