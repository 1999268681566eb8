/**
 * Garbage collection of the local store: objects that no reference reaches
 * (live trees, snapshots, open conflicts, open files: references.ts) are
 * removed, while writes and syncs go on.
 *
 * The race, and how it is closed. An object can be in the store before
 * anything references it: a writer puts a file's chunks, then commits the
 * manifest to the tree; a duplicate put finds the object already there and
 * counts on it. A mark-and-sweep that marks before such a commit would see
 * the object unreferenced. Three things make that safe, with no grace period
 * to guess (only a clock tick's slack, CLOCK_SLACK_MS):
 *  - every write holds the store (ObjectStore.hold: writeFile, a snapshot
 *    being taken); the sweep spares objects whose file time is at or after the
 *    start of the oldest write under way when the collection began (or the
 *    collection's own start), less minAge;
 *  - a duplicate put refreshes the object's file time, so an old object a
 *    running write counts on is as new as that write;
 *  - from the collection's start, every put and read is noted, and
 *    LocalObjectStore.collect() spares those; a put of an object being
 *    removed waits for the removal, then writes it anew.
 * A reference that arrives by sync needs no local object: content comes on
 * demand from the peer that has it.
 *
 * A peer may have let its copy of an object go because this store told it
 * "kept" (engine/cache/where.ts). An unreferenced object this store told a
 * peer it keeps is removed only when another store keeps it, or when every
 * peer that may read this store answers that it no longer needs it
 * (object.needed); a peer that cannot be asked keeps it here.
 */
import { stat } from 'node:fs/promises';
import type { GcResult } from '../control/check-api.js';
import type { Db } from '../db/open.js';
import type { LocalObjectStore } from '../store/objects.js';
import type { Tree } from '../tree/tree.js';
import type { Cache } from './cache.js';
import { fileObjects } from './file-objects.js';
import { walkReferences, type RefVolume } from './references.js';

export interface CollectorOptions {
  db: Db;
  cache: Cache;
  objects: LocalObjectStore;
  volumes(): RefVolume[];
  openManifests(volume: RefVolume): Buffer[];
  /**
   * Asks the peers that may read this store whether they still need these
   * objects; undefined when one could not be asked (then all are needed).
   */
  askNeeded?(ids: Buffer[]): Promise<boolean[] | undefined>;
  /** Forgets the tombstones every peer has seen (engine/sync/forget.ts); returns how many. */
  forgetTombstones?(): number;
  log(line: string): void;
}

/** What the references reach. complete: every reference could be walked. */
export interface Marked {
  ids: Set<string>;
  complete: boolean;
  problems: string[];
}

/**
 * File times come from the kernel's coarse clock, which may lag Date.now() by
 * a tick (a few ms): an object written just after a write began can look
 * older than it. This is many ticks.
 */
const CLOCK_SLACK_MS = 100;
/** Objects stat'd or removed at once. */
const PARALLEL = 64;
/** A peer's object.needed is answered from a mark at most this old (one walk serves its batches). */
const MARK_REUSE_MS = 10_000;
/** Automatic collection: this long after the last change to a tree, and at least this often. */
const AUTO_SETTLE_MS = 60_000;
const AUTO_EVERY_MS = 3_600_000;
/** Automatic collections spare objects younger than this (a margin beside the holds above). */
const AUTO_MIN_AGE_MS = 60_000;

export class Collector {
  private running?: Promise<GcResult>;
  private lastMark?: { at: number; marked: Promise<Marked> };
  private timer?: NodeJS.Timeout;
  private periodic?: NodeJS.Timeout;
  private stopped = false;
  private autoOn = false;

  constructor(private readonly options: CollectorOptions) {}

  /** What every reference reaches now (fetching snapshot directories and manifest nodes that are not here). */
  async mark(): Promise<Marked> {
    const { cache } = this.options;
    const marked: Marked = { ids: new Set(), complete: true, problems: [] };
    const problem = (line: string) => {
      marked.complete = false;
      if (marked.problems.length < 100) marked.problems.push(line);
    };
    await walkReferences({
      db: this.options.db,
      volumes: this.options.volumes(),
      openManifests: this.options.openManifests,
      unreadable: (volume, origin, path, why) => problem(`could not read ${volume.name}:${path} in ${origin}: ${why}`),
      visit: async (ref) => {
        try {
          const { objects } = await fileObjects(ref.volume.store, ref.manifest, (id) => cache.has(id), true);
          for (const o of objects) marked.ids.add(o.id.toString('hex'));
        } catch (err) {
          problem(`could not read the manifest of ${ref.volume.name}:${ref.path} (${ref.origin}): ${(err as Error).message}`);
        }
      },
    });
    return marked;
  }

