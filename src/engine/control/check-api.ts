/**
 * The control methods of check and garbage collection, and their shapes
 * (served by src/server/check-methods.ts): part of the control API (api.ts),
 * kept apart as their own. Dependency-free.
 */

export interface CheckControlMethods {
  /**
   * Checks every reference of a volume (or of all): live tree, snapshots, open
   * conflicts. readData: decrypt and verify every local object they reach;
   * repair: replace each bad local object with a good copy from a peer.
   */
  check: { params: { volume?: string; readData?: boolean; repair?: boolean }; result: CheckResult };
  /** Removes the local objects nothing references; minAge: spare those written in the last this-many ms. */
  gc: { params: { minAge?: number }; result: GcResult };
}

export interface CheckProblem {
  volume: string;
  /** live, snapshot NAME, conflict at PATH, open file */
  origin: string;
  path: string;
  /** The object (64 hex), when one is at fault. */
  object?: string;
  /** missing: known nowhere; corrupt: here but bad; unreadable: a snapshot directory or manifest could not be read. */
  kind: 'missing' | 'corrupt' | 'unreadable';
  message: string;
  /** --repair replaced it with a good copy. */
  repaired?: boolean;
}

export interface CheckResult {
  /** Distinct references (manifests) checked. */
  references: number;
  /** Objects they reach. */
  objects: number;
  /** Of those, here. */
  local: number;
  /** Of those not here, known to be held by another store. */
  elsewhere: number;
  /** With readData: objects read, decrypted and verified, and their bytes. */
  verified: number;
  verifiedBytes: number;
  problems: CheckProblem[];
  ms: number;
}

export interface GcResult {
  /** Local objects before. */
  objects: number;
  /** Of those, referenced. */
  referenced: number;
  removed: number;
  removedBytes: number;
  /** Unreferenced but spared: written or read during the collection or too recently (minAge). */
  sparedRecent: number;
  /** Unreferenced but spared: this store told a peer it keeps them, and that peer still needs them (or could not be asked). */
  sparedForPeers: number;
  /** Unreferenced but spared: some reference could not be walked (see problems), and no other store keeps them. */
  sparedUnknown: number;
  problems: string[];
  /** Tombstones forgotten because every peer of their volume has seen them. */
  tombstonesForgotten: number;
  ms: number;
}
