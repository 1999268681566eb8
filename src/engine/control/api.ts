/**
 * The control API of a bazil server: every method a client may call, with the
 * shape of its params and of its result, and the events it streams. One type
 * map, used by the server's method table, by the socket client and by the
 * in-process client the CLI uses when no server runs: a wrong method name or a
 * wrong shape fails to compile on either side.
 *
 * Dependency-free (types only), so every client can import it. Keys travel as
 * 64 hex characters, paths as absolute paths, times as milliseconds since the
 * epoch. The wire format is in protocol.ts.
 */
import type { CacheControlMethods } from './cache-api.js';
import type { CheckControlMethods } from './check-api.js';
import type { StoreControlMethods } from './store-api.js';
import type { SequencedEvent } from '../events.js';

export type { BazilEvent, EventType, SequencedEvent, SyncCounts } from '../events.js';

export interface ServerInfo {
  pid: number;
  /** Where peers reach this server, as printed: [::]:34211 or 127.0.0.1:5000. */
  peerAddress: string;
  /** Absolute path of the data dir it serves. */
  dataDir: string;
}

/** A remembered mount that is not being served. */
export interface MountProblem {
  volume: string;
  dir: string;
  /** dead: the kernel still has the mount of a killed server; unmounted: the server could not mount it. */
  state: 'dead' | 'unmounted';
  why: string;
}

export interface MountInfo {
  volume: string;
  /** Absolute path of the mount point. */
  dir: string;
  /** Mount: it was mounted there already. */
  already?: boolean;
  /** Unmount: it was a dead mount, now cleared. */
  dead?: boolean;
  /** Unmount: it was only remembered (not mounted), now forgotten. */
  forgotten?: boolean;
}

export interface VolumeInfo {
  name: string;
  sharingKey: string;
  /** Absolute paths where the volume is mounted (none when the server does not run). */
  mounts: string[];
  /** Remembered mounts not served: dead ones (a killed server's), ones that could not be mounted again. */
  problems?: MountProblem[];
}

export interface SnapshotInfo {
  name: string;
  createdAt: number;
}

export interface PeerInfo {
  /** 64 hex characters, lower case. */
  publicKey: string;
  /** What people call it here (unique), or null when it has none. */
  name: string | null;
  /** HOST:PORT where its server listens, or null when not set. */
  location: string | null;
  /** Storage backends the peer may read from here, e.g. ['local']. */
  storage: string[];
  /** Names of the volumes the peer may sync, sorted. */
  volumes: string[];
}

/** The peer a method acted on, as it resolved what was typed (a name, a key, a key prefix). */
export interface PeerRef {
  key: string;
  name: string | null;
}

export interface PullStats {
  dirs: number;
  copied: number;
  deleted: number;
  conflicts: number;
  postponed: number;
}

export interface ConflictInfo {
  volume: string;
  /** From the volume's root. */
  path: string;
  /** Where the user sees it: the path in the mount, or VOLUME:/path. */
  where: string;
  /** The peer the other version came from (hex key). */
  peer: string;
  /** That peer's name here, or null. */
  peerName: string | null;
  /** Their version, in words. */
  theirs: string;
  /** Deleted here, changed there: theirs was restored in place. */
  localDeleted: boolean;
  createdAt: number;
  resolution: string | null;
}

/** One side of a conflict, as `conflicts.show` gives it. */
export interface VersionView {
  /** fifo, socket, chardev, blockdev: special files (entries without content). */
  kind: 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'chardev' | 'blockdev' | 'deleted';
  size: number;
  /** Milliseconds since the epoch (0 for a deletion). */
  mtime: number;
  /** A symlink's target. */
  target?: string;
  /** A file's content, when it is UTF-8 text without NUL of at most 64 KiB. */
  text?: string;
  /** Why a file has no text: binary, larger than 64 KiB, or why its content cannot be read now. */
  noText?: string;
}

/** What a peer lets this data dir do there, as it answers `grants.mine`. */
export interface PeerGrants {
  /** The key this data dir has there (its own public key, as the peer saw it). */
  asker: string;
  /** Its storage backends this side may read (['local'] or none). */
  storage: string[];
  /** Whether this side may sync the volume asked about (undefined when none was asked). */
  volume?: boolean;
}

