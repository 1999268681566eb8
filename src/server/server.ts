/**
 * The bazil server: one process per data dir. It holds the data dir's lock,
 * serves the control socket (the CLI and the TUI talk to it there), owns the
 * FUSE mounts and listens for peers.
 */
import { DataDir } from '../engine/datadir.js';
import { connectControl } from '../engine/control/client.js';
import { ControlServer } from '../engine/control/server.js';
import { BazilError, isBazilError } from '../engine/errors.js';
import type { ServerInfo } from '../engine/control/api.js';
import { EventLog } from '../engine/events.js';
import { Cache } from '../engine/cache/cache.js';
import { EngineNode } from '../engine/node/node.js';
import { listenPeers, type PeerListener } from '../engine/peer/listener.js';
import { Discovery, discoveryFromEnv } from './discovery.js';
import { serverMethods } from './methods.js';
import { Mounts } from './mounts.js';
import { sftpOpener } from './sftp-connect.js';

export interface ServerOptions {
  dataDir: string;
  /** HOST:PORT for peers; default [::]:34211, else any free port. */
  addr?: string;
  /** Sync only when asked (`bazil volume sync`), never on its own. */
  manualSync?: boolean;
  /** Announce this server on the LAN and list the ones nearby (mDNS); default true, unless BAZIL_DISCOVERY=0. */
  discovery?: boolean;
  /** One line for the user (stderr), without the `bazil: ` prefix. Never given secrets. */
  log(line: string): void;
  /** For lines that repeat what a client asked and prints itself (added peer X); default: log. */
  note?(line: string): void;
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
  let peers: PeerListener | undefined;
  let discovery: Discovery | undefined;
  try {
    const events = new EventLog(); // what happens here, streamed to control clients (events.subscribe)
    // The engine asks the mounts which files are open; the mounts serve the engine's volumes.
    let mounts!: Mounts;
    const cache = await Cache.open({ db: dataDir.db, objects: dataDir.objects(), log });
    const node = new EngineNode({
      dataDir,
      events,
      cache,
      auto: !options.manualSync,
      openFiles: {
        isOpen: (v, ino) => mounts.isOpen(v.name, ino),
        whenClosed: (v, ino, fn) => mounts.whenClosed(v.name, ino, fn),
        manifests: (v) => mounts.openManifests(v.name),
      },
      sftp: sftpOpener,
      log,
    });
    const { volumes, network, scheduler } = node;
    mounts = new Mounts(dataDir, volumes, log, (event) => events.emit(event));
    peers = await listenPeers(options.addr, (socket) => node.accept(socket));
    const info: ServerInfo = { pid: process.pid, peerAddress: peers.address, dataDir: dataDir.path };
    if (options.discovery !== false && discoveryFromEnv()) discovery = new Discovery({ dataDir, events, peerAddress: peers.address, log });
    let stopped!: () => void;
    const done = new Promise<void>((resolve) => (stopped = resolve));
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => (stopping ??= shutdown().finally(stopped));
    const requestStop = () => setImmediate(() => void stop()); // after the `stop` answer is written
    const methods = serverMethods({ dataDir, mounts, volumes, scheduler, network, events, cache, pins: node.pins, collector: node.collector, stores: node.stores, info, discovery, requestStop, log, note: options.note ?? log });
    const control = await ControlServer.listen(dataDir.path, methods, log, { log: events, instance: `${process.pid}-${Date.now()}` });
    const listener = peers;
    node.start();
    await mounts.mountRemembered(); // before `Listening`: a started server has its mounts
    for (const m of mounts.list()) events.emit({ type: 'mount.added', volume: m.volume, dir: m.dir });
    for (const m of mounts.problems()) if (m.state === 'dead') events.emit({ type: 'mount.died', volume: m.volume, dir: m.dir });

    const shutdown = async (): Promise<void> => {
      events.emit({ type: 'server.stopping' });
      control.stopAccepting();
      if (discovery) await step('say goodbye on the LAN', () => discovery!.stop());
      // Peer connections first: the listener's close waits for every socket it
      // accepted to end, so closing it while a peer is connected never finished.
      await step('close peer connections', () => node.stop());
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
    await discovery?.stop();
    await peers?.close();
    dataDir.close();
    throw err;
  }
}

/** Opens the data dir for writing; a lock held by a running server gets a message that says so. */
async function openForServer(path: string): Promise<DataDir> {
  try {
    return DataDir.open(path, { write: true });
  } catch (err) {
    if (!isBazilError(err, 'LOCKED')) throw err;
    const client = await connectControl(path);
    if (!client) throw err;
    const pid = await client.call('ping', {}).then(
      (info) => info.pid,
      () => undefined,
    );
    client.close();
    if (pid === undefined) throw err;
    throw new BazilError('LOCKED', `a bazil server (pid ${pid}) is already running on this data dir; \`bazil server stop\` stops it`);
  }
}
