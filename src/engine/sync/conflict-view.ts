/**
 * Both versions of a conflict as a person compares them: kind, size, time,
 * and the text itself when it is short text, so the choice (keep mine, take
 * theirs, keep both) can be made knowing what differs. Their content may have
 * to come from a peer, as any read does.
 */
import type { Result, VersionView } from '../control/api.js';
import { BazilError, isBazilError } from '../errors.js';
import type { Db } from '../db/open.js';
import type { ContentStore } from '../store/content.js';
import { baseOf, baseSize, readBase } from '../tree/open-file.js';
import type { Node, Tree } from '../tree/tree.js';
import { openConflictsAt, type Conflict } from './conflicts.js';

/** Files up to this size are shown as text (when they are text). */
const TEXT_SHOWN = 64 * 1024;

export type ConflictVersions = Result<'conflicts.show'>;

/** The content as text, or why it is not shown as text. */
async function textOf(store: ContentStore, node: Pick<Node, 'ino' | 'data' | 'manifest'>): Promise<Pick<VersionView, 'text' | 'noText'>> {
  try {
    const base = baseOf(store, node);
    const size = baseSize(base);
    if (size > TEXT_SHOWN) return { noText: 'larger than 64 KiB' };
    const buf = Buffer.alloc(size);
    await readBase(base, buf, 0, 0, size);
    const text = buf.toString('utf8');
    if (buf.includes(0) || text.includes('\ufffd')) return { noText: 'binary' };
    return { text };
  } catch (err) {
    return { noText: `cannot be read now: ${(err as Error).message}` };
  }
}

async function viewOf(store: ContentStore, v: Pick<Node, 'ino' | 'data' | 'manifest' | 'size' | 'mtime' | 'target'> & { kind: VersionView['kind'] }): Promise<VersionView> {
  const view: VersionView = { kind: v.kind, size: v.size, mtime: v.mtime };
  if (v.kind === 'symlink' && v.target !== null) view.target = v.target;
  if (v.kind === 'file') Object.assign(view, await textOf(store, v));
  return view;
}

/** The open conflict at path (the first, when several peers conflict there): this side's version and theirs. */
export async function conflictVersions(db: Db, volume: { rowId: number; tree: Tree; store: ContentStore }, path: string): Promise<ConflictVersions> {
  const c: Conflict | undefined = openConflictsAt(db, volume.rowId, path)[0];
  if (!c) throw new BazilError('NOT_FOUND', `no open conflict at ${path}; \`bazil conflicts list\` shows them`);
  let mine: VersionView;
  try {
    const node = volume.tree.resolve(path);
    mine = await viewOf(volume.store, node);
  } catch (err) {
    if (!isBazilError(err, 'NOT_FOUND')) throw err;
    mine = { kind: 'deleted', size: 0, mtime: 0 };
  }
  const t = c.theirs;
  const theirs = t.kind === 'deleted' ? { kind: 'deleted' as const, size: 0, mtime: 0 } : await viewOf(volume.store, { ino: 0, ...t, kind: t.kind });
  return { mine, theirs };
}
