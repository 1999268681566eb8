/**
 * The control methods of remote stores (engine/control/store-api.ts):
 * listing, adding and locating them work on the data dir alone; pushing a
 * volume's objects needs the server (its cache and open volumes). Also
 * `volume storage add VOL STORE` for the store forms (dir:, sftp://), the
 * peer forms being the peer methods'.
 */
import type { MethodTable } from '../engine/control/api.js';
import type { StoreInfo } from '../engine/control/store-api.js';
import type { DataDir } from '../engine/datadir.js';
import { BazilError } from '../engine/errors.js';
import { pushVolume } from '../engine/cache/push.js';
import type { Cache } from '../engine/cache/cache.js';
import type { OpenVolumes } from '../engine/node/open-volumes.js';
import type { StoreSources } from '../engine/node/sources.js';
import { withTimeout } from '../engine/store/remote.js';
import { DEFAULT_SHARING_KEY } from '../engine/store/sharing.js';
import {
  addStore,
  addVolumeStore,
  findStore,
  isStoreSpec,
  listStores,
  locateStore,
  markSeen,
  openStore,
  scanForStores,
  storeLabel,
  storeVolumes,
  type StoreRow,
} from '../engine/store/stores.js';
import { text } from './params.js';
import { sftpOpener } from './sftp-connect.js';

/** How long store.list waits for one store to answer. */
const PROBE_MS = 5_000;

export interface StoreMethodContext {
  dataDir: DataDir;
  note(line: string): void;
}


export function storeMethods(ctx: StoreMethodContext, peerStorageAdd: MethodTable<'volume.storage.add'>['volume.storage.add']): MethodTable<'store.list' | 'store.add' | 'store.locate' | 'volume.storage.add'> {
  const { db } = ctx.dataDir;
  const info = (row: StoreRow): StoreInfo => ({ ...row, volumes: storeVolumes(db, row.name) });
  /** The store's info, with whether it answers now. */
  const probed = async (row: StoreRow): Promise<StoreInfo> => {
    const store = openStore(row, sftpOpener);
    try {
      await withTimeout(store.has(Buffer.alloc(32)), PROBE_MS, `store ${storeLabel(row)}`);
      markSeen(db, row.name);
      return { ...info(findStore(db, row.name)), available: true };
    } catch (err) {
      return { ...info(row), available: false, error: (err as Error).message };
    } finally {
      void store.close().catch(() => {});
    }
  };
  return {
    'store.list': () => Promise.all(listStores(db).map(probed)),
    'store.add': async (p) => {
      const row = await addStore(db, text(p, 'store'), sftpOpener, { yes: p.yes === true });
      ctx.note(`added store ${storeLabel(row)}`);
      return probed(row);
    },
    'store.locate': async (p) => {
      if (Array.isArray(p.scan)) {
        const found = await scanForStores(db, p.scan.map(String));
        for (const row of found) ctx.note(`found store ${storeLabel(row)}`);
        return found.map(info);
      }
      const row = await locateStore(db, text(p, 'store'), text(p, 'path'));
      ctx.note(`store ${storeLabel(row)}`);
      return [info(row)];
    },
    'volume.storage.add': async (p) => {
      const typed = text(p, 'backend');
      if (!isStoreSpec(typed)) return peerStorageAdd(p);
      const volume = text(p, 'volume');
      const row = await addVolumeStore(db, volume, text(p, 'sharing', DEFAULT_SHARING_KEY), typed, sftpOpener);
      ctx.note(`volume ${volume} may fetch content from store ${storeLabel(row)}`);
      return {};
    },
  };
}

export interface StorePushContext {
  dataDir: DataDir;
  cache: Cache;
  volumes: OpenVolumes;
  stores: StoreSources;
  log(line: string): void;
}

export function storePushMethods(ctx: StorePushContext): MethodTable<'store.push'> {
  const { db } = ctx.dataDir;
  return {
    'store.push': async (p) => {
      const typed = text(p, 'store');
      // sftp://host/path as typed (no user, say) is found under the name it was added as.
      const row = findStore(db, typed.startsWith('sftp://') ? sftpOpener(typed).name : typed);
      const volume = ctx.volumes.get(text(p, 'volume'));
      if (!storeVolumes(db, row.name).includes(volume.name)) {
        throw new BazilError('INVALID_ARGUMENT', `volume ${volume.name} does not use store ${storeLabel(row)}; add it first with \`bazil volume storage add ${volume.name} ${row.kind === 'dir' ? `dir:${row.location}` : row.name}\``);
      }
      const store = ctx.stores.store(row);
      const r = await pushVolume({ db, cache: ctx.cache, objects: ctx.dataDir.objects(), volume, store });
      ctx.stores.seen(row.name);
      ctx.log(`pushed volume ${volume.name} to store ${storeLabel(row)}: ${r.uploaded} objects (${r.uploadedBytes} bytes) uploaded, ${r.present} there already, ${r.missing} not here`);
      return { store: row.name, volume: volume.name, ...r };
    },
  };
}
