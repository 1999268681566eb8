/**
 * The engine of one server, composed: its open volumes, its connections to
 * peers, the handler of their requests and the sync scheduler. The parts
 * refer to each other (a volume's content comes from peers, a peer's request
 * reads volumes, a change is announced to peers): they are tied together
 * here, and nowhere else. The server process (src/server/) only gives it
 * what is the process's: the data dir, sockets peers connect on, the event
 * log, and what the mounts know of open files.
 */
import type { Socket } from 'node:net';
import { askPeerHas, askPeersNeeded } from '../cache/has-wire.js';
import { Collector } from '../cache/gc.js';
import { forgetTombstones } from '../sync/forget.js';
import type { Cache } from '../cache/cache.js';
import { Pins } from '../cache/pins.js';
import { peerStore } from '../cache/where.js';
import type { DataDir } from '../datadir.js';
import type { EventLog } from '../events.js';
import { PeerNetwork } from '../peer/network.js';
import { allStoragePeers, volumeStoragePeers } from '../peer/peers.js';
import { Replicas } from '../sync/replicas.js';
import { OpenVolumes, type OpenVolume } from './open-volumes.js';
import { peerRequests } from './peer-requests.js';
import { SourceRanking } from './source-ranking.js';
import { BazilError } from '../errors.js';
import type { SftpOpener } from '../store/stores.js';
import { fetchFromAny, peerSources, StoreSources } from './sources.js';
import { SyncScheduler } from './sync-scheduler.js';

const noSftp: SftpOpener = (url) => {
  throw new BazilError('UNAVAILABLE', `this engine cannot reach ${url}: it has no SSH (run the bazil server)`);
};

/** Files open through the mounts: a sync does not change them under their readers. */
export interface OpenFiles {
  isOpen(v: OpenVolume, ino: number): boolean;
  /** Calls fn once the file is no longer open. */
  whenClosed(v: OpenVolume, ino: number, fn: () => void): void;
  /** The manifests open files of the volume read from. */
  manifests(v: OpenVolume): Buffer[];
}

export interface NodeOptions {
  dataDir: DataDir;
  events: EventLog;
  /** The local store's cache (opened by the server: it indexes the store first). */
  cache: Cache;
  /** Sync on its own (announce, pull when told, poll); false: only when asked. */
  auto: boolean;
  openFiles: OpenFiles;
  /** How sftp:// stores are reached (the server's SSH, as bazil pair's); none: they are not. */
  sftp?: SftpOpener;
  /** One line for the user; never given secrets. */
  log(line: string): void;
}

export class EngineNode {
  readonly volumes: OpenVolumes;
  readonly network: PeerNetwork;
  readonly scheduler: SyncScheduler;
  readonly pins: Pins;
  /** Garbage collection of the local store (and forgetting of tombstones every peer has seen). */
  readonly collector: Collector;
  /** Where the engine tells what happens (the control socket streams it). */
  readonly events: EventLog;
  /** The remote stores (dir:, sftp://) volumes fetch content from. */
  readonly stores: StoreSources;

  private readonly auto: boolean;

  constructor(opts: NodeOptions) {
    const { dataDir, events, cache, log } = opts;
    this.auto = opts.auto;
    this.events = events;
    const { db } = dataDir;
    const identity = dataDir.identity();
    const replicas = new Replicas(db, identity.publicKey);
    const network = (): PeerNetwork => this.network;
    // Content comes from the peer expected to answer soonest (measured), the others as fallbacks.
    const ranking = new SourceRanking();
    this.stores = new StoreSources(db, opts.sftp ?? noSftp);
    this.volumes = new OpenVolumes(
      dataDir,
      (rowId) => ranking.rank([...peerSources(volumeStoragePeers(db, rowId), network), ...this.stores.sources(rowId)]),
      (v) => {
        this.scheduler.watch(v);
        this.collector.watch(v.tree);
      },
      {
        fetched: (id, source, kept) => cache.confirmed(id, source.store, kept),
        knownHolders: (id) => cache.describeHolders(id),
      },
    );
    cache.useStores(
      () => allStoragePeers(db).map(peerStore),
      (store, ids) => askPeerHas((key) => this.network.connection(key), store, ids),
    );
    this.pins = new Pins({
      db,
      cache,
      volumes: () => this.volumes.all(),
      log,
      progress: (p) => events.emit({ type: 'fetch.progress', ...p }),
    });
    this.collector = new Collector({
      db,
      cache,
      objects: dataDir.objects(),
      volumes: () => this.volumes.all(),
      openManifests: (v) => opts.openFiles.manifests(v as OpenVolume),
      // The peers that may read this store: any of them may have been told it keeps an object.
      askNeeded: (ids) => askPeersNeeded((key) => this.network.connection(key), db.prepare("SELECT peer FROM peer_storage WHERE backend = 'local'").pluck().all() as Buffer[], ids, log),
      forgetTombstones: () => this.volumes.all().reduce((n, v) => n + forgetTombstones(db, v.tree), 0),
      log,
    });
    const handler = peerRequests({
      db,
      volumes: this.volumes,
      objects: dataDir.objects(),
      holding: (id) => cache.holding(id),
      needed: (ids) => this.collector.needed(ids),
      replicas,
      changed: (v, peer) => this.scheduler.changed(v, peer),
      forward: (id, asker) => fetchFromAny(ranking.rank(peerSources(allStoragePeers(db).filter((k) => !k.equals(asker)), network, false)), id),
      events,
      log,
    });
    this.network = new PeerNetwork(db, identity, handler, events, log);
    this.scheduler = new SyncScheduler({
      db,
      network: this.network,
      replicas,
      auto: opts.auto,
      isOpen: (v, ino) => opts.openFiles.isOpen(v, ino),
      whenClosed: (v, ino, fn) => opts.openFiles.whenClosed(v, ino, fn),
      volumes: () => this.volumes.all(),
      events,
      log,
    });
  }

  /** A socket the peer listener accepted. */
  accept(socket: Socket): void {
    this.network.accept(socket);
  }

  /** Starts syncing on its own (unless manual), and fetching what pins lack. */
  start(): void {
    this.scheduler.start();
    this.pins.start();
    if (this.auto) this.collector.startAuto();
  }

  /** Stops syncing and ends every peer connection; resolves once they are closed. */
  async stop(): Promise<void> {
    this.scheduler.stop();
    this.pins.stop();
    this.collector.stop();
    await this.network.closeAll();
    await this.stores.close();
  }
}