/** A peer, as `bazil status` shows it. */
export interface PeerStatus extends PeerInfo {
  /** Whether the server has a connection to it now; null when no server runs. */
  connected: boolean | null;
  /** Volumes here that sync from it (connected from it). */
  syncs: string[];
  /** Volumes here that fetch content from its store. */
  storageFor: string[];
  /** The last sync of each volume from it since the server started. */
  lastSync: { volume: string; at: number; error?: string }[];
  /** Grants missing on either side, each with the command that gives it. */
  missing: string[];
}

/** Everything `bazil status` shows. */
export interface StatusInfo {
  dataDir: string;
  publicKey: string;
  sharingKeys: string[];
  volumes: VolumeInfo[];
  peers: PeerStatus[];
  /** Open conflicts. */
  conflicts: { volume: string; path: string; peer: string }[];
}

/**
 * The answer to events.subscribe. The events come after it as stream messages
 * (protocol.ts): first the kept ones after `since`, then each new one.
 */
export interface Subscription {
  /** The server process that numbers these events, "PID-STARTMS"; another one means a restart (numbers start again). */
  instance: string;
  /** The number of the last event emitted so far (0: none yet). */
  last: number;
  /** Some events after `since` are gone (too old, or another server process): refresh your view. */
  missed: boolean;
}

/** An invite this server holds open (`bazil invite`): the joiner gets this data dir as a peer, and the volumes. */
export interface InviteInfo {
  /** The invite's number, the first part of its code; it names the invite in lists and events (the code's words are secret). */
  id: number;
  /** The short code to read aloud, a number and a few words: enough on the same LAN (the joiner finds this server by mDNS). */
  code: string;
  /** The code with the addresses where this server waits for the joiner, for use across networks. */
  longCode: string;
  /** Whether the short code can be found: this server announces the invite on the LAN (discovery on, not on loopback only). */
  onLan: boolean;
  /** Names of the volumes the joiner gets. */
  volumes: string[];
  expiresAt: number;
}

/** What `bazil join` did, as the joining side sees it. */
export interface JoinResult {
  /** The inviter, now a peer here. */
  peer: PeerRef;
  /** Volumes connected here, by their local names. */
  volumes: string[];
  /** A few words both sides show, to compare by voice. */
  verification: string;
  /** The introduction's steps, in words. */
  did: string[];
}

/** A bazil server seen on the LAN (mDNS). */
export interface NearbyDevice {
  /** The fingerprint of its public key that it announces (hex). */
  fingerprint: string;
  /** The name it announces (its host name). */
  hostname: string;
  /** HOST:PORT where it says its server listens. */
  addresses: string[];
  /** The known peer it is, once a handshake proved the key; null for a device not known (or not proven). */
  peer: PeerRef | null;
  lastSeen: number;
}

/** A message on a subscribed connection that answers no request. */
export type StreamMessage = { event: SequencedEvent } | { dropped: { code: string; message: string } };

type Ok = Record<string, never>;

