/**
 * Control methods of check, garbage collection and snapshot deletion (shapes
 * in engine/control/check-api.ts and api.ts).
 */
import type { Cache } from '../engine/cache/cache.js';
import { checkReferences } from '../engine/cache/check.js';
import type { Collector } from '../engine/cache/gc.js';
import type { CheckControlMethods } from '../engine/control/check-api.js';
import type { MethodTable } from '../engine/control/api.js';
import type { DataDir } from '../engine/datadir.js';
import { BazilError } from '../engine/errors.js';
import type { EventLog } from '../engine/events.js';
import type { OpenVolumes } from '../engine/node/open-volumes.js';
import { deleteSnapshot } from '../engine/tree/snapshots.js';
import type { Mounts } from './mounts.js';
import { text, type Params } from './params.js';

export interface CheckMethodContext {
  dataDir: DataDir;
  cache: Cache;
  collector: Collector;
  volumes: OpenVolumes;
  mounts: Pick<Mounts, 'openManifests'>;
  events: EventLog;
  log(line: string): void;
}

/** check.progress events come at most this often. */
const PROGRESS_MS = 250;

const flag = (p: Params, name: string): boolean => {
  const v = p[name];
  if (v !== undefined && typeof v !== 'boolean') throw new BazilError('INVALID_ARGUMENT', `"${name}" must be true or false`);
  return v === true;
};

export function checkMethods(ctx: CheckMethodContext): MethodTable<keyof CheckControlMethods | 'volume.snapshot.delete'> {
  return {
    check: (p) => {
      const volumes = p.volume === undefined ? ctx.volumes.all() : [ctx.volumes.get(text(p, 'volume'))];
      let last = 0;
      return checkReferences({
        db: ctx.dataDir.db,
        cache: ctx.cache,
        volumes,
        openManifests: (v) => ctx.mounts.openManifests(v.name),
        readData: flag(p, 'readData'),
        repair: flag(p, 'repair'),
        progress: (done, total) => {
          if (done < total && Date.now() - last < PROGRESS_MS) return;
          last = Date.now();
          ctx.events.emit({ type: 'check.progress', done, total });
        },
      });
    },
    gc: async (p) => {
      const minAge = p.minAge ?? 0;
      if (typeof minAge !== 'number' || !Number.isSafeInteger(minAge) || minAge < 0) throw new BazilError('INVALID_ARGUMENT', '"minAge" must be a number of milliseconds');
      const r = await ctx.collector.collect(minAge);
      ctx.log(`garbage collection removed ${r.removed} of ${r.objects} objects (${r.removedBytes} bytes) and forgot ${r.tombstonesForgotten} tombstones`);
      return r;
    },
    'volume.snapshot.delete': (p) => {
      const volume = text(p, 'volume');
      const name = text(p, 'name');
      deleteSnapshot(ctx.dataDir.db, volume, name);
      ctx.log(`deleted snapshot ${name} of ${volume}`);
      return {};
    },
  };
}
