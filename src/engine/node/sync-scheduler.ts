/**
 * When volumes sync. A pull runs when asked (`bazil volume sync`), and, unless
 * the server runs with manual sync, on its own:
 *  - a local change (through a mount, or applied from a peer) is announced,
 *    after a short pause that gathers a burst of changes, to every peer that
 *    may pull the volume from us (granted it) that we can reach; they pull;
 *  - a peer's announcement makes us pull from it;
 *  - at start and every POLL_MS, we pull from each peer the volume syncs with,
 *    which catches up on what was missed while either side was away.
 * Pulls of one volume from one peer never overlap: a request while one runs
 * makes it run once more after.
 */
import type { Db } from '../db/open.js';
import { isBazilError } from '../errors.js';
import type { EventLog } from '../events.js';
import type { PeerConnection } from '../peer/connection.js';
import type { PeerNetwork } from '../peer/network.js';
import { peerLabel, volumeGrantees, volumeSyncPeers } from '../peer/peers.js';
import { peerCall } from '../peer/protocol.js';
import { pull, type PullStats } from '../sync/pull.js';
import type { Replicas } from '../sync/replicas.js';
import { volumeProof, volumeSecret } from '../tree/volumes.js';
import type { OpenVolume } from './open-volumes.js';

/** Changes are announced this long after the last of a burst. */
const ANNOUNCE_AFTER_MS = 300;
/** How often to pull from every peer a volume syncs with, as a catch-up. */
const POLL_MS = 30_000;
/** sync.progress events of one pull are at most this often: a big tree has many directories. */
const PROGRESS_EVERY_MS = 250;

export interface SchedulerOptions {
  db: Db;
  network: PeerNetwork;
  replicas: Replicas;
  /** Sync on its own (announce, pull when told, poll); false: only when asked. */
  auto: boolean;
  isOpen(v: OpenVolume, ino: number): boolean;
  /** Calls fn once the file is no longer open. */
  whenClosed(v: OpenVolume, ino: number, fn: () => void): void;
  volumes(): OpenVolume[];
  /** Where sync.started / progress / finished and conflict.found go. */
  events: EventLog;
  log(line: string): void;
}

interface Flight {
  running: Promise<PullStats>;
  /** The pull that runs after this one, for those who asked while it ran. */
  next?: Promise<PullStats>;
}

