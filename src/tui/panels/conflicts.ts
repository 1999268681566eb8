/**
 * Panel 3, Conflicts: every open conflict (resolved ones with `a`), and both
 * versions side by side; keep mine, take theirs or keep both, at once.
 */
import { lstat, open } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { ConflictInfo } from '../../engine/control/api.js';
import { ago, columns, formatBytes, peerLabel, sideBySide } from '../text.js';
import type { Action, ActionContext, Detail, Line, Panel } from './panel.js';

type Choice = 'mine' | 'theirs' | 'both';

/** What happened, in words. */
export const whatHappened = (c: ConflictInfo) => (c.localDeleted ? 'deleted here, changed there' : c.theirs === 'deleted' ? 'changed here, deleted there' : 'changed on both sides');

const TEXT_SHOWN = 64 * 1024;

/** This side's version as lines: type, size and time, then the text itself when it is short text. */
export async function mineLines(c: ConflictInfo): Promise<string[]> {
  if (c.localDeleted) return ['deleted here', '(theirs was restored in place)'];
  if (!isAbsolute(c.where)) return ['not mounted here:', 'mount the volume to see it'];
  try {
    const st = await lstat(c.where);
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'other';
    const lines = [`${type}, ${formatBytes(st.size)}`, `modified ${new Date(st.mtimeMs).toISOString().replace(/\.\d+Z$/, 'Z')}`];
    if (!st.isFile() || st.size > TEXT_SHOWN) return lines;
    const f = await open(c.where, 'r');
    try {
      const buf = Buffer.alloc(st.size);
      await f.read(buf, 0, st.size, 0);
      if (buf.includes(0)) return [...lines, '(binary)'];
      return [...lines, '', ...buf.toString('utf8').split('\n').slice(0, 200)];
    } finally {
      await f.close();
    }
  } catch (err) {
    return [`cannot read it: ${(err as Error).message}`];
  }
}

/** Their version as lines, from the server's words ("file, 12 bytes, modified 2026-…"). */
export function theirsLines(c: ConflictInfo): string[] {
  const parts = c.theirs.split(', ');
  const lines = parts.length === 3 ? [`${parts[0]}, ${formatBytes(Number(parts[1].replace(/ bytes$/, '')))}`, parts[2].replace(/\.\d+Z$/, 'Z')] : [c.theirs];
  return [...lines, '', '(their text is not shown:', ' keep both (b) to see it', ' beside yours)'];
}

const keyOf = (c: ConflictInfo) => `${c.volume}:${c.path}`;

async function resolveIt(ctx: ActionContext, c: ConflictInfo, choice: Choice): Promise<void> {
  if (c.resolution) return ctx.say(`${c.where} is resolved already (${c.resolution}).`, 'warn');
  const r = await ctx.api.call('conflicts.resolve', { path: keyOf(c), choice });
  const did = choice === 'mine' ? 'kept mine' : choice === 'theirs' ? 'took theirs' : `kept both${r.savedAs ? `; theirs is at ${r.savedAs}` : ''}`;
  ctx.say(`Resolved ${r.where}: ${did}.`, 'good');
  ctx.refresh(['conflicts', 'status']);
}

const choices: [string, string, Choice][] = [
  ['m', 'keep mine', 'mine'],
  ['t', 'take theirs', 'theirs'],
  ['b', 'keep both', 'both'],
];

function conflictDetail(c: ConflictInfo): Detail {
  let mine: string[] = ['(reading…)'];
  return {
    title: `Conflict: ${c.where}`,
    lines(model, width): Line[] {
      const resolved = (model.allConflicts.value ?? []).find((x) => keyOf(x) === keyOf(c) && x.resolution);
      const open = (model.conflicts.value ?? []).some((x) => keyOf(x) === keyOf(c));
      const state: Line = c.resolution || resolved ? { text: `Resolved: ${c.resolution ?? resolved!.resolution}`, tone: 'good' } : open ? { text: `${whatHappened(c)}; found ${ago(c.createdAt)}. Press m, t or b.`, tone: 'warn' } : { text: 'Resolved.', tone: 'good' };
      return [state, ...sideBySide('Mine (here)', mine, `Theirs (from ${peerLabel(c.peer, c.peerName)})`, theirsLines(c), width).map((text) => ({ text }))];
    },
    actions: choices.map(([key, label, choice]) => ({ key, label, run: (ctx: ActionContext) => resolveIt(ctx, c, choice) })),
    async load(ctx) {
      mine = await mineLines(c);
      ctx.model.changed();
    },
  };
}

export const conflictsPanel: Panel = {
  name: 'Conflicts',
  view(model, width) {
    const showAll = model.showResolved;
    const list = (showAll ? model.allConflicts : model.conflicts).value ?? [];
    const rows = list.map((c) => ({
      key: keyOf(c),
      item: c,
      tone: c.resolution ? ('dim' as const) : ('warn' as const),
      text: columns(width, [[c.where, 0, 'end'], [peerLabel(c.peer, c.peerName), 16], [c.resolution ? `resolved: ${c.resolution}` : whatHappened(c), 27], [ago(c.createdAt), 10]]),
    }));
    const actions: Action<ConflictInfo>[] = [
      { key: 'return', label: 'both versions', onRow: true, run: (ctx, c) => ctx.show(conflictDetail(c)) },
      ...choices.map(([key, label, choice]): Action<ConflictInfo> => ({ key, label, onRow: true, run: (ctx, c) => resolveIt(ctx, c, choice) })),
      {
        key: 'a',
        label: showAll ? 'open ones only' : 'resolved ones too',
        run(ctx) {
          ctx.model.showResolved = !ctx.model.showResolved;
          ctx.refresh(['conflicts']);
          ctx.model.changed();
        },
      },
    ];
    const error = (showAll ? model.allConflicts : model.conflicts).error;
    return {
      top: showAll ? [{ text: 'Showing resolved conflicts too (a: open ones only).', tone: 'dim' }] : [],
      header: columns(width, [['WHERE', 0], ['PEER', 16], ['WHAT HAPPENED', 27], ['FOUND', 10]]),
      rows,
      empty: error ?? (showAll ? 'No conflicts, ever.' : 'No open conflicts: files changed on two machines at once would show here.'),
      actions,
    };
  },
};
