/**
 * The control methods of remote stores (dir:, sftp://) and their shapes
 * (served by src/server/store-methods.ts): part of the control API (api.ts).
 * Dependency-free.
 */

type Ok = Record<string, never>;

export interface StoreControlMethods {
  /** Every known store, each probed (within its timeout) for whether it is reachable now. */
  'store.list': { params: Ok; result: StoreInfo[] };
  /** Adds a store (dir:PATH makes its identity file there); a known one is updated. */
  'store.add': { params: { store: string; /** sftp://: accept an unknown host key (it is added to known_hosts) */ yes?: boolean }; result: StoreInfo };
  /** A dir: store found at PATH (by its identity file); or, with scan, every known one found at one of those paths. */
  'store.locate': { params: { store?: string; path?: string; scan?: string[] }; result: StoreInfo[] };
  /** Uploads the objects of the volume the store lacks (needs the server). */
  'store.push': { params: { volume: string; store: string }; result: StorePushResult };
}

export interface StoreInfo {
  /** As whereis names it: dir:ID, sftp://user@host:port/path. */
  name: string;
  kind: 'dir' | 'sftp';
  /** dir: the path it was last found at; sftp: its URL. */
  location: string;
  addedAt: number;
  /** Milliseconds: when it last answered; null: not since it was added. */
  seenAt: number | null;
  /** Reachable now (probed for store.list and store.add); absent when not probed. */
  available?: boolean;
  /** Why it is not available. */
  error?: string;
  /** Volumes that fetch content from it. */
  volumes: string[];
}

export interface PushResult {
  /** Distinct objects of the volume listed. */
  objects: number;
  /** Uploaded now, and their bytes (encrypted, as stored). */
  uploaded: number;
  uploadedBytes: number;
  /** Already in the store. */
  present: number;
  /** Not here (evicted, never fetched): not uploaded. */
  missing: number;
  /** Files (or snapshot directories) whose objects are not all known here: some of theirs may be missing too. */
  unlisted: number;
}

export interface StorePushResult extends PushResult {
  store: string;
  volume: string;
}
