/**
 * Snapshots: a volume's tree serialized into immutable directory objects in the
 * store, under a name.
 */
import type { Db } from '../db/open.js';

export interface SnapshotInfo {
  name: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

export function listSnapshots(db: Db, volume: string): SnapshotInfo[] {
  void db;
  void volume;
  return [];
}
