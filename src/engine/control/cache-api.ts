/**
 * The cache's control methods and their shapes (served by
 * src/server/cache-methods.ts): part of the control API (api.ts), kept apart
 * as the cache's own. Dependency-free. A path is an absolute path inside a
 * mount, or VOLUME:/path.
 */

type Ok = Record<string, never>;

export interface CacheControlMethods {
  'cache.show': { params: Ok; result: CacheStats };
  /** Sizes as typed: 256M, 10G, a byte count; "default" puts one back to its default. */
  'cache.setSize': { params: { size?: string; minFree?: string }; result: CacheStats };
  /** Every path is checked before any is pinned. */
  'pin.add': { params: { paths: string[] }; result: PinInfo[] };
  /** Each path exactly as pinned. */
  'pin.remove': { params: { paths: string[] }; result: Ok };
  'pin.list': { params: Ok; result: PinInfo[] };
  /** One answer per file at or under each path. */
  whereis: { params: { paths: string[] }; result: WhereIs[] };
}

export interface CacheStats {
  /** Bytes of objects in the local store. */
  used: number;
  budget: number;
  minFree: number;
  defaultBudget: boolean;
  defaultMinFree: boolean;
  /** Bytes free on the data dir's disk. */
  diskFree: number;
  pinned: number;
  notElsewhere: number;
  evictable: number;
  objects: number;
}

export type PinState = 'complete' | 'fetching' | 'waiting';

export interface PinInfo {
  volume: string;
  path: string;
  state: PinState;
  files: number;
  /** File bytes here and in all (holes excluded). */
  bytes: number;
  total: number;
  /** Why it waits: the last failure to fetch. */
  error?: string;
}

export interface StoreHolding {
  /** peer:HEX, dir:ID, sftp://user@host:port/path */
  store: string;
  /** A dir: store's path, where it was last found (it may be unplugged now). */
  at?: string;
  /** Of the file's objects, how many the store was confirmed to hold. */
  objects: number;
  /** It keeps all of those (not merely caches them). */
  kept: boolean;
  /** Milliseconds: the oldest of the confirmations (every one is at least this recent). */
  seen: number;
}

export interface WhereIs {
  volume: string;
  path: string;
  /** 'inline': small content kept in the metadata, on every peer that has the file. */
  here: 'full' | 'part' | 'none' | 'inline';
  /** Data bytes here, of the file's data bytes. */
  bytes: number;
  total: number;
  objects: number;
  pinned: boolean;
  stores: StoreHolding[];
  /** When content is missing here: the stores that hold what is missing (bring one back to read it). */
  needs?: string[];
}
