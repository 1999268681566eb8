/**
 * Where a file's content is: here in full, in part or not at all, whether it
 * is pinned, and which other stores were last known to hold its objects (and
 * when). Read from the cache's index and where-table only: nothing is fetched
 * and no peer is asked.
 */
import type { StoreHolding, WhereIs } from '../control/cache-api.js';
import type { Node } from '../tree/tree.js';
import type { Cache } from './cache.js';
import { fileObjects } from './file-objects.js';
import type { PinVolume } from './pins.js';
import type { Holder } from './where.js';

/** where: a remote store's location by its name (a dir: store's last path), for the answer to name it. */
export async function whereIs(cache: Cache, volume: PinVolume, path: string, file: Node, pinned: boolean, where: (store: string) => string | undefined = () => undefined): Promise<WhereIs> {
  const base = { volume: volume.name, path, pinned, stores: [] as StoreHolding[] };
  if (!file.manifest) {
    const n = file.data?.length ?? 0;
    return { ...base, here: 'inline', bytes: n, total: n, objects: 0 };
  }
  const { objects, unlisted } = await fileObjects(volume.store, file.manifest, (id) => cache.has(id), false);
  let bytes = 0;
  let total = unlisted;
  const stores = new Map<string, StoreHolding>();
  const needs = new Set<string>();
  let missing = unlisted > 0;
  for (const o of objects) {
    total += o.bytes;
    const local = cache.has(o.id);
    if (local) bytes += o.bytes;
    else missing = true;
    const holders: Holder[] = cache.where.holders(o.id);
    for (const h of holders) {
      const at = h.store.startsWith('dir:') ? where(h.store) : undefined;
      const s = stores.get(h.store) ?? { store: h.store, ...(at ? { at } : {}), objects: 0, kept: true, seen: h.seen };
      s.objects++;
      s.kept &&= h.kept;
      s.seen = Math.min(s.seen, h.seen);
      stores.set(h.store, s);
      if (!local) needs.add(h.store);
    }
  }
  const here = !missing ? 'full' : bytes > 0 || objects.some((o) => cache.has(o.id)) ? 'part' : 'none';
  return {
    ...base,
    here,
    bytes,
    total,
    objects: objects.length,
    stores: [...stores.values()].sort((a, b) => b.objects - a.objects || b.seen - a.seen),
    ...(missing ? { needs: [...needs] } : {}),
  };
}
