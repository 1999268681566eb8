/**
 * What the terminal UI knows about its server: the last answers to the
 * control API's list methods, what is in progress (syncs, fetches) and the
 * recent events, folded in from the event stream. Plain data and pure folds,
 * no React: a burst of events costs a few map writes each, and the screen is
 * redrawn from here at most every THROTTLE_MS (see hooks/use-model.ts).
 */
import type { CacheStats, PinInfo } from '../engine/control/cache-api.js';
import type { BazilEvent, ConflictInfo, InviteInfo, NearbyDevice, SequencedEvent, ServerInfo, StatusInfo, SyncCounts } from '../engine/control/api.js';

/** Events kept for the Activity panel. */
export const ACTIVITY_KEPT = 1000;

export interface SyncRun {
  volume: string;
  peer: string;
  startedAt: number;
  counts?: SyncCounts;
}

export interface Fetch {
  volume: string;
  path: string;
  bytes: number;
  total: number;
  /** Bytes per second since the first progress event of this fetch. */
  rate: number;
  startedAt: number;
  firstBytes: number;
  at: number;
}

/** Where the link to the server stands. */
export type LinkState = { state: 'connecting' } | { state: 'up'; server: ServerInfo } | { state: 'down'; why: string };

/** A list the server answered, or the error it answered instead (in words). */
export interface Answer<T> {
  value?: T;
  error?: string;
}

/** The live state of an invite made here: open, then joined (with the words to compare), failed or expired. */
export interface InviteState {
  info: InviteInfo;
  outcome?: { joined: { peer: string; name: string | null; verification: string } } | { failed: string } | { expired: true };
}

export class Model {
  link: LinkState = { state: 'connecting' };
  status: Answer<StatusInfo> = {};
  conflicts: Answer<ConflictInfo[]> = {};
  /** Open and resolved conflicts, asked for only while the Conflicts panel lists resolved ones (showResolved). */
  allConflicts: Answer<ConflictInfo[]> = {};
  showResolved = false;
  cache: Answer<CacheStats> = {};
  pins: Answer<PinInfo[]> = {};
  nearby: Answer<NearbyDevice[]> = {};
  /** Invites made in this TUI, by id. */
  invites = new Map<number, InviteState>();
  syncs = new Map<string, SyncRun>();
  fetches = new Map<string, Fetch>();
  /** When this TUI last saw each peer connected, or saw it go (hex key → ms). */
  peerSeen = new Map<string, number>();
  /** Newest last. */
  activity: SequencedEvent[] = [];
  /** Bumped on every change: what the screen compares to know it must redraw. */
  version = 0;
  private readonly listeners = new Set<() => void>();

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  changed(): void {
    this.version++;
    for (const fn of this.listeners) fn();
  }

  setLink(link: LinkState): void {
    this.link = link;
    if (link.state !== 'up') {
      // Nothing is known to be in progress on a server we cannot hear.
      this.syncs.clear();
      this.fetches.clear();
    }
    this.changed();
  }

  set<K extends 'status' | 'conflicts' | 'allConflicts' | 'cache' | 'pins' | 'nearby'>(key: K, answer: Model[K]): void {
    (this as Model)[key] = answer;
    if (key === 'nearby' && answer.value) for (const d of answer.value as NearbyDevice[]) if (d.peer) this.seen(d.peer.key, d.lastSeen);
    this.changed();
  }

  addInvite(info: InviteInfo): void {
    this.invites.set(info.id, { info });
    this.changed();
  }

  /** Notes that a peer was seen at a time (the latest one is kept). */
  seen(peer: string, at: number): void {
    if ((this.peerSeen.get(peer) ?? 0) < at) this.peerSeen.set(peer, at);
  }

  /** Folds one event in (no redraw: call changed() after a batch). */
  apply(e: SequencedEvent): void {
    this.activity.push(e);
    // Trimmed in steps, not per event: a burst stays O(1) per event.
    if (this.activity.length > 2 * ACTIVITY_KEPT) this.activity.splice(0, this.activity.length - ACTIVITY_KEPT);
    foldEvent(this, e.event, e.at);
  }

  /** The last ACTIVITY_KEPT events, newest first. */
  recent(): SequencedEvent[] {
    return this.activity.slice(-ACTIVITY_KEPT).reverse();
  }

  /** Open conflicts (of one volume): from their own list once it came, else from the status. */
  openConflicts(volume?: string): number {
    const all: { volume: string }[] = this.conflicts.value ?? this.status.value?.conflicts ?? [];
    return all.filter((c) => volume === undefined || c.volume === volume).length;
  }
}

const syncKey = (volume: string, peer: string) => `${volume}\u0000${peer}`;

function foldEvent(m: Model, e: BazilEvent, at: number): void {
  switch (e.type) {
    case 'sync.started':
      m.syncs.set(syncKey(e.volume, e.peer), { volume: e.volume, peer: e.peer, startedAt: at });
      return;
    case 'sync.progress': {
      const run = m.syncs.get(syncKey(e.volume, e.peer));
      m.syncs.set(syncKey(e.volume, e.peer), { volume: e.volume, peer: e.peer, startedAt: run?.startedAt ?? at, counts: e.counts });
      return;
    }
    case 'sync.finished':
      m.syncs.delete(syncKey(e.volume, e.peer));
      return;
    case 'fetch.progress': {
      const key = syncKey(e.volume, e.path);
      if (e.bytes >= e.total) {
        m.fetches.delete(key);
        return;
      }
      const f = m.fetches.get(key);
      const startedAt = f?.startedAt ?? at;
      const firstBytes = f?.firstBytes ?? e.bytes;
      const rate = at > startedAt ? ((e.bytes - firstBytes) * 1000) / (at - startedAt) : 0;
      m.fetches.set(key, { volume: e.volume, path: e.path, bytes: e.bytes, total: e.total, rate, startedAt, firstBytes, at });
      return;
    }
    case 'peer.connected':
    case 'peer.disconnected':
      m.seen(e.peer, at);
      return;
    case 'peer.nearby':
      if (e.peer) m.seen(e.peer, at);
      return;
    case 'invite.joined':
    case 'invite.failed':
    case 'invite.expired': {
      const invite = m.invites.get(e.id);
      if (!invite) return;
      invite.outcome =
        e.type === 'invite.joined' ? { joined: { peer: e.peer, name: e.name, verification: e.verification } } : e.type === 'invite.failed' ? { failed: e.why } : { expired: true };
      return;
    }
    default:
      return;
  }
}

/** Fetches with no news for this long are taken as over (the last event may have been before the end). */
export const FETCH_STALE_MS = 10_000;

/** Drops fetches that went quiet; returns whether any went. */
export function dropStaleFetches(m: Model, now = Date.now()): boolean {
  let dropped = false;
  for (const [k, f] of m.fetches) {
    if (now - f.at > FETCH_STALE_MS) {
      m.fetches.delete(k);
      dropped = true;
    }
  }
  return dropped;
}
