/**
 * The server's FUSE mounts: which volume is mounted where. Mounting opens a
 * volume's tree and hands it to the FUSE adapter; unmounting commits every
 * dirty file first, so nothing written through the mount is lost. The files
 * open in a volume are kept by the engine (OpenFiles), which the sync asks too.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { DataDir } from '../engine/datadir.js';
import type { OpenVolumes } from './open-volumes.js';
import { BazilError, isErrno } from '../engine/errors.js';
import { SnapshotReader, takeSnapshot, type SnapshotInfo } from '../engine/tree/snapshots.js';
import { OpenFiles } from '../engine/tree/open-files.js';
import type { Tree } from '../engine/tree/tree.js';
import { edge } from '../fuse/edge.js';
import { mountOps, type Mounted } from '../fuse/mount.js';
import { VolumeFs } from '../fuse/volume-fs.js';

export interface MountInfo {
  volume: string;
  /** Absolute path of the mount point. */
  dir: string;
}

interface Mount extends MountInfo {
  files: OpenFiles;
  tree: Tree;
  fuse: Mounted;
  /** Stops telling the kernel of the tree's changes. */
  detach(): void;
}

export class Mounts {
  private readonly mounts = new Map<string, Mount>();

  constructor(
    private readonly dataDir: DataDir,
    private readonly volumes: OpenVolumes,
    private readonly log: (line: string) => void,
  ) {}

  /** True while the file is open through the volume's mount. */
  isOpen(volume: string, ino: number): boolean {
    return this.mounts.get(volume)?.files.isOpen(ino) ?? false;
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
    if (taken) throw new BazilError('ALREADY_EXISTS', `volume ${volume} is already mounted at ${taken.dir}; unmount it first with \`bazil volume unmount ${volume}\``);
    for (const m of this.mounts.values()) {
      if (m.dir === dir) throw new BazilError('ALREADY_EXISTS', `volume ${m.volume} is already mounted at ${dir}; pick another directory`);
    }
    checkMountPoint(dir);
    const { store, tree } = v;
    const files = new OpenFiles(tree, store, join(this.dataDir.path, 'tmp'));
    const fs = new VolumeFs({
      tree,
      store,
      files,
      snapshots: new SnapshotReader(this.dataDir.db, id, store),
      dataDir: this.dataDir.path,
      takeSnapshot: async (name) => void (await this.snapshot(volume, name)),
      log: (line) => this.log(`${volume}: ${line}`),
    });
    let fuse: Mounted;
    try {
      fuse = mountOps(dir, fs, volume);
    } catch (err) {
      throw new BazilError('INTERNAL', `could not mount ${volume} on ${dir}: ${(err as Error).message}; check that /dev/fuse exists and libfuse3 is installed`, { cause: err });
    }
    const detach = fs.attach(edge(), fuse.session);
    this.mounts.set(volume, { volume, dir, files, tree, fuse, detach });
    this.log(`mounted ${volume} on ${dir}`);
    return { volume, dir };
  }

  /** Unmounts by volume name or mount point (absolute path). */
  async unmount(target: string): Promise<MountInfo> {
    const m = this.mounts.get(target) ?? [...this.mounts.values()].find((x) => x.dir === target);
    if (!m) throw new BazilError('NOT_FOUND', `nothing is mounted at ${target}; see \`bazil volume list\``);
    await m.files.commitAll(true);
    m.detach();
    await m.fuse.unmount();
    this.mounts.delete(m.volume);
    await m.files.closeAll();
    this.log(`unmounted ${m.volume} from ${m.dir}`);
    return { volume: m.volume, dir: m.dir };
  }

  list(): MountInfo[] {
    return [...this.mounts.values()].map(({ volume, dir }) => ({ volume, dir }));
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
        await this.unmount(m.volume);
      } catch (err) {
        this.log(`could not unmount ${m.dir}: ${(err as Error).message}`);
      }
    }
  }
}

function checkMountPoint(dir: string): void {
  try {
    if (!statSync(dir).isDirectory()) throw new BazilError('NOT_A_DIRECTORY', `${dir} is not a directory; mount onto an empty directory`);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new BazilError('NOT_FOUND', `mount point ${dir} does not exist; create it with \`mkdir ${dir}\``);
    if (isErrno(err, 'ENOTCONN')) return; // left by a server that was killed: mounting clears it
    throw err;
  }
}
