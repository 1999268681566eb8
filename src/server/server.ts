/**
 * The bazil server: one process per data dir. It holds the data dir's lock,
 * serves the control socket (the CLI and the TUI talk to it there), owns the
 * FUSE mounts and listens for peers.
 */
import { DataDir } from '../engine/datadir.js';
import { connectControl } from '../engine/control/client.js';
import { ControlServer } from '../engine/control/server.js';
import { BazilError, isBazilError } from '../engine/errors.js';
import type { ServerInfo } from './api.js';
import { serverMethods } from './methods.js';
import { Mounts } from './mounts.js';
import { listenPeers, type PeerListener } from './peer-listener.js';
import type { Db } from '../engine/db/open.js';
import { shortKey } from '../engine/peer/handshake.js';
import { volumeStoragePeers } from '../engine/peer/peers.js';
import type { ObjectSource } from '../engine/store/content.js';
import { Replicas } from '../engine/sync/replicas.js';
import { OpenVolumes } from './open-volumes.js';
import { peerRequests } from './peer-requests.js';
import { PeerNetwork } from './peer-network.js';
import { SyncScheduler } from './sync-scheduler.js';
import { Cache } from '../engine/cache/cache.js';
import { askPeerHas } from '../engine/cache/has-wire.js';
import { Pins } from '../engine/cache/pins.js';
import { peerStore } from '../engine/cache/where.js';
import { cacheMethods } from './cache-methods.js';

export interface ServerOptions {
  dataDir: string;
  /** HOST:PORT for peers; default [::]:34211, else any free port. */
  addr?: string;
  /** Sync only when asked (`bazil volume sync`), never on its own. */
  manualSync?: boolean;
  /** One line for the user (stderr), without the `bazil: ` prefix. Never given secrets. */
  log(line: string): void;
}

export interface RunningServer {
  info: ServerInfo;
  /** Shuts down (idempotent): stop accepting, unmount all, close the sockets, release the data dir. */
  stop(): Promise<void>;
  /** Settles when the server has shut down, whoever asked. */
  stopped: Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { log } = options;
  const dataDir = await openForServer(options.dataDir);
  const { db } = dataDir;
  let peers: PeerListener | undefined;
  try {
    const identity = dataDir.identity();
    const replicas = new Replicas(db, identity.publicKey);
    // The parts refer to each other (a volume's content comes from peers, a
    // peer's request reads volumes, a change is announced to peers): they are
    // tied together here, through these late-bound names.
    let network!: PeerNetwork;
    let scheduler!: SyncScheduler;
    const cache = await Cache.open({
      db,
      objects: dataDir.objects(),
      log,
      stores: () => allStoragePeers(db).map(peerStore),
      ask: (store, ids) => askPeerHas((key) => network.connection(key), store, ids),
    });
    const volumes = new OpenVolumes(dataDir, (rowId) => peerSources(volumeStoragePeers(db, rowId), () => network), (v) => scheduler.watch(v), {
      fetched: (id, source, kept) => cache.confirmed(id, source.store, kept),
      knownHolders: (id) => cache.describeHolders(id),
    });
    const pins = new Pins({ db, cache, volumes: () => volumes.all(), log });
    const mounts = new Mounts(dataDir, volumes, log);
    const handler = peerRequests({
      db,
      volumes,
      objects: dataDir.objects(),
      holding: (id) => cache.holding(id),
      replicas,
      changed: (v, peer) => scheduler.changed(v, peer),
      forward: (id, asker) => fetchFromAny(peerSources(allStoragePeers(db, asker), () => network, false), id),
      log,
    });
    network = new PeerNetwork(db, identity, handler, log);
    scheduler = new SyncScheduler({
      db,
      network,
      replicas,
      auto: !options.manualSync,
      isOpen: (v, ino) => mounts.isOpen(v.name, ino),
      whenClosed: (v, ino, fn) => mounts.whenClosed(v.name, ino, fn),
      volumes: () => volumes.all(),
      log,
    });
    peers = await listenPeers(options.addr, (socket) => network.accept(socket));
    const info: ServerInfo = { pid: process.pid, peerAddress: peers.address, dataDir: dataDir.path };
    let stopped!: () => void;
    const done = new Promise<void>((resolve) => (stopped = resolve));
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => (stopping ??= shutdown().finally(stopped));
    const requestStop = () => setImmediate(() => void stop()); // after the `stop` answer is written
    const methods = serverMethods({ dataDir, mounts, volumes, scheduler, network, info, requestStop, log });
    for (const [name, method] of cacheMethods({ db, cache, pins, volumes, mounts })) methods.set(name, method);
    const control = await ControlServer.listen(dataDir.path, methods, log);
    const listener = peers;
    scheduler.start();
    pins.start();
    await mounts.mountRemembered(); // before `Listening`: a started server has its mounts

    const shutdown = async (): Promise<void> => {
      control.stopAccepting();
      scheduler.stop();
      pins.stop();
      // Peer connections first: the listener's close waits for every socket it
      // accepted to end, so closing it while a peer is connected never finished.
      await step('close peer connections', () => network.closeAll());
      await step('stop listening for peers', () => listener.close());
      await step('unmount', () => mounts.unmountAll());
      await step('close the control socket', () => control.close());
      cache.close();
      dataDir.close();
      log('stopped');
    };
    const step = async (what: string, fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (err) {
        log(`while stopping, could not ${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };

    return { info, stop, stopped: done };
  } catch (err) {
    await peers?.close();
    dataDir.close();
    throw err;
  }
}

/** Peers whose stores a volume's content may come from, as the content store's sources. */
function peerSources(keys: Buffer[], network: () => PeerNetwork, forward = true): ObjectSource[] {
  return keys.map((key) => ({
    name: `peer ${shortKey(key)}`,
    store: peerStore(key),
    get: async (id) => {
      const conn = await network().connection(key);
      const { result, body } = await conn.call<{ kept?: unknown }>('object.get', { id: Buffer.from(id).toString('hex'), forward }, undefined, 60_000);
      if (!body) throw new BazilError('CORRUPT', `peer ${shortKey(key)} answered object.get without the object`);
      return { bytes: body, kept: result?.kept === true };
    },
  }));
}

/** Every peer some volume fetches content from, but the one asking. */
function allStoragePeers(db: Db, except?: Buffer): Buffer[] {
  const keys = db.prepare('SELECT DISTINCT peer FROM volume_storage').pluck().all() as Buffer[];
  return keys.filter((k) => !except || !k.equals(except));
}

async function fetchFromAny(sources: ObjectSource[], id: Buffer): Promise<Buffer> {
  for (const source of sources) {
    try {
      return (await source.get(id)).bytes;
    } catch {
      // the next one may have it
    }
  }
  throw new BazilError('NOT_FOUND', `object ${id.toString('hex')} is not here, nor on this server's peers`);
}

/** Opens the data dir for writing; a lock held by a running server gets a message that says so. */
async function openForServer(path: string): Promise<DataDir> {
  try {
    return DataDir.open(path, { write: true });
  } catch (err) {
    if (!isBazilError(err, 'LOCKED')) throw err;
    const client = await connectControl(path);
    if (!client) throw err;
    const pid = await client.call<ServerInfo>('ping').then(
      (info) => info.pid,
      () => undefined,
    );
    client.close();
    if (pid === undefined) throw err;
    throw new BazilError('LOCKED', `a bazil server (pid ${pid}) is already running on this data dir; \`bazil server stop\` stops it`);
  }
}
