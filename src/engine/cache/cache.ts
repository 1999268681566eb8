/**
 * The local store as a cache with a budget. Every object here is one of:
 *
 *   pinned         kept for offline use (engine/cache/pins.ts), never evicted;
 *   not elsewhere  no other store confirmed keeping it: never evicted (it may be
 *                  the last copy);
 *   evictable      another store confirmed keeping it: evicted least recently
 *                  used first when the store is over budget.
 *
 * The budget holds continuously: each put of an object makes room before it
 * returns, so a long read from a peer never takes the store past the budget by
 * more than the objects being put at that moment. The free-disk floor lowers
 * the budget while the disk is that full.
 *
 * The index of local objects lives in memory (sizes and recency), built from
 * the objects directory at start in modification-time order; the where-table
 * is in the database.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheStats } from '../control/cache-api.js';
import type { Db } from '../db/open.js';
import type { LocalObjectStore, ObjectStoreWatcher } from '../store/objects.js';
import { diskSpace, readBudget, writeBudget, type BudgetSettings, type DiskSpace } from './budget.js';
import { WhereTable, type Holding } from './where.js';

export interface CacheOptions {
  db: Db;
  objects: LocalObjectStore;
  log(line: string): void;
}

/** Asks a store which of these objects it holds (a batch object.has); rejects when it cannot be reached. */
export type AskStore = (store: string, ids: Buffer[]) => Promise<Holding[]>;

/** Ids per object.has request. */
export const HAS_BATCH = 1000;
/** At most one background round of asking the stores per this many ms. */
const ASK_EVERY_MS = 30_000;
/** The disk's free space is read again after this long. */
const DISK_EVERY_MS = 1000;

export class Cache implements ObjectStoreWatcher {
  readonly where: WhereTable;
  /** hex id -> size; Map order is recency: least recently used first. */
  private readonly local = new Map<string, number>();
  /** The local objects another store keeps, in the same order. */
  private readonly evictable = new Map<string, number>();
  private pinned = new Set<string>();
  private usedBytes = 0;
  private settings: BudgetSettings;
  private disk: DiskSpace;
  private diskAt = 0;
  private room: Promise<void> = Promise.resolve();
  private lastAsk = 0;
  private asking?: Promise<void>;
  private warnedOver = false;
  private retry?: NodeJS.Timeout;
  private closed = false;
  private stores: () => string[] = () => [];
  private askStore?: AskStore;

  private constructor(
    private readonly options: CacheOptions,
    disk: DiskSpace,
  ) {
    this.where = new WhereTable(options.db);
    this.disk = disk;
    this.diskAt = Date.now();
    this.settings = readBudget(options.db, disk);
  }

  /** Indexes the local store and starts watching it. */
  static async open(options: CacheOptions): Promise<Cache> {
    const cache = new Cache(options, await diskSpace(options.objects.dir));
    const found: { hex: string; size: number; mtime: number }[] = [];
    for (const fan of await readdir(options.objects.dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(fan)) continue;
      for (const rest of await readdir(join(options.objects.dir, fan))) {
        const s = await stat(join(options.objects.dir, fan, rest)).catch(() => undefined);
        if (s?.isFile()) found.push({ hex: fan + rest, size: s.size, mtime: s.mtimeMs });
      }
    }
    found.sort((a, b) => a.mtime - b.mtime);
    const kept = cache.where.keptIds();
    for (const o of found) {
      cache.local.set(o.hex, o.size);
      cache.usedBytes += o.size;
      if (kept.has(o.hex) && cache.where.keptElsewhere(Buffer.from(o.hex, 'hex'))) cache.evictable.set(o.hex, o.size);
    }
    options.objects.watcher = cache;
    return cache;
  }

  added(id: Buffer, size: number): Promise<void> {
    const hex = id.toString('hex');
    if (!this.local.has(hex)) this.usedBytes += size;
    this.local.set(hex, size);
    if (this.where.keptElsewhere(id)) this.evictable.set(hex, size);
    return this.makeRoom();
  }

