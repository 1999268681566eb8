import { DataDir } from '../engine/datadir.js';

/**
 * Runs fn with the data dir open, closing it after. `write` takes the data dir's
 * lock for the duration, so another writer is refused rather than interleaved.
 */
export async function withDataDir<T>(path: string, write: boolean, fn: (dir: DataDir) => Promise<T> | T): Promise<T> {
  const dir = DataDir.open(path, { write });
  try {
    return await fn(dir);
  } finally {
    dir.close();
  }
}
