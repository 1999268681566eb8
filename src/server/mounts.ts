/**
 * The server's FUSE mounts: which volume is mounted where. Mounting opens a
 * volume's tree and hands it to the FUSE adapter; unmounting commits every
 * dirty file first, so nothing written through the mount is lost. Each mount
 * is remembered in the data dir until the user unmounts it, and mounted again
 * when the server starts. The files open in a volume are kept by the engine
 * (OpenFiles), which the sync asks too.
 */
import { join } from 'node:path';
import type { DataDir } from '../engine/datadir.js';
import type { OpenVolumes } from '../engine/node/open-volumes.js';
import { BazilError } from '../engine/errors.js';
import { SnapshotReader, takeSnapshot, type SnapshotInfo } from '../engine/tree/snapshots.js';
import { OpenFiles } from '../engine/tree/open-files.js';
import type { Node, Tree } from '../engine/tree/tree.js';
import type { BazilEvent } from '../engine/events.js';
import type { MountInfo } from '../engine/control/api.js';
import { edge } from '../fuse/edge.js';
import { mountOps, type Mounted } from '../fuse/mount.js';
import { VolumeFs } from '../fuse/volume-fs.js';
import {
  bazilMountVolume,
  checkMountPoint,
  clearDeadMount,
  deadMount,
  forgetMount,
  holders,
  isDeadMount,
  rememberedMounts,
  rememberMount,
  type Holder,
  type MountProblem,
} from './mount-points.js';


interface Mount extends MountInfo {
  files: OpenFiles;
  tree: Tree;
  fuse: Mounted;
  /** Stops telling the kernel of the tree's changes. */
  detach(): void;
  /** Looks out for the kernel ending the mount from outside (umount, fusermount -u). */
  watch: NodeJS.Timeout;
  /** Our own unmount has begun. */
  closing?: boolean;
}

/** How often a mount is checked for an end from outside. */
const ENDED_POLL_MS = 1000;
/** A large read's fetch.progress events come at most this often per file. */
const FETCH_PROGRESS_MS = 250;

/** A node's path from its volume's root. */
function pathOf(tree: Tree, node: Node): string {
  const names: string[] = [];
  for (let n = node; n.parent !== n.ino; n = tree.get(n.parent)) names.push(n.name);
  return `/${names.reverse().join('/')}`;
}

export class Mounts {
  private readonly mounts = new Map<string, Mount>();
  /** Why a remembered mount could not be mounted at start, by volume. */
  private readonly failed = new Map<string, string>();

  constructor(
    private readonly dataDir: DataDir,
    private readonly volumes: OpenVolumes,
    private readonly log: (line: string) => void,
    /** What the mounts tell the event stream: mounts ended from outside, fetches for large reads. */
    private readonly emit: (event: BazilEvent) => void = () => {},
  ) {}

  /** True while the file is open through the volume's mount. */
  isOpen(volume: string, ino: number): boolean {
    return this.mounts.get(volume)?.files.isOpen(ino) ?? false;
  }

  /** The manifests files open through the volume's mount read from. */
  openManifests(volume: string): Buffer[] {
    return this.mounts.get(volume)?.files.manifests() ?? [];
  }

  /** Calls fn when the file's last handle is closed (or at once if it is not open). */
  whenClosed(volume: string, ino: number, fn: () => void): void {
    const files = this.mounts.get(volume)?.files;
    if (!files) return fn();
    files.whenClosed(ino, fn);
  }

