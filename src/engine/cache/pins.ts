/**
 * Pins: paths (files, or directories with everything under them, including
 * what arrives later) whose content stays here for offline use. The pinner
 * fetches what is missing in the background, tells the cache which objects are
 * pinned (never evicted), and keeps each pin's state: complete, fetching (with
 * progress) or waiting (no source could provide some content; retried).
 *
 * Each round walks every pinned subtree again: after a pin changes, after a
 * pinned volume's tree changes (a sync brought files), and every little while
 * while a pin waits.
 */
import type { PinInfo } from '../control/cache-api.js';
import type { Db } from '../db/open.js';
import { BazilError, isBazilError } from '../errors.js';
import { nameBytes, nameFromBytes, showName } from '../names.js';
import type { ContentStore } from '../store/content.js';
import type { Node, Tree } from '../tree/tree.js';
import type { Cache } from './cache.js';
import { fileObjects } from './file-objects.js';

export interface PinVolume {
  name: string;
  rowId: number;
  tree: Tree;
  store: ContentStore;
}

export interface PinsOptions {
  db: Db;
  cache: Cache;
  volumes(): PinVolume[];
  log(line: string): void;
  /** Progress of a pin's fetch (the server turns it into fetch.progress events). */
  progress?(p: { volume: string; path: string; bytes: number; total: number }): void;
}

const RETRY_MS = 10_000;
const SETTLE_MS = 300;
/** Chunks fetched at once for one pin. */
const FETCHING = 4;

/** Normalizes a path from a volume's root: /a/b (no trailing slash, no dots). */
export function volumePath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new BazilError('INVALID_ARGUMENT', `${showName(path)}: a pinned path may not contain ..`);
  return `/${parts.join('/')}`;
}

/** True when `path` is `pin` or under it. */
export const under = (path: string, pin: string): boolean => pin === '/' || path === pin || path.startsWith(`${pin}/`);

export class Pins {
  private readonly states = new Map<string, PinInfo>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private readonly watching = new Set<number>();
  private readonly unwatch: (() => void)[] = [];

