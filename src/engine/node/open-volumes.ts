/**
 * The server's open volumes: one tree and one content store per volume,
 * shared by its mount, the sync and the requests of peers, so that all of
 * them see one state (and the tree's change listeners hear every change).
 */
import type { DataDir } from '../datadir.js';
import { ContentStore, type ContentStoreOptions, type ObjectSource } from '../store/content.js';
import { sharingKeySecret } from '../store/sharing.js';
import { Tree } from '../tree/tree.js';
import { getVolume, listVolumes, volumeById, volumeRowId } from '../tree/volumes.js';

export interface OpenVolume {
  name: string;
  rowId: number;
  /** The id it has on every peer. */
  volumeId: Buffer;
  tree: Tree;
  store: ContentStore;
}

export class OpenVolumes {
  private readonly open = new Map<number, OpenVolume>();

  constructor(
    private readonly dataDir: DataDir,
    /** Where missing content of a volume may be fetched from. */
    private readonly sources: (rowId: number) => ObjectSource[],
    /** Told of each volume when first opened. */
    private readonly opened: (v: OpenVolume) => void,
    /** The cache's hooks on fetches (engine/cache). */
    private readonly hooks: Pick<ContentStoreOptions, 'fetched' | 'knownHolders'> = {},
  ) {}

  get(name: string): OpenVolume {
    const rowId = volumeRowId(this.dataDir.db, name); // NOT_FOUND with the next step
    let v = this.open.get(rowId);
    if (!v) {
      const volume = getVolume(this.dataDir.db, name);
      const secret = sharingKeySecret(this.dataDir.db, volume.sharingKey);
      v = {
        name,
        rowId,
        volumeId: volume.volumeId,
        tree: new Tree(this.dataDir.db, rowId),
        store: new ContentStore(this.dataDir.objects(), secret, { ...this.hooks, sources: () => this.sources(rowId) }),
      };
      this.open.set(rowId, v);
      this.opened(v);
    }
    return v;
  }

  byId(volumeId: Buffer): OpenVolume | undefined {
    const found = volumeById(this.dataDir.db, volumeId);
    return found && this.get(found.name);
  }

  all(): OpenVolume[] {
    return listVolumes(this.dataDir.db).map((v) => this.get(v.name));
  }
}