  /** Mounts a volume on an existing directory (absolute path). */
  async mount(volume: string, dir: string): Promise<MountInfo> {
    const v = this.volumes.get(volume);
    const id = v.rowId;
    const taken = this.mounts.get(volume);
    if (taken?.dir === dir) return { volume, dir, already: true };
    if (taken) throw new BazilError('ALREADY_EXISTS', `volume ${volume} is already mounted at ${taken.dir}; unmount it first with \`bazil volume unmount ${volume}\``);
    for (const m of this.mounts.values()) {
      if (m.dir === dir) throw new BazilError('ALREADY_EXISTS', `volume ${m.volume} is already mounted at ${dir}; pick another directory`);
    }
    const outer = this.servedAbove(dir);
    if (outer) throw new BazilError('INVALID_ARGUMENT', `${dir} is inside the mount of volume ${outer.volume} (${outer.dir}); mount volumes side by side, not one inside another`);
    checkMountPoint(dir);
    const { store, tree } = v;
    const files = new OpenFiles(tree, store, join(this.dataDir.path, 'tmp'), this.fetchProgress(volume, tree));
    const fs = new VolumeFs({
      tree,
      store,
      files,
      snapshots: new SnapshotReader(this.dataDir.db, id, store),
      dataDir: this.dataDir.path,
      takeSnapshot: async (name) => void (await this.snapshot(volume, name)),
      log: (line) => this.log(`${volume}: ${line}`),
    });
    const fuse = mountOps(dir, fs, volume);
    const detach = fs.attach(edge(), fuse.session);
    const watch = setInterval(() => void this.endedFromOutside(volume), ENDED_POLL_MS).unref();
    this.mounts.set(volume, { volume, dir, files, tree, fuse, detach, watch });
    rememberMount(this.dataDir.db, id, dir);
    this.failed.delete(volume);
    this.log(`mounted ${volume} on ${dir}`);
    return { volume, dir };
  }

  /** Mounts every remembered mount again (at start); one that fails is logged and listed, not fatal. */
  async mountRemembered(): Promise<void> {
    for (const { volume, dir } of rememberedMounts(this.dataDir.db)) {
      try {
        await this.mount(volume, dir);
      } catch (err) {
        const why = (err as Error).message;
        this.failed.set(volume, why);
        this.log(`could not mount ${volume} again on ${dir}: ${why}`);
      }
    }
  }

  /**
   * Unmounts by volume name or mount point (absolute path), and forgets it
   * unless `keep` (at shutdown). Refuses while programs use the mount, unless
   * `force`; `client`, the asking process, does not count. A dead mount, or a
   * remembered one that is not mounted, is cleared and forgotten.
   */
  async unmount(target: string, options: { force?: boolean; keep?: boolean; client?: number } = {}): Promise<MountInfo> {
    const m = this.mounts.get(target) ?? [...this.mounts.values()].find((x) => x.dir === target);
    if (!m) return this.forgetUnserved(target);
    if (!options.force) {
      const busy = holders(m.dir, options.client); // the asking CLI may hold what its shell gave it
      if (busy.length) throw busyError(m.dir, busy);
    }
    m.closing = true;
    clearInterval(m.watch);
    await m.files.commitAll(true);
    m.detach();
    await m.fuse.unmount();
    this.mounts.delete(m.volume);
    if (!options.keep) forgetMount(this.dataDir.db, m.dir);
    await m.files.closeAll();
    this.log(`unmounted ${m.volume} from ${m.dir}`);
    return { volume: m.volume, dir: m.dir };
  }

  /**
   * How a read through the mount that has to fetch content from peers shows
   * its progress: a fetch.progress event per file, at most every
   * FETCH_PROGRESS_MS and when the file's last byte has come.
   */
  private fetchProgress(volume: string, tree: Tree): (ino: number, bytes: number) => void {
    const fetched = new Map<number, { bytes: number; at: number }>();
    return (ino, bytes) => {
      const p = fetched.get(ino) ?? { bytes: 0, at: 0 };
      p.bytes += bytes;
      fetched.set(ino, p);
      let node: Node;
      try {
        node = tree.get(ino);
      } catch {
        return fetched.delete(ino), undefined; // deleted while it was read
      }
      const done = p.bytes >= node.size;
      if (done) fetched.delete(ino);
      if (!done && Date.now() - p.at < FETCH_PROGRESS_MS) return;
      p.at = Date.now();
      this.emit({ type: 'fetch.progress', volume, path: pathOf(tree, node), bytes: Math.min(p.bytes, node.size), total: node.size });
    };
  }

