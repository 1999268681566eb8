/**
 * Control methods of the cache (engine/cache): its budget, pins and whereis.
 * Their shapes are in engine/control/cache-api.ts.
 */
import type { Cache } from '../engine/cache/cache.js';
import { parseSize } from '../engine/cache/budget.js';
import { Pins, volumePath } from '../engine/cache/pins.js';
import { whereIs } from '../engine/cache/whereis.js';
import type { DataDir } from '../engine/datadir.js';
import { listStores } from '../engine/store/stores.js';
import type { PinInfo, WhereIs } from '../engine/control/cache-api.js';
import type { CacheControlMethods } from '../engine/control/cache-api.js';
import type { MethodTable } from '../engine/control/api.js';
import { BazilError } from '../engine/errors.js';
import { showName } from '../engine/names.js';
import { locateInVolumes } from './volume-paths.js';
import type { Node } from '../engine/tree/tree.js';
import type { Mounts } from './mounts.js';
import type { OpenVolume, OpenVolumes } from '../engine/node/open-volumes.js';
import type { Params } from './params.js';

export interface CacheMethodContext {
  dataDir: DataDir;
  cache: Cache;
  pins: Pins;
  volumes: OpenVolumes;
  mounts: Pick<Mounts, 'list'>;
}

/** Files one whereis answers for at most (a directory with more is cut there, and says so). */
const WHEREIS_MAX = 10_000;

export function cacheMethods(ctx: CacheMethodContext): MethodTable<keyof CacheControlMethods> {
  /** A volume and a path in it, from an absolute path in a mount or VOLUME:/path. */
  const locate = (target: string): { volume: OpenVolume; path: string } => {
    const { volume, path } = locateInVolumes(ctx.mounts.list(), target);
    return { volume: ctx.volumes.get(volume), path: volumePath(path) };
  };

  /** A size as typed (256M, 10G, a byte count), or "default" (null). */
  const size = (p: Params, name: string): number | null | undefined => {
    const v = p[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new BazilError('INVALID_ARGUMENT', `"${name}" must be a size like 256M, or "default"`);
    return v === 'default' ? null : parseSize(v);
  };

  const paths = (p: Params): string[] => {
    const list = p.paths;
    if (!Array.isArray(list) || list.length === 0 || !list.every((x) => typeof x === 'string' && x !== '')) {
      throw new BazilError('INVALID_ARGUMENT', 'the request needs "paths", a non-empty list of paths');
    }
    return list as string[];
  };

  return {
    'cache.show': () => ctx.cache.stats(),
    'cache.setSize': (p) => ctx.cache.setBudget({ budget: size(p, 'size'), minFree: size(p, 'minFree') }),
    'pin.add': (p) => {
      const places = paths(p).map(locate); // every path checked before any is pinned
      for (const { volume, path } of places) volume.tree.resolve(path);
      return places.map(({ volume, path }): PinInfo => ctx.pins.add(volume, path));
    },
    'pin.remove': (p) => {
      for (const { volume, path } of paths(p).map(locate)) ctx.pins.remove(volume, path);
      return {};
    },
    'pin.list': () => ctx.pins.list(),
    whereis: async (p) => {
      const out: WhereIs[] = [];
      const locations = new Map(listStores(ctx.dataDir.db).map((s) => [s.name, s.location]));
      for (const { volume, path } of paths(p).map(locate)) {
        for (const [filePath, file] of filesAt(volume, path)) {
          if (out.length >= WHEREIS_MAX) throw new BazilError('INVALID_ARGUMENT', `more than ${WHEREIS_MAX} files under ${showName(path)}: ask about a smaller directory`);
          out.push(await whereIs(ctx.cache, volume, filePath, file, ctx.pins.isPinned(volume, filePath), (store) => locations.get(store)));
        }
      }
      return out;
    },
  };
}

/** The files at or under a path, with their paths, in name order. */
function* filesAt(volume: OpenVolume, path: string): Generator<[string, Node]> {
  const node = volume.tree.resolve(path);
  if (node.kind === 'file') {
    yield [path, node];
    return;
  }
  if (node.kind !== 'dir') return;
  const base = path === '/' ? '' : path;
  for (const child of volume.tree.children(node.ino).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    yield* filesAt(volume, `${base}/${child.name}`);
  }
}
