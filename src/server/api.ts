/**
 * The methods of the bazil server's control socket, and the shapes of their
 * params and results: shared by the server (methods.ts) and its clients.
 *
 *   ping                  {}                              -> ServerInfo
 *   stop                  {}                              -> {}   (then the server shuts down)
 *   sharing.add           {name, secret: base64 of 32 bytes} -> {}
 *   sharing.list          {}                              -> string[]
 *   volume.create         {name, sharing}                 -> VolumeInfo
 *   volume.list           {}                              -> VolumeInfo[]
 *   volume.mount          {volume, dir: absolute path}    -> MountInfo
 *   volume.unmount        {target: volume name or absolute path, force?, client?: pid} -> MountInfo
 *                         (refused, LOCKED, while programs use it, unless force; also clears a dead mount)
 *   volume.snapshot       {volume, name}                  -> SnapshotInfo
 *   volume.snapshot.list  {volume}                        -> SnapshotInfo[]
 *   volume.connect        {peer, volume, name?, sharing}  -> VolumeInfo (a volume that lives on a peer)
 *   volume.sync           {volume, peer}                  -> PullStats
 *   conflicts.list        {volume?, all?}                 -> ConflictInfo[]
 *   conflicts.resolve     {path: in a mount, or VOLUME:/path, choice: mine|theirs|both} -> {where, savedAs?}
 *   peer.add, peer.remove, peer.list, peer.location.set, peer.storage.allow|deny,
 *   peer.volume.allow|deny, volume.storage.add    see peer-methods.ts
 */
export type { MountInfo } from './mounts.js';
export type { MountProblem } from './mount-points.js';
import type { MountProblem } from './mount-points.js';
export type { SnapshotInfo } from '../engine/tree/snapshots.js';

export interface ServerInfo {
  pid: number;
  /** Where peers reach this server, as printed: [::]:34211 or 127.0.0.1:5000. */
  peerAddress: string;
  /** Absolute path of the data dir it serves. */
  dataDir: string;
}

export interface VolumeInfo {
  name: string;
  sharingKey: string;
  /** Absolute paths where the volume is mounted (none when the server does not run). */
  mounts: string[];
  /** Remembered mounts not served: dead ones (a killed server's), ones that could not be mounted again. */
  problems?: MountProblem[];
}

export type { PullStats } from '../engine/sync/pull.js';

export interface ConflictInfo {
  volume: string;
  /** From the volume's root. */
  path: string;
  /** Where the user sees it: the path in the mount, or VOLUME:/path. */
  where: string;
  /** The peer the other version came from (hex key). */
  peer: string;
  /** Their version, in words. */
  theirs: string;
  /** Deleted here, changed there: theirs was restored in place. */
  localDeleted: boolean;
  createdAt: number;
  resolution: string | null;
}
