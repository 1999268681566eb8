/**
 * `bazil store push VOLUME STORE`: uploads the objects a volume's content is
 * made of (its live files, snapshots and open conflicts) that the store
 * lacks, from the local store. Each object the store then holds is confirmed
 * in the where-table as kept there, so the local cache may evict it and a
 * later read fetches it from the store.
 */
import type { Db } from '../db/open.js';
import type { ObjectStore } from '../store/objects.js';
import type { PushResult } from '../control/store-api.js';
import type { RemoteStore } from '../store/remote.js';
import type { Cache } from './cache.js';
import { fileObjects } from './file-objects.js';
import { walkReferences, type RefVolume } from './references.js';

export interface PushOptions {
  db: Db;
  cache: Cache;
  objects: ObjectStore;
  volume: RefVolume;
  store: RemoteStore;
  progress?(done: number, total: number): void;
}

export async function pushVolume(opts: PushOptions): Promise<PushResult> {
  const { cache, volume, store } = opts;
  const ids = new Map<string, Buffer>();
  let unlisted = 0;
  await walkReferences({
    db: opts.db,
    volumes: [volume],
    openManifests: () => [],
    visit: async (ref) => {
      const found = await fileObjects(volume.store, ref.manifest, (id) => cache.has(id), false);
      unlisted += found.unlisted > 0 ? 1 : 0;
      for (const o of found.objects) ids.set(o.id.toString('hex'), o.id);
    },
    unreadable: () => {
      unlisted++;
    },
  });
  const there = new Set((await store.list()).map((id) => id.toString('hex')));
  const result: PushResult = { objects: ids.size, uploaded: 0, uploadedBytes: 0, present: 0, missing: 0, unlisted };
  let done = 0;
  for (const [hex, id] of ids) {
    if (there.has(hex)) {
      result.present++;
      cache.confirmed(id, store.name, true);
    } else if (cache.has(id)) {
      const bytes = await opts.objects.get(id);
      await store.put(id, bytes);
      cache.confirmed(id, store.name, true);
      result.uploaded++;
      result.uploadedBytes += bytes.length;
    } else result.missing++;
    opts.progress?.(++done, ids.size);
  }
  cache.where.flush();
  return result;
}
