/**
 * The cache's budget: how many bytes of objects the local store may hold, and
 * the free disk it never goes under. Both default to a share of the file
 * system the data dir is on, so a small laptop disk and a big one both get a
 * sensible size without being asked.
 */
import { statfs } from 'node:fs/promises';
import type { Db } from '../db/open.js';
import { BazilError } from '../errors.js';

const GiB = 2 ** 30;

export interface BudgetSettings {
  /** Bytes of objects the store may hold. */
  budget: number;
  /** Bytes of free disk the cache never uses up. */
  minFree: number;
  /** Whether each is the default (not set by the user). */
  defaultBudget: boolean;
  defaultMinFree: boolean;
}

export interface DiskSpace {
  total: number;
  free: number;
}

export async function diskSpace(dir: string): Promise<DiskSpace> {
  const s = await statfs(dir);
  return { total: s.blocks * s.bsize, free: s.bavail * s.bsize };
}

/** Defaults: a quarter of the disk, at most 10 GiB; keep a tenth of it free, at most 5 GiB. */
export function defaultBudget(disk: DiskSpace): { budget: number; minFree: number } {
  return { budget: Math.min(10 * GiB, Math.floor(disk.total / 4)), minFree: Math.min(5 * GiB, Math.floor(disk.total / 10)) };
}

export function readBudget(db: Db, disk: DiskSpace): BudgetSettings {
  const row = db.prepare('SELECT budget, min_free AS minFree FROM cache_settings WHERE id = 1').get() as { budget: number | null; minFree: number | null } | undefined;
  const d = defaultBudget(disk);
  return {
    budget: row?.budget ?? d.budget,
    minFree: row?.minFree ?? d.minFree,
    defaultBudget: row?.budget == null,
    defaultMinFree: row?.minFree == null,
  };
}

/** Sets the budget and/or the free-disk floor; null puts one back to its default. */
export function writeBudget(db: Db, change: { budget?: number | null; minFree?: number | null }): void {
  db.prepare('INSERT INTO cache_settings (id) VALUES (1) ON CONFLICT (id) DO NOTHING').run();
  if (change.budget !== undefined) db.prepare('UPDATE cache_settings SET budget = ? WHERE id = 1').run(change.budget);
  if (change.minFree !== undefined) db.prepare('UPDATE cache_settings SET min_free = ? WHERE id = 1').run(change.minFree);
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, kb: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20, g: GiB, gb: GiB, gib: GiB, t: 2 ** 40, tb: 2 ** 40, tib: 2 ** 40 };

/** A size as typed: 512M, 10GiB, 1.5G, 1048576 (units are powers of 1024). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m && UNITS[m[2].toLowerCase()];
  if (!m || unit === undefined || unit === null) throw new BazilError('INVALID_ARGUMENT', `"${text}" is not a size; write it like 512M, 10G or 1.5TiB`);
  return Math.round(Number(m[1]) * unit);
}