  constructor(private readonly options: PinsOptions) {}

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const u of this.unwatch) u();
  }

  add(volume: PinVolume, path: string): PinInfo {
    path = volumePath(path);
    volume.tree.resolve(path); // NOT_FOUND for a path that is not there
    this.options.db.prepare('INSERT INTO pins (volume, path, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(volume.rowId, nameBytes(path), Date.now());
    this.schedule(0);
    return this.states.get(key(volume.name, path)) ?? { volume: volume.name, path, state: 'fetching', files: 0, bytes: 0, total: 0 };
  }

  remove(volume: PinVolume, path: string): void {
    path = volumePath(path);
    const { changes } = this.options.db.prepare('DELETE FROM pins WHERE volume = ? AND path = ?').run(volume.rowId, nameBytes(path));
    if (changes === 0) throw new BazilError('NOT_FOUND', `${volume.name}:${showName(path)} is not pinned; see the pins with \`bazil pin list\``);
    this.states.delete(key(volume.name, path));
    this.schedule(0);
  }

  list(): PinInfo[] {
    return this.pins().map(({ volume, path }) => this.states.get(key(volume.name, path)) ?? { volume: volume.name, path, state: 'fetching', files: 0, bytes: 0, total: 0 });
  }

  /** Whether a path of a volume is pinned (itself or a directory above it). */
  isPinned(volume: PinVolume, path: string): boolean {
    return this.pins().some((p) => p.volume.rowId === volume.rowId && under(path, p.path));
  }

  /** Settles when the current round (and one asked for during it) is done: for tests and whereis. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private pins(): { volume: PinVolume; path: string }[] {
    const byRow = new Map(this.options.volumes().map((v) => [v.rowId, v]));
    const rows = this.options.db.prepare('SELECT volume, path FROM pins ORDER BY volume, path').all() as { volume: number; path: Buffer }[];
    return rows.flatMap((r) => {
      const volume = byRow.get(r.volume);
      return volume ? [{ volume, path: nameFromBytes(r.path) }] : [];
    });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.round()
        .catch((err) => this.options.log(`pinning stopped on an error: ${(err as Error).message}`))
        .finally(() => {
          this.running = undefined;
          if (this.again) {
            this.again = false;
            this.schedule(SETTLE_MS);
          } else if ([...this.states.values()].some((s) => s.state === 'waiting')) this.schedule(RETRY_MS);
        });
    }, ms);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    const pinned = new Set<string>();
    const pins = this.pins();
    const live = new Set<string>();
    for (const { volume, path } of pins) {
      this.watch(volume);
      live.add(key(volume.name, path));
      await this.fill(volume, path, pinned);
      if (this.stopped) return;
    }
    for (const k of this.states.keys()) if (!live.has(k)) this.states.delete(k);
    this.options.cache.setPinned(pinned);
  }

  /** Fetches what a pin lacks; adds its objects to `pinned`. */
  private async fill(volume: PinVolume, path: string, pinned: Set<string>): Promise<void> {
    const { cache } = this.options;
    const state: PinInfo = { volume: volume.name, path, state: 'fetching', files: 0, bytes: 0, total: 0 };
    const k = key(volume.name, path);
    this.states.set(k, { ...(this.states.get(k) ?? state), volume: volume.name, path });
    let root: Node;
    try {
      root = volume.tree.resolve(path);
    } catch (err) {
      if (!isBazilError(err, 'NOT_FOUND')) throw err;
      this.states.set(k, { ...state, state: 'complete' }); // nothing there (yet): nothing to keep
      return;
    }
    const missing: { h: Buffer; bytes: number }[] = [];
    let error: string | undefined;
    for (const file of filesUnder(volume.tree, root)) {
      state.files++;
      if (!file.manifest) {
        state.total += file.data?.length ?? 0;
        state.bytes += file.data?.length ?? 0;
        continue;
      }
      try {
        const { objects } = await fileObjects(volume.store, file.manifest, (id) => cache.has(id), true);
        for (const o of objects) {
          pinned.add(o.id.toString('hex'));
          state.total += o.bytes;
          if (cache.has(o.id)) state.bytes += o.bytes;
          else if (o.bytes > 0) missing.push({ h: o.h, bytes: o.bytes });
        }
      } catch (err) {
        if (!isBazilError(err, 'UNAVAILABLE') && !isBazilError(err, 'UNAUTHORIZED')) throw err;
        error = (err as Error).message;
      }
    }
    cache.addPinned(pinned); // protect what is here before fetching more; the round's end sets the whole set
    this.states.set(k, { ...state });
    const report = () => {
      this.states.set(k, { ...state, state: 'fetching' });
      this.options.progress?.({ volume: volume.name, path, bytes: state.bytes, total: state.total });
    };
    for (let i = 0; i < missing.length && !this.stopped; i += FETCHING) {
      await Promise.all(
        missing.slice(i, i + FETCHING).map(async (m) => {
          try {
            await volume.store.getChunk(m.h);
            state.bytes += m.bytes;
          } catch (err) {
            if (!isBazilError(err, 'UNAVAILABLE') && !isBazilError(err, 'UNAUTHORIZED')) throw err;
            error = (err as Error).message;
          }
        }),
      );
      report();
    }
    const done = state.bytes >= state.total && !error;
    this.states.set(k, { ...state, state: done ? 'complete' : 'waiting', ...(error && !done ? { error } : {}) });
    if (error && !done) this.options.log(`pin ${volume.name}:${showName(path)} waits for content: ${error}`);
  }

  private watch(volume: PinVolume): void {
    if (this.watching.has(volume.rowId)) return;
    this.watching.add(volume.rowId);
    this.unwatch.push(
      volume.tree.onChange(() => {
        if (this.pins().some((p) => p.volume.rowId === volume.rowId)) this.schedule(SETTLE_MS);
      }),
    );
  }
}

const key = (volume: string, path: string) => `${volume}:${path}`;

/** The files at or under a node, depth first. */
function* filesUnder(tree: Tree, node: Node): Generator<Node> {
  if (node.kind === 'file') {
    yield node;
    return;
  }
  if (node.kind !== 'dir') return;
  const stack = [node.ino];
  while (stack.length > 0) {
    for (const child of tree.children(stack.pop()!)) {
      if (child.kind === 'file') yield child;
      else if (child.kind === 'dir') stack.push(child.ino);
    }
  }
}