/** Every method: its params and its result. */
export interface ControlMethods extends CacheControlMethods, CheckControlMethods, StoreControlMethods {
  ping: { params: Ok; result: ServerInfo };
  /** Where things stand: volumes and their mounts, peers and grants, open conflicts. */
  status: { params: Ok; result: StatusInfo };
  /** Answers, then the server shuts down. */
  stop: { params: Ok; result: Ok };
  'sharing.add': { params: { name: string; /** base64 of 32 bytes */ secret: string }; result: Ok };
  'sharing.list': { params: Ok; result: string[] };
  'volume.create': { params: { name: string; sharing?: string }; result: VolumeInfo };
  'volume.list': { params: Ok; result: VolumeInfo[] };
  'volume.mount': { params: { volume: string; dir: string }; result: MountInfo };
  /** Refused (LOCKED) while programs use the mount, unless force; also clears a dead mount. client: the caller's pid. */
  'volume.unmount': { params: { target: string; force?: boolean; client?: number }; result: MountInfo };
  'volume.snapshot': { params: { volume: string; name: string }; result: SnapshotInfo };
  'volume.snapshot.list': { params: { volume: string }; result: SnapshotInfo[] };
  /** Deletes a snapshot here; the deletion syncs, so it goes on every peer. */
  'volume.snapshot.delete': { params: { volume: string; name: string }; result: Ok };
  /** A volume that lives on a peer, made here; its first sync starts in the background. */
  'volume.connect': { params: { peer: string; volume: string; name?: string; sharing?: string }; result: VolumeInfo & { grants?: PeerGrants } };
  'volume.sync': { params: { volume: string; peer: string }; result: PullStats };
  'volume.storage.add': { params: { volume: string; sharing?: string; backend: string }; result: { grants?: PeerGrants } };
  'conflicts.list': { params: { volume?: string; all?: boolean }; result: ConflictInfo[] };
  /** Both versions of an open conflict (a path in a mount, or VOLUME:/path): what each is, and its text when it is short text. */
  'conflicts.show': { params: { path: string }; result: { mine: VersionView; theirs: VersionView } };
  'conflicts.resolve': { params: { path: string; choice: 'mine' | 'theirs' | 'both' }; result: { where: string; savedAs?: string } };
  /** A new peer, by its full key; named NAME, or after its host name (made unique here). */
  'peer.add': { params: { key: string; name?: string; hostname?: string }; result: PeerRef };
  /** Dials a peer (or uses the open connection) and returns once the authenticated handshake is done. */
  'peer.connect': { params: { key: string }; result: PeerRef & { address: string } };
  /** For `bazil pair`: the sharing key a volume is encrypted under, its 32 bytes in base64 (only ever sent inside SSH). */
  'pair.volumeSecret': { params: { volume: string }; result: { sharing: string; secret: string } };
  /** For `bazil pair`: the name of the sharing key holding these 32 bytes (base64) here, or null. */
  'pair.findSharing': { params: { secret: string }; result: { name: string | null } };
  /** Names a peer (key: its name, key or key prefix); an empty name takes the name away. */
  'peer.rename': { params: { key: string; name: string }; result: PeerRef & { was: string | null } };
  'peer.remove': { params: { key: string }; result: PeerRef & { closed: number } };
  'peer.list': { params: Ok; result: PeerInfo[] };
  /** Which peers have an open connection now (hex keys). */
  'peer.connected': { params: Ok; result: string[] };
  /** What a peer grants this data dir there, asked over the network. */
  'peer.grants': { params: { key: string; volume?: string }; result: PeerGrants };
  'peer.location.set': { params: { key: string; location: string }; result: PeerRef };
  'peer.storage.allow': { params: { key: string; backend: string }; result: PeerRef };
  'peer.storage.deny': { params: { key: string; backend: string }; result: PeerRef };
  'peer.volume.allow': { params: { key: string; volume: string }; result: PeerRef };
  'peer.volume.deny': { params: { key: string; volume: string }; result: PeerRef };
  /** Opens an invite (default expiry 10 minutes); it dies at the first wrong code, at expiry, or once used. */
  'invite.create': { params: { volumes?: string[]; expiresMs?: number }; result: InviteInfo };
  'invite.list': { params: Ok; result: InviteInfo[] };
  'invite.cancel': { params: { id: number }; result: Ok };
  /** Joins the inviter named by a code (short form: found on the LAN; long form: its addresses). */
  'invite.join': { params: { code: string }; result: JoinResult };
  /** Bazil servers seen on the LAN, known peers or not. */
  'peer.nearby': { params: Ok; result: NearbyDevice[] };
  /** Kept events after since (default: none, from now on), then every new one on this connection. */
  'events.subscribe': { params: { since?: number; instance?: string }; result: Subscription };
}

export type MethodName = keyof ControlMethods;
export type Params<M extends MethodName> = ControlMethods[M]['params'];
export type Result<M extends MethodName> = ControlMethods[M]['result'];

/** A server's implementation of some methods. */
export type MethodTable<M extends MethodName = MethodName> = { [K in M]: (params: Params<K>) => Result<K> | Promise<Result<K>> };

/** What the CLI and the TUI call: a server over its socket, or the data dir in process. */
export interface ControlApi {
  call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>>;
}
