/** Panel 5, Storage: the cache bar (used of budget, pinned), pins with their progress, and where a file's content is. */
import type { PinInfo, WhereIs } from '../../engine/control/cache-api.js';
import { ago, bar, columns, formatBytes, percent } from '../text.js';
import { typedPath, type Action, type ActionContext, type Line, type Panel } from './panel.js';

const storeName = (store: string, names: Map<string, string | null>) => {
  if (!store.startsWith('peer:')) return store;
  const key = store.slice(5);
  return `peer ${names.get(key) ?? key.slice(0, 16)}`;
};

/** whereis answers as lines: each file, here in full / in part / not at all, pinned, and the stores that hold it. */
export function whereisLines(files: WhereIs[], names: Map<string, string | null>): Line[] {
  if (!files.length) return [{ text: 'No files there.', tone: 'dim' }];
  const lines: Line[] = [];
  for (const f of files) {
    const here = f.here === 'part' ? `here in part (${formatBytes(f.bytes)} of ${formatBytes(f.total)})` : f.here === 'full' ? 'here in full' : f.here === 'inline' ? 'here (inline, on every peer)' : 'not here';
    lines.push({ text: `${f.volume}:${f.path}  ${here}${f.pinned ? ', pinned' : ''}`, tone: f.here === 'none' ? 'warn' : undefined });
    for (const s of f.stores) lines.push({ text: `  ${storeName(s.store, names)} ${s.kept ? 'keeps' : 'caches'} ${s.objects < f.objects ? `${s.objects} of ${f.objects} objects` : 'it'}, confirmed ${ago(s.seen)}` });
    if (f.needs) lines.push({ text: f.needs.length ? `  to read it all: make one of these available: ${f.needs.map((s) => storeName(s, names)).join(', ')}` : '  to read it all: no store is known to hold the missing content', tone: 'bad' });
  }
  return lines;
}

async function showWhereis(ctx: ActionContext, path: string): Promise<void> {
  const files = await ctx.api.call('whereis', { paths: [path] });
  const names = new Map((ctx.model.status.value?.peers ?? []).map((p) => [p.publicKey, p.name]));
  const lines = whereisLines(files, names);
  ctx.show({ title: `Where is ${path}`, lines: () => lines });
}

const pinPath = (p: PinInfo) => `${p.volume}:${p.path}`;

const actions: Action<PinInfo>[] = [
  { key: 'return', label: 'where is it', onRow: true, run: (ctx, p) => showWhereis(ctx, pinPath(p)) },
  {
    key: 'w',
    label: 'where is a path',
    async run(ctx, p) {
      const path = await ctx.ask('Where is which file or directory? (a path in a mount, or VOLUME:/path)', p ? pinPath(p) : '');
      if (path?.trim()) await showWhereis(ctx, typedPath(path));
    },
  },
  {
    key: 'p',
    label: 'pin a path',
    async run(ctx) {
      const path = await ctx.ask('Keep which file or directory here for offline use? (a path in a mount, or VOLUME:/path)');
      if (!path?.trim()) return;
      const pins = await ctx.api.call('pin.add', { paths: [typedPath(path)] });
      ctx.say(`Pinned ${pins.map(pinPath).join(', ')}: its content is fetched in the background.`, 'good');
      ctx.refresh(['pins', 'cache']);
    },
  },
  {
    key: 'u',
    label: 'unpin',
    onRow: true,
    async run(ctx, p) {
      await ctx.api.call('pin.remove', { paths: [pinPath(p)] });
      ctx.say(`Unpinned ${pinPath(p)}: it stays cached until evicted.`, 'good');
      ctx.refresh(['pins', 'cache']);
    },
  },
];

export const storagePanel: Panel = {
  name: 'Storage',
  view(model, width) {
    const c = model.cache.value;
    const top: Line[] = c
      ? [
          { text: `Cache ${bar(c.used, c.budget, Math.min(40, Math.max(12, width - 50)))} ${formatBytes(c.used)} of ${formatBytes(c.budget)} (${percent(c.used, c.budget)})`, tone: c.used > c.budget ? 'warn' : undefined },
          { text: `pinned ${formatBytes(c.pinned)} · not yet elsewhere ${formatBytes(c.notElsewhere)} · evictable ${formatBytes(c.evictable)} · disk free ${formatBytes(c.diskFree)}`, tone: 'dim' },
          { text: '' },
        ]
      : [{ text: `Cache: ${model.cache.error ?? 'asking…'}`, tone: model.cache.error ? 'bad' : 'dim' }, { text: '' }];
    const rows = (model.pins.value ?? []).map((p) => ({
      key: pinPath(p),
      item: p,
      tone: p.state === 'waiting' ? ('bad' as const) : p.state === 'fetching' ? ('accent' as const) : ('good' as const),
      text: columns(width, [
        [pinPath(p), 0, 'end'],
        [p.state, 8],
        [`${bar(p.bytes, p.total, 14)} ${percent(p.bytes, p.total).padStart(4)}`, 19],
        [p.state === 'waiting' && p.error ? p.error : `${formatBytes(p.bytes)} of ${formatBytes(p.total)}, ${p.files} file${p.files === 1 ? '' : 's'}`, 32],
      ]),
    }));
    return {
      top,
      header: columns(width, [['PINNED', 0], ['STATE', 8], ['PROGRESS', 19], ['HERE', 32]]),
      rows,
      empty: model.pins.error ?? 'Nothing pinned: press p to keep a file or directory here for offline use, w to see where a file is.',
      actions,
    };
  },
};
