/**
 * Where objects are known to live besides the local store: per object, the
 * stores that confirmed holding it, whether they keep it (not merely cache it),
 * since when and when last confirmed. A confirmation comes only from the holder
 * (it sent the object, or answered object.has); nothing is recorded on a guess.
 *
 * A store that keeps an object may let its copy go only on a confirmation
 * newer than the last time it told a peer it keeps it: that peer may have
 * evicted its own copy on that word (a pin since removed, say), and an older
 * confirmation may be that very peer's. So no two stores evict on each
 * other's word, however the pins change.
 *
 * Confirmations arrive once per fetched chunk; the database syncs every commit,
 * so they are written in batches (at most a second late). One lost in a crash
 * only makes the cache keep an object it could have evicted.
 */
import type { Db } from '../db/open.js';

export interface Holder {
  /** peer:HEX */
  store: string;
  kept: boolean;
  /** Milliseconds since the epoch. */
  since: number;
  seen: number;
}

/** What a store answers about one object it is asked for. */
export type Holding = 'absent' | 'cached' | 'kept';

const FLUSH_MS = 1000;

interface Told {
  id: Buffer;
  at: number;
}

interface Pending {
  id: Buffer;
  store: string;
  /** null: the store said it lacks the object. */
  kept: boolean | null;
  at: number;
}

/** How peers are named in the where-table. */
export const peerStore = (key: Buffer | string): string => `peer:${typeof key === 'string' ? key : key.toString('hex')}`;

export class WhereTable {
  private readonly pending = new Map<string, Pending>();
  private readonly pendingTold = new Map<string, Told>();
  /** hex id -> when this store last said it keeps it (all of the table, loaded at start). */
  private readonly toldAt = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      upsert: db.prepare(
        'INSERT INTO object_where (id, store, kept, since, seen) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id, store) DO UPDATE SET kept = excluded.kept, seen = excluded.seen',
      ),
      drop: db.prepare('DELETE FROM object_where WHERE id = ? AND store = ?'),
      holders: db.prepare('SELECT store, kept, since, seen FROM object_where WHERE id = ? ORDER BY seen DESC'),
      keptIds: db.prepare('SELECT DISTINCT id FROM object_where WHERE kept = 1'),
      told: db.prepare('INSERT INTO object_told (id, at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at'),
    };
    for (const r of db.prepare('SELECT id, at FROM object_told').all() as { id: Buffer; at: number }[]) this.toldAt.set(r.id.toString('hex'), r.at);
  }

  /** This store told a peer it keeps the object. */
  told(id: Buffer, at = Date.now()): void {
    const hex = id.toString('hex');
    this.toldAt.set(hex, at);
    this.pendingTold.set(hex, { id, at });
    this.schedule();
  }

  /** The store holds the object (kept: it keeps it for good there). */
  confirm(id: Buffer, store: string, kept: boolean, at = Date.now()): void {
    this.queue({ id, store, kept, at });
  }

  /** The store said it does not hold the object. */
  absent(id: Buffer, store: string, at = Date.now()): void {
    this.queue({ id, store, kept: null, at });
  }

  /** Every store known to hold the object, most recently confirmed first. */
  holders(id: Buffer): Holder[] {
    const rows = (this.stmts.holders.all(id) as { store: string; kept: number; since: number; seen: number }[]).map((r) => ({ ...r, kept: r.kept === 1 }));
    const byStore = new Map(rows.map((r) => [r.store, r]));
    for (const p of this.pending.values()) {
      if (!p.id.equals(id)) continue;
      if (p.kept === null) byStore.delete(p.store);
      else byStore.set(p.store, { store: p.store, kept: p.kept, since: byStore.get(p.store)?.since ?? p.at, seen: p.at });
    }
    return [...byStore.values()].sort((a, b) => b.seen - a.seen);
  }

  /**
   * Some other store keeps the object, as it confirmed after this store last
   * said it keeps it: the local copy may be evicted.
   */
  keptElsewhere(id: Buffer): boolean {
    const since = this.toldAt.get(id.toString('hex')) ?? -1;
    return this.holders(id).some((h) => h.kept && h.seen > since);
  }

  /** Whether this store ever told a peer it keeps the object (that peer may have let its own copy go). */
  wasTold(hex: string): boolean {
    return this.toldAt.has(hex);
  }

  /** Ids (hex) that may be kept elsewhere (keptElsewhere tells): loaded once at start. */
  keptIds(): Set<string> {
    return new Set((this.stmts.keptIds.pluck().all() as Buffer[]).map((b) => b.toString('hex')));
  }

  /** Writes what is queued, in one transaction. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0 && this.pendingTold.size === 0) return;
    const batch = [...this.pending.values()];
    const told = [...this.pendingTold.values()];
    this.pending.clear();
    this.pendingTold.clear();
    this.db.transaction(() => {
      for (const p of batch) {
        if (p.kept === null) this.stmts.drop.run(p.id, p.store);
        else this.stmts.upsert.run(p.id, p.store, p.kept ? 1 : 0, p.at, p.at);
      }
      for (const t of told) this.stmts.told.run(t.id, t.at);
    })();
  }

  private queue(p: Pending): void {
    this.pending.set(`${p.id.toString('hex')} ${p.store}`, p);
    this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }
}
