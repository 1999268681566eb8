/**
 * What happens in a server, as typed events with increasing sequence numbers:
 * the engine emits them, the control socket streams them to subscribers (the
 * CLI's `bazil events`, the TUI), and a client that reconnects asks for what
 * came after the last number it saw. Dependency-free, so every client can
 * import the types.
 *
 * Peers are named by their public key (64 hex); volumes by their local name;
 * paths are from the volume's root.
 */

export interface SyncCounts {
  /** Directories whose listing was fetched. */
  dirs: number;
  /** Entries written from their side (new or changed). */
  copied: number;
  deleted: number;
  conflicts: number;
  postponed: number;
}

export type BazilEvent =
  | { type: 'sync.started'; volume: string; peer: string }
  | { type: 'sync.progress'; volume: string; peer: string; counts: SyncCounts }
  | { type: 'sync.finished'; volume: string; peer: string; counts: SyncCounts; error?: string }
  | { type: 'conflict.found'; volume: string; path: string; peer: string }
  | { type: 'conflict.resolved'; volume: string; path: string; choice: string }
  | { type: 'peer.connected'; peer: string; address: string }
  | { type: 'peer.disconnected'; peer: string; reason?: string }
  | { type: 'peer.refused'; peer?: string; address?: string; what: string }
  | { type: 'mount.added'; volume: string; dir: string }
  | { type: 'mount.removed'; volume: string; dir: string }
  | { type: 'mount.died'; volume: string; dir: string }
  | { type: 'fetch.progress'; volume: string; path: string; bytes: number; total: number }
  /** `bazil check --read-data`: objects verified so far, of those to verify. */
  | { type: 'check.progress'; done: number; total: number }
  | { type: 'invite.joined'; id: number; peer: string; name: string | null; verification: string }
  | { type: 'invite.failed'; id: number; why: string }
  | { type: 'invite.expired'; id: number }
  | { type: 'peer.nearby'; fingerprint: string; hostname: string; address: string; peer?: string }
  | { type: 'peer.location'; peer: string; location: string; was: string | null }
  | { type: 'server.stopping' };

export type EventType = BazilEvent['type'];

/** Every event type, for checking one a user names (the compiler keeps this list whole). */
export const EVENT_TYPES: Record<EventType, true> = {
  'sync.started': true,
  'sync.progress': true,
  'sync.finished': true,
  'conflict.found': true,
  'conflict.resolved': true,
  'peer.connected': true,
  'peer.disconnected': true,
  'peer.refused': true,
  'mount.added': true,
  'mount.removed': true,
  'mount.died': true,
  'fetch.progress': true,
  'check.progress': true,
  'invite.joined': true,
  'invite.failed': true,
  'invite.expired': true,
  'peer.nearby': true,
  'peer.location': true,
  'server.stopping': true,
};

export interface SequencedEvent {
  /** 1, 2, 3, ... for the life of one server process. */
  seq: number;
  /** Milliseconds since the epoch. */
  at: number;
  event: BazilEvent;
}

/** Events kept for clients that reconnect: enough for minutes of a busy sync. */
export const DEFAULT_EVENTS_KEPT = 10_000;

/** The server's event stream: the last events kept in order, and listeners told of each new one. */
export class EventLog {
  private nextSeq = 1;
  private readonly kept: SequencedEvent[] = [];
  private readonly listeners = new Set<(e: SequencedEvent) => void>();

  constructor(private readonly keep = DEFAULT_EVENTS_KEPT) {}

  emit(event: BazilEvent): SequencedEvent {
    const e: SequencedEvent = { seq: this.nextSeq++, at: Date.now(), event };
    this.kept.push(e);
    if (this.kept.length > this.keep) this.kept.splice(0, this.kept.length - this.keep);
    for (const listener of this.listeners) {
      try {
        listener(e);
      } catch {
        // A listener's failure is its own: the engine that emitted goes on.
      }
    }
    return e;
  }

  /** The sequence number of the last event emitted (0 before the first). */
  get last(): number {
    return this.nextSeq - 1;
  }

  /** Kept events after `since`; missed: some after it are no longer kept (the client must refresh its view). */
  after(since: number): { events: SequencedEvent[]; missed: boolean } {
    const first = this.kept[0]?.seq ?? this.nextSeq;
    const events = this.kept.filter((e) => e.seq > since);
    return { events, missed: since + 1 < first };
  }

  /** Calls fn with each event from now on; returns the function that stops it. */
  subscribe(fn: (e: SequencedEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
