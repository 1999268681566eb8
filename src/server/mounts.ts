/**
 * The server's FUSE mounts: which volume is mounted where. Mounting opens a
 * volume's tree and hands it to the FUSE adapter; unmounting commits every
 * dirty file first, so nothing written through the mount is lost.
 */
import type { DataDir } from '../engine/datadir.js';
import { BazilError } from '../engine/errors.js';
import type { SnapshotInfo } from '../engine/tree/snapshots.js';

export interface MountInfo {
  volume: string;
  /** Absolute path of the mount point. */
  dir: string;
}

export class Mounts {
  constructor(
    private readonly dataDir: DataDir,
    private readonly log: (line: string) => void,
  ) {}

  /** Mounts a volume on an existing directory (absolute path). */
  async mount(volume: string, dir: string): Promise<MountInfo> {
    void this.dataDir;
    this.log(`mount ${volume} ${dir}`);
    throw new BazilError('INTERNAL', 'mounting is not built yet');
  }

  /** Unmounts by volume name or mount point (absolute path). */
  async unmount(target: string): Promise<MountInfo> {
    throw new BazilError('NOT_FOUND', `nothing is mounted at ${target}`);
  }

  list(): MountInfo[] {
    return [];
  }

  /** Takes a snapshot of a volume, mounted or not; open files are committed first. */
  async snapshot(volume: string, name: string): Promise<SnapshotInfo> {
    throw new BazilError('INTERNAL', `snapshots are not built yet (${volume} ${name})`);
  }

  /** For shutdown: commits every dirty file and unmounts everything. */
  async unmountAll(): Promise<void> {}
}