export class SyncScheduler {
  private readonly flights = new Map<string, Flight>();
  private readonly announceTimers = new Map<number, NodeJS.Timeout>();
  /** Last failure logged per volume and peer, so a peer that is away is not logged every time. */
  private readonly failing = new Map<string, string>();
  private poller?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly opts: SchedulerOptions) {}

  /** Starts syncing on its own (unless manual). */
  start(): void {
    if (!this.opts.auto) return;
    const catchUp = () => {
      for (const v of this.opts.volumes()) for (const peer of volumeSyncPeers(this.opts.db, v.rowId)) this.background(v, peer);
    };
    catchUp();
    this.poller = setInterval(catchUp, POLL_MS);
    this.poller.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.poller);
    for (const t of this.announceTimers.values()) clearTimeout(t);
  }

  /** Watches a volume's tree: a change is announced to its peers. */
  watch(v: OpenVolume): void {
    v.tree.onChange(() => {
      if (!this.opts.auto || this.stopped) return;
      clearTimeout(this.announceTimers.get(v.rowId));
      this.announceTimers.set(
        v.rowId,
        setTimeout(() => {
          this.announceTimers.delete(v.rowId);
          void this.announce(v);
        }, ANNOUNCE_AFTER_MS),
      );
    });
  }

  /** A peer announced a change. */
  changed(v: OpenVolume, peer: Buffer): void {
    if (this.opts.auto && !this.stopped) this.background(v, peer);
  }

  private async announce(v: OpenVolume): Promise<void> {
    const hex = v.volumeId.toString('hex');
    for (const peer of this.peersToTell(v)) {
      try {
        const conn = this.opts.network.connected(peer) ?? (await this.opts.network.connection(peer));
        await peerCall(conn, 'sync.changed', { volume: hex, proof: this.proof(v, conn) });
        this.recovered(v, peer);
      } catch (err) {
        this.failed(v, peer, 'tell of changes', err);
      }
    }
  }

  /**
   * Peers that may pull this volume from us (a peer it was only connected
   * from could not: our grant is what lets it list): those we can reach.
   */
  private peersToTell(v: OpenVolume): Buffer[] {
    const rows = volumeGrantees(this.opts.db, v.rowId);
    const reachable = new Set(volumeSyncPeers(this.opts.db, v.rowId).map((k) => k.toString('hex')));
    return rows.filter((k) => reachable.has(k.toString('hex')) || this.opts.network.connected(k));
  }

  private background(v: OpenVolume, peer: Buffer): void {
    this.pull(v, peer).then(
      () => this.recovered(v, peer),
      (err) => this.failed(v, peer, 'pull', err),
    );
  }

  /** Pulls v from peer now, or right after the pull already running (several asking then share one). */
  pull(v: OpenVolume, peer: Buffer): Promise<PullStats> {
    const key = `${v.rowId}:${peer.toString('hex')}`;
    const current = this.flights.get(key);
    if (current) {
      current.next ??= current.running.then(
        () => this.fly(key, v, peer),
        () => this.fly(key, v, peer),
      );
      return current.next;
    }
    return this.fly(key, v, peer);
  }

  private fly(key: string, v: OpenVolume, peer: Buffer): Promise<PullStats> {
    const f: Flight = { running: this.pullOnce(v, peer) };
    this.flights.set(key, f);
    const land = () => {
      if (this.flights.get(key) === f) this.flights.delete(key);
    };
    f.running.then(land, land);
    return f.running;
  }

  /** Our proof, on this connection, that we hold the volume's sharing key (peer-requests.ts checks it). */
  private proof(v: OpenVolume, conn: PeerConnection): string {
    return volumeProof(volumeSecret(this.opts.db, v.rowId), conn.binding, v.volumeId, conn.remoteKey).toString('hex');
  }

  /** One pull, told as events: sync.started, sync.progress, then sync.finished (with the error, if it failed). */
  private async pullOnce(v: OpenVolume, peer: Buffer): Promise<PullStats> {
    const { events } = this.opts;
    const named = { volume: v.name, peer: peer.toString('hex') };
    let counts: PullStats = { dirs: 0, copied: 0, deleted: 0, conflicts: 0, postponed: 0 };
    let lastProgress = 0;
    const progress = (now: PullStats) => {
      counts = now;
      if (Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = Date.now();
      events.emit({ type: 'sync.progress', ...named, counts });
    };
    events.emit({ type: 'sync.started', ...named });
    try {
      const stats = await this.pullLogged(v, peer, progress);
      events.emit({ type: 'sync.finished', ...named, counts: stats });
      return stats;
    } catch (err) {
      events.emit({ type: 'sync.finished', ...named, counts, error: (err as Error)?.message ?? String(err) });
      throw err;
    }
  }

  private async pullLogged(v: OpenVolume, peer: Buffer, progress: (stats: PullStats) => void): Promise<PullStats> {
    const conn = await this.opts.network.connection(peer);
    let stats: PullStats;
    try {
      stats = await this.pullFrom(v, peer, conn, progress);
    } catch (err) {
      // What the peer sent was refused (validate.ts, or paths past PATH_MAX): said once per pull, naming the peer.
      if (isBazilError(err, 'CORRUPT') || isBazilError(err, 'NAME_TOO_LONG')) this.opts.log(`refused what peer ${peerLabel(this.opts.db, peer)} sent of volume ${v.name}: ${err.message}`);
      throw err;
    }
    if (stats.copied || stats.deleted || stats.conflicts || stats.postponed) {
      const parts = [`${stats.copied} copied`, `${stats.deleted} deleted`, `${stats.conflicts} conflicts`];
      if (stats.postponed) parts.push(`${stats.postponed} waiting for open files to close`);
      this.opts.log(`synced ${v.name} from ${peerLabel(this.opts.db, peer)}: ${parts.join(', ')}`);
    }
    return stats;
  }

  private pullFrom(v: OpenVolume, peer: Buffer, conn: PeerConnection, progress: (stats: PullStats) => void): Promise<PullStats> {
    const volume = v.volumeId.toString('hex');
    const proof = this.proof(v, conn);
    return pull({
      tree: v.tree,
      db: this.opts.db,
      volume: v.rowId,
      replicas: this.opts.replicas,
      peer,
      list: async (dir, after) => (await peerCall(conn, 'sync.list', { volume, proof, ...(dir ? { dir } : {}), ...(after !== null ? { after } : {}) })).result,
      isOpen: (ino) => this.opts.isOpen(v, ino),
      postponed: (ino) => this.opts.whenClosed(v, ino, () => this.background(v, peer)),
      conflictFound: (path) => this.opts.events.emit({ type: 'conflict.found', volume: v.name, path, peer: peer.toString('hex') }),
      progress,
      snapshots: async () => (await peerCall(conn, 'sync.snapshots', { volume, proof })).result,
      snapshotsSynced: (c) => {
        const from = peerLabel(this.opts.db, peer);
        if (c.added.length || c.deleted.length) this.opts.log(`synced snapshots of ${v.name} from ${from}: ${c.added.length} new, ${c.deleted.length} deleted`);
        for (const name of c.clashes) {
          this.opts.log(`snapshot ${name} of ${v.name} on ${from} differs from the one here of that name; it was not taken: delete or rename one of them`);
        }
      },
    });
  }

  private failed(v: OpenVolume, peer: Buffer, what: string, err: unknown): void {
    const key = `${v.rowId}:${peer.toString('hex')}:${what}`;
    const message = (err as Error)?.message ?? String(err);
    if (this.failing.get(key) === message || this.stopped) return;
    if (isBazilError(err, 'CORRUPT') || isBazilError(err, 'NAME_TOO_LONG')) return; // pullOnce logged the refusal
    this.failing.set(key, message);
    const code = isBazilError(err) ? '' : ' (unexpected)';
    this.opts.log(`could not ${what} ${v.name} with ${peerLabel(this.opts.db, peer)}${code}: ${message}`);
  }

  private recovered(v: OpenVolume, peer: Buffer): void {
    for (const what of ['pull', 'tell of changes']) this.failing.delete(`${v.rowId}:${peer.toString('hex')}:${what}`);
  }
}