  /** The objects a peer asks about (object.needed) that a reference here reaches; all of them when the walk was incomplete. */
  async needed(ids: Buffer[]): Promise<boolean[]> {
    if (!this.lastMark || Date.now() - this.lastMark.at > MARK_REUSE_MS) {
      const marked = this.mark();
      this.lastMark = { at: Date.now(), marked };
      marked.catch(() => (this.lastMark = undefined));
    }
    const m = await this.lastMark.marked;
    return ids.map((id) => !m.complete || m.ids.has(id.toString('hex')));
  }

  /** Collects now (one collection at a time: a second caller shares the one running). */
  collect(minAge = 0): Promise<GcResult> {
    this.running ??= this.run(minAge).finally(() => (this.running = undefined));
    return this.running;
  }

  /** Collects on its own from now: after the trees settle from a change (see watch), and every hour. */
  startAuto(): void {
    this.autoOn = true;
    this.periodic = setInterval(() => void this.auto(), AUTO_EVERY_MS);
    this.periodic.unref();
  }

  /** Watches a volume's tree: a change (a deletion, say) is followed by a collection once things settle. */
  watch(tree: Tree): void {
    tree.onChange(() => {
      if (!this.autoOn || this.stopped) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.auto(), AUTO_SETTLE_MS);
      this.timer.unref();
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.periodic);
  }

  private async auto(): Promise<void> {
    try {
      const r = await this.collect(AUTO_MIN_AGE_MS);
      if (r.removed > 0 || r.tombstonesForgotten > 0) {
        this.options.log(`garbage collection removed ${r.removed} objects (${r.removedBytes} bytes) and forgot ${r.tombstonesForgotten} tombstones`);
      }
    } catch (err) {
      this.options.log(`garbage collection failed: ${(err as Error).message}`);
    }
  }

  private async run(minAge: number): Promise<GcResult> {
    const started = Date.now();
    const { cache, objects } = this.options;
    const end = objects.beginCollection();
    try {
      const cutoff = Math.min(started, objects.oldestHold() ?? started) - minAge - CLOCK_SLACK_MS;
      const tombstonesForgotten = this.options.forgetTombstones?.() ?? 0;
      const marked = await this.mark();
      this.lastMark = { at: Date.now(), marked: Promise.resolve(marked) };
      const all = cache.objects();
      const result: GcResult = {
        objects: all.length,
        referenced: 0,
        removed: 0,
        removedBytes: 0,
        sparedRecent: 0,
        sparedForPeers: 0,
        sparedUnknown: 0,
        problems: marked.problems,
        tombstonesForgotten,
        ms: 0,
      };
      const unreferenced: [string, number][] = [];
      for (const [hex, size] of all) {
        if (marked.ids.has(hex)) result.referenced++;
        else if (!marked.complete && !cache.isEvictable(hex)) result.sparedUnknown++; // some reference we could not walk may reach it
        else unreferenced.push([hex, size]);
      }
      // Old enough: written before the oldest write under way (less minAge, and the clocks' slack) when this began.
      const old: [string, number][] = [];
      await inBatches(unreferenced, async ([hex, size]) => {
        const s = await stat(objects.pathOf(Buffer.from(hex, 'hex'))).catch(() => undefined);
        if (s && s.mtimeMs < cutoff) old.push([hex, size]);
        else if (s) result.sparedRecent++;
      });
      const told = old.filter(([hex]) => cache.where.wasTold(hex) && !cache.isEvictable(hex));
      const spare = new Set<string>();
      if (told.length > 0) {
        const needed = await this.options.askNeeded?.(told.map(([hex]) => Buffer.from(hex, 'hex')));
        told.forEach(([hex], i) => {
          if (!needed || needed[i]) spare.add(hex);
        });
        result.sparedForPeers = spare.size;
      }
      await inBatches(
        old.filter(([hex]) => !spare.has(hex)),
        async ([hex, size]) => {
          if (await objects.collect(Buffer.from(hex, 'hex'))) {
            cache.forget(hex);
            result.removed++;
            result.removedBytes += size;
          } else result.sparedRecent++;
        },
      );
      result.ms = Date.now() - started;
      return result;
    } finally {
      end();
    }
  }
}

async function inBatches<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += PARALLEL) await Promise.all(items.slice(i, i + PARALLEL).map(fn));
}
