/**
 * `bazil check`: every reference (references.ts) resolves to content known
 * somewhere: here, or in a store the where-table says holds it. With
 * readData, every local object a reference reaches is read from disk,
 * decrypted and verified; with repair, a bad one is replaced by a verified
 * copy from a peer. Problems name the volume, the path and where the
 * reference is (live, a snapshot, a conflict).
 *
 * Only referenced objects can be verified: an object's key comes from the
 * plaintext hash its manifest lists. Unreferenced ones are garbage (gc.ts).
 */
import type { CheckProblem, CheckResult } from '../control/check-api.js';
import type { Db } from '../db/open.js';
import { isBazilError } from '../errors.js';
import type { Cache } from './cache.js';
import { fileObjects } from './file-objects.js';
import { walkReferences, type ContentRef, type RefVolume } from './references.js';

export interface CheckOptions {
  db: Db;
  cache: Cache;
  volumes: RefVolume[];
  openManifests(volume: RefVolume): Buffer[];
  readData: boolean;
  repair: boolean;
  /** Objects verified so far, of those to verify. */
  progress?(done: number, total: number): void;
}

/** Objects read and verified at once. */
const PARALLEL = 16;
/** Problems listed at most (the counts go on). */
const MAX_PROBLEMS = 1000;

export async function checkReferences(opts: CheckOptions): Promise<CheckResult> {
  const started = Date.now();
  const { cache } = opts;
  const result: CheckResult = { references: 0, objects: 0, local: 0, elsewhere: 0, verified: 0, verifiedBytes: 0, problems: [], ms: 0 };
  const problem = (p: CheckProblem) => {
    if (result.problems.length < MAX_PROBLEMS) result.problems.push(p);
  };
  const at = (ref: ContentRef) => ({ volume: ref.volume.name, origin: ref.origin, path: ref.path });
  /** Local objects to verify: hex id -> its hash and the first reference that reaches it. */
  const toVerify = new Map<string, { h: Buffer; ref: ContentRef }>();
  const seen = new Set<string>();
  /** Objects neither here nor known to be anywhere: the stores are asked before any is called missing. */
  const unknown: { id: Buffer; ref: ContentRef }[] = [];
  await walkReferences({
    db: opts.db,
    volumes: opts.volumes,
    openManifests: opts.openManifests,
    unreadable: (volume, origin, path, why) => problem({ volume: volume.name, origin, path, kind: 'unreadable', message: `could not read this snapshot directory: ${why}` }),
    visit: async (ref) => {
      result.references++;
      let objects;
      try {
        ({ objects } = await fileObjects(ref.volume.store, ref.manifest, (id) => cache.has(id), false));
      } catch (err) {
        problem({ ...at(ref), kind: isBazilError(err, 'CORRUPT') ? 'corrupt' : 'unreadable', message: (err as Error).message });
        return;
      }
      for (const o of objects) {
        const hex = o.id.toString('hex');
        if (seen.has(hex)) continue;
        seen.add(hex);
        result.objects++;
        if (cache.has(o.id)) {
          result.local++;
          toVerify.set(hex, { h: o.h, ref });
        } else if (cache.where.holders(o.id).length > 0) result.elsewhere++;
        else unknown.push({ id: o.id, ref });
      }
    },
  });
  if (unknown.length > 0) {
    await cache.locate(unknown.map((u) => u.id));
    cache.where.flush();
  }
  for (const { id, ref } of unknown) {
    if (cache.where.holders(id).length > 0) {
      result.elsewhere++;
      continue;
    }
    const hex = id.toString('hex');
    problem({
      ...at(ref),
      object: hex,
      kind: 'missing',
      message: `object ${hex} is not here, and no store holds it; bring back the peer that wrote ${ref.path} and sync, or restore the file from a snapshot`,
    });
  }
  if (opts.readData || opts.repair) {
    const list = [...toVerify];
    let next = 0;
    let done = 0;
    // A pool: PARALLEL verifications always under way (reads and crypto run on libuv's threads; 16 measured best of 4, 8 and 16).
    const worker = async (): Promise<void> => {
      while (next < list.length) {
        const [hex, { h, ref }] = list[next++];
        await verifyOne(hex, h, ref);
        opts.progress?.(++done, list.length);
      }
    };
    const verifyOne = async (hex: string, h: Buffer, ref: ContentRef): Promise<void> => {
      const store = ref.volume.store;
      try {
        const bytes = await store.verify(h); // awaited first: `x += await` would add to a stale x
        result.verifiedBytes += bytes;
        result.verified++;
      } catch (err) {
        if (!isBazilError(err, 'CORRUPT') && !isBazilError(err, 'NOT_FOUND')) throw err;
        const p: CheckProblem = { ...at(ref), object: hex, kind: 'corrupt', message: `object ${hex} is bad here: ${(err as Error).message}` };
        if (opts.repair) {
          try {
            await store.refetch(h);
            const bytes = await store.verify(h);
            result.verifiedBytes += bytes;
            result.verified++;
            p.repaired = true;
          } catch (e) {
            p.message += `; no peer or store could provide a good copy: ${(e as Error).message}`;
          }
        }
        problem(p);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
  }
  result.ms = Date.now() - started;
  return result;
}