  used(id: Buffer): void {
    const hex = id.toString('hex');
    touch(this.local, hex);
    touch(this.evictable, hex);
  }

  has(id: Buffer): boolean {
    return this.local.has(id.toString('hex'));
  }

  /** The local objects (hex id, size), least recently used first: for garbage collection and check. */
  objects(): [string, number][] {
    return [...this.local];
  }

  /** Another store keeps the object (after this one last said it keeps it): it may go as eviction would let it. */
  isEvictable(hex: string): boolean {
    return this.evictable.has(hex);
  }

  /** An object a garbage collection removed (engine/cache/gc.ts): it no longer counts. */
  forget(hex: string): void {
    const size = this.local.get(hex);
    if (size === undefined) return;
    this.local.delete(hex);
    this.evictable.delete(hex);
    this.usedBytes -= size;
  }

  /** A store confirmed holding the object (by sending it or answering object.has). */
  confirmed(id: Buffer, store: string, kept: boolean): void {
    this.where.confirm(id, store, kept);
    this.reclassify(id);
  }

  /** A store said it lacks the object. */
  lacks(id: Buffer, store: string): void {
    this.where.absent(id, store);
    this.reclassify(id);
  }

  /** The stores last known to hold an object, for a message: "peer:AB... (confirmed 2026-...)". */
  describeHolders(id: Buffer): string | undefined {
    const holders = this.where.holders(id);
    return holders.length ? holders.map((h) => `${h.store} (confirmed ${new Date(h.seen).toISOString()})`).join(', ') : undefined;
  }

  /**
   * What this store answers a peer's object.has (and object.get): kept unless
   * another store keeps it and it is not pinned. Saying kept is remembered.
   */
  holding(id: Buffer): Holding {
    const hex = id.toString('hex');
    if (!this.local.has(hex)) return 'absent';
    if (this.evictable.has(hex) && !this.pinned.has(hex)) return 'cached';
    // The asker may evict its copy on this word: what others said before no longer lets this one go.
    this.where.told(id);
    this.evictable.delete(hex);
    return 'kept';
  }

  /** The objects (hex ids) pins hold here; set by the pins whenever they change. */
  setPinned(ids: Set<string>): void {
    this.pinned = ids;
  }

  /** Adds to the pinned objects (a round of the pinner under way). */
  addPinned(ids: Iterable<string>): void {
    for (const hex of ids) this.pinned.add(hex);
  }

  isPinned(id: Buffer): boolean {
    return this.pinned.has(id.toString('hex'));
  }

  async stats(): Promise<CacheStats> {
    await this.refreshDisk(true);
    let pinned = 0;
    let evictable = 0;
    for (const [hex, size] of this.local) {
      if (this.pinned.has(hex)) pinned += size;
      else if (this.evictable.has(hex)) evictable += size;
    }
    const { budget, minFree, defaultBudget, defaultMinFree } = this.settings;
    return {
      used: this.usedBytes,
      budget,
      minFree,
      defaultBudget,
      defaultMinFree,
      diskFree: this.disk.free,
      pinned,
      evictable,
      notElsewhere: this.usedBytes - pinned - evictable,
      objects: this.local.size,
    };
  }

  /** Changes the budget or the floor (null: back to the default), then evicts to fit. */
  async setBudget(change: { budget?: number | null; minFree?: number | null }): Promise<CacheStats> {
    writeBudget(this.options.db, change);
    this.settings = readBudget(this.options.db, await diskSpace(this.options.objects.dir));
    await this.makeRoom();
    return this.stats();
  }

  /** The stores worth asking about objects not yet confirmed elsewhere, and how to ask them. */
  useStores(stores: () => string[], ask: AskStore): void {
    this.stores = stores;
    this.askStore = ask;
  }

  /** Evicts until the store fits its budget (and the disk its floor); one eviction at a time. */
  makeRoom(): Promise<void> {
    const run = this.room.then(() => this.evict());
    this.room = run.catch(() => {});
    return run;
  }

