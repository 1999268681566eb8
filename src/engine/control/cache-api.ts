/**
 * The shapes of the cache's control methods (src/server/cache-methods.ts),
 * for clients: dependency-free, like the rest of the control API.
 *
 *   cache.show      {}                          -> CacheStats
 *   cache.setSize   {size?, minFree?}           -> CacheStats   (sizes as typed: 256M, 10G, a byte count; "default")
 *   pin.add         {paths}                     -> PinInfo[]
 *   pin.remove      {paths}                     -> {}
 *   pin.list        {}                          -> PinInfo[]
 *   whereis         {paths}                     -> WhereIs[]    (one per file, directories expanded)
 *
 * A path is an absolute path inside a mount, or VOLUME:/path.
 */

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
  /** peer:HEX */
  store: string;
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