  /**
   * A mount the kernel ended though we did not ask (someone ran umount): what
   * its open files hold is committed, the session is freed, and the mount is
   * listed as not served (still remembered) until it is mounted again.
   */
  private async endedFromOutside(volume: string): Promise<void> {
    const m = this.mounts.get(volume);
    if (!m || m.closing || !edge().ended(m.fuse.session)) return;
    m.closing = true;
    clearInterval(m.watch);
    this.mounts.delete(volume);
    try {
      await m.files.commitAll(true);
      m.detach();
      await m.fuse.unmount();
      await m.files.closeAll();
    } catch (err) {
      this.log(`while letting go of the ended mount of ${volume}: ${(err as Error).message}`);
    }
    this.failed.set(volume, 'its mount was ended from outside (umount or fusermount -u)');
    this.log(`the mount of ${volume} on ${m.dir} was ended from outside; \`bazil volume mount ${volume} ${m.dir}\` mounts it again`);
    this.emit({ type: 'mount.died', volume, dir: m.dir });
  }

  /** A mount this server does not serve: a dead one is cleared; either way it is forgotten. */
  private async forgetUnserved(target: string): Promise<MountInfo> {
    const remembered = rememberedMounts(this.dataDir.db).find((r) => r.volume === target || r.dir === target);
    const dir = remembered?.dir ?? target;
    if (dir.startsWith('/') && !this.servedAbove(dir) && isDeadMount(dir)) {
      const volume = remembered?.volume ?? bazilMountVolume(dir);
      if (volume === undefined) throw new BazilError('NOT_FOUND', `${dir} is a dead mount, but not one of bazil's; clear it with \`fusermount -uz ${dir}\``);
      await clearDeadMount(dir);
      forgetMount(this.dataDir.db, dir);
      this.failed.delete(volume);
      this.log(`cleared the dead mount of ${volume} on ${dir}`);
      return { volume, dir, dead: true };
    }
    if (remembered) {
      forgetMount(this.dataDir.db, dir);
      this.failed.delete(remembered.volume);
      this.log(`forgot the mount of ${remembered.volume} on ${dir}`);
      return { ...remembered, forgotten: true };
    }
    throw new BazilError('NOT_FOUND', `nothing is mounted at ${target}; see \`bazil volume list\``);
  }

  /**
   * The mount of ours that path is inside, if any. Such a path must not be
   * looked at from this thread: the kernel would ask this very thread to
   * answer, and wait for it forever.
   */
  private servedAbove(path: string): Mount | undefined {
    return [...this.mounts.values()].find((m) => path.startsWith(`${m.dir}/`));
  }

  list(): MountInfo[] {
    return [...this.mounts.values()].map(({ volume, dir }) => ({ volume, dir }));
  }

  /** Remembered mounts that are not served: dead ones, and ones that could not be mounted again. */
  problems(): MountProblem[] {
    return rememberedMounts(this.dataDir.db)
      .filter((r) => !this.mounts.has(r.volume))
      .map((r) => (isDeadMount(r.dir) ? deadMount(r) : { ...r, state: 'unmounted', why: this.failed.get(r.volume) ?? 'not mounted' }));
  }

  /** Takes a snapshot of a volume, mounted or not; open files are committed first. */
  async snapshot(volume: string, name: string): Promise<SnapshotInfo> {
    const m = this.mounts.get(volume);
    if (m) await m.files.commitAll();
    const v = this.volumes.get(volume);
    const info = await takeSnapshot(v.tree, v.store, this.dataDir.db, name);
    this.log(`took snapshot ${name} of ${volume}`);
    return info;
  }

  /** For shutdown: commits every dirty file and unmounts everything. */
  async unmountAll(): Promise<void> {
    for (const m of [...this.mounts.values()]) {
      try {
        await this.unmount(m.volume, { force: true, keep: true });
      } catch (err) {
        this.log(`could not unmount ${m.dir}: ${(err as Error).message}`);
      }
    }
  }
}

function busyError(dir: string, busy: Holder[]): BazilError {
  const shown = busy.slice(0, 5).map((h) => `${h.command} (pid ${h.pid}): ${h.what}`);
  if (busy.length > 5) shown.push(`and ${busy.length - 5} more`);
  return new BazilError(
    'LOCKED',
    `${dir} is busy: programs are using it:\n  ${shown.join('\n  ')}\n` +
      `Close them (or leave the directory) and unmount again, or unmount anyway with \`bazil volume unmount --force ${dir}\` (they then get errors).`,
  );
}