  /**
   * Asks the stores, in batches, which of the objects here not yet confirmed
   * elsewhere they keep. Run in the background when the store is over budget
   * with nothing to evict, and on request (whereis, tests).
   */
  askElsewhere(): Promise<void> {
    this.asking ??= this.ask().finally(() => {
      this.asking = undefined;
      this.lastAsk = Date.now();
    });
    return this.asking;
  }

  /**
   * Asks every store about objects that are not here and that no store is
   * known to hold (check, before it calls one missing); answers are recorded.
   */
  async locate(ids: Buffer[]): Promise<void> {
    const ask = this.askStore;
    if (!ask) return;
    for (const store of this.stores()) {
      for (let i = 0; i < ids.length && !this.closed; i += HAS_BATCH) {
        const batch = ids.slice(i, i + HAS_BATCH);
        let answers: Holding[];
        try {
          answers = await ask(store, batch);
        } catch (err) {
          this.options.log(`could not ask ${store} which objects it holds: ${(err as Error).message}`);
          break;
        }
        batch.forEach((id, j) => (answers[j] === 'absent' ? this.lacks(id, store) : this.confirmed(id, store, answers[j] === 'kept')));
      }
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.where.flush();
    if (this.options.objects.watcher === this) this.options.objects.watcher = undefined;
  }

  private reclassify(id: Buffer): void {
    const hex = id.toString('hex');
    const size = this.local.get(hex);
    if (size === undefined) return;
    if (this.where.keptElsewhere(id)) {
      if (!this.evictable.has(hex)) this.evictable.set(hex, size);
    } else this.evictable.delete(hex);
  }

  private async refreshDisk(now = false): Promise<void> {
    if (!now && Date.now() - this.diskAt < DISK_EVERY_MS) return;
    this.disk = await diskSpace(this.options.objects.dir);
    this.diskAt = Date.now();
  }

  /** What the store may hold now: the budget, less what the free-disk floor asks back. */
  private target(): number {
    const short = Math.max(0, this.settings.minFree - this.disk.free);
    return Math.max(0, Math.min(this.settings.budget, this.usedBytes - short));
  }

  private async evict(): Promise<void> {
    if (this.closed) return;
    await this.refreshDisk();
    let target = this.target();
    if (this.usedBytes <= target) {
      this.warnedOver = false;
      return;
    }
    for (const [hex, size] of this.evictable) {
      if (this.usedBytes <= target) break;
      if (this.pinned.has(hex)) continue;
      await this.options.objects.remove(Buffer.from(hex, 'hex'));
      // It may have been put again meanwhile: then it is counted again by that put.
      if (this.local.delete(hex)) this.usedBytes -= size;
      this.evictable.delete(hex);
      this.disk.free += size;
      target = this.target();
    }
    if (this.usedBytes > target) {
      if (!this.warnedOver) {
        this.warnedOver = true;
        this.options.log(
          `the local store holds ${this.usedBytes} bytes, over its ${target}-byte budget: the rest is pinned or not yet stored elsewhere; unpin files or raise the budget with \`bazil cache set-size\``,
        );
      }
      // Ask the stores again now and then while over: one may have come back, or pinned what is here.
      const wait = this.lastAsk + ASK_EVERY_MS - Date.now();
      if (wait <= 0) void this.askElsewhere().then(() => this.makeRoom());
      else if (!this.retry) {
        this.retry = setTimeout(() => {
          this.retry = undefined;
          void this.makeRoom();
        }, wait);
        this.retry.unref();
      }
    }
  }

  private async ask(): Promise<void> {
    await this.locate([...this.local.keys()].filter((hex) => !this.evictable.has(hex)).map((hex) => Buffer.from(hex, 'hex')));
  }
}

function touch(map: Map<string, number>, key: string): void {
  const size = map.get(key);
  if (size === undefined) return;
  map.delete(key);
  map.set(key, size);
}
