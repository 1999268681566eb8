/**
 * Panel 3, Conflicts: every open conflict (resolved ones with `a`), and both
 * versions side by side; keep mine, take theirs or keep both, at once.
 */
import { lstat, open } from 'node:fs/promises';
import { basename, isAbsolute } from 'node:path';
import type { ConflictInfo } from '../../engine/control/api.js';
import { ago, columns, fit, formatBytes, lineDiff, peerLabel, sideBySide, type DiffRow } from '../text.js';
import type { Action, ActionContext, Detail, Line, Panel } from './panel.js';

type Choice = 'mine' | 'theirs' | 'both';

/** What happened, in words. */
export const whatHappened = (c: ConflictInfo) => (c.localDeleted ? 'deleted here, changed there' : c.theirs === 'deleted' ? 'changed here, deleted there' : 'changed on both sides');

const TEXT_SHOWN = 64 * 1024;

/** A file as the conflict view shows it: type, size and time, and its lines when it is short text. */
async function fileView(path: string): Promise<{ head: string[]; text?: string[] }> {
  try {
    const st = await lstat(path);
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'directory' : st.isSymbolicLink() ? 'symlink' : 'other';
    const head = [`${type}, ${formatBytes(st.size)}`, `modified ${new Date(st.mtimeMs).toISOString().replace(/\.\d+Z$/, 'Z')}`];
    if (!st.isFile() || st.size > TEXT_SHOWN) return { head };
    const f = await open(path, 'r');
    try {
      const buf = Buffer.alloc(st.size);
      await f.read(buf, 0, st.size, 0);
      if (buf.includes(0)) return { head: [...head, '(binary)'] };
      return { head, text: buf.toString('utf8').replace(/\n$/, '').split('\n').slice(0, 500) };
    } finally {
      await f.close();
    }
  } catch (err) {
    return { head: [`cannot read it: ${(err as Error).message}`] };
  }
}

/** This side's version as lines: type, size and time, then the text itself when it is short text. */
export async function mineLines(c: ConflictInfo): Promise<string[]> {
  if (c.localDeleted) return ['deleted here', '(theirs was restored in place)'];
  if (!isAbsolute(c.where)) return ['not mounted here:', 'mount the volume to see it'];
  const v = await fileView(c.where);
  return v.text ? [...v.head, '', ...v.text] : v.head;
}

/** Both texts, side by side, their differences marked (- here, + theirs) and in the warning tone. */
export function diffLines(rows: DiffRow[], width: number): Line[] {
  const half = Math.max(10, Math.floor((width - 3) / 2));
  return rows.map((r) => ({
    text: `${fit(r.left === undefined ? '' : `${r.kind === 'changed' ? '-' : ' '} ${r.left}`, half)} │ ${r.right === undefined ? '' : `${r.kind === 'changed' ? '+' : ' '} ${r.right}`}`.trimEnd(),
    tone: r.kind === 'changed' ? 'warn' : undefined,
  }));
}

/** Their version as lines, from the server's words ("file, 12 bytes, modified 2026-…"). */
export function theirsLines(c: ConflictInfo): string[] {
  const parts = c.theirs.split(', ');
  const lines = parts.length === 3 ? [`${parts[0]}, ${formatBytes(Number(parts[1].replace(/ bytes$/, '')))}`, parts[2].replace(/\.\d+Z$/, 'Z')] : [c.theirs];
  return [...lines, '', '(their text shows once both', ' are kept: b, as a diff)'];
}

const keyOf = (c: ConflictInfo) => `${c.volume}:${c.path}`;

async function resolveIt(ctx: ActionContext, c: ConflictInfo, choice: Choice): Promise<{ savedAs?: string } | undefined> {
  if (c.resolution) {
    ctx.say(`${c.where} is resolved already (${c.resolution}).`, 'warn');
    return undefined;
  }
  const r = await ctx.api.call('conflicts.resolve', { path: keyOf(c), choice });
  const did = choice === 'mine' ? 'kept mine' : choice === 'theirs' ? 'took theirs' : `kept both${r.savedAs ? `; theirs is at ${r.savedAs}` : ''}`;
  ctx.say(`Resolved ${r.where}: ${did}.`, 'good');
  ctx.refresh(['conflicts', 'status']);
  return r;
}

const choices: [string, string, Choice][] = [
  ['m', 'keep mine', 'mine'],
  ['t', 'take theirs', 'theirs'],
  ['b', 'keep both', 'both'],
];

function conflictDetail(c: ConflictInfo): Detail {
  let mine: string[] = ['(reading…)'];
  // Once both are kept, theirs is a file beside mine: then their text can be shown too, as a diff.
  let both: { savedAs: string; rows?: DiffRow[] } | undefined;
  return {
    title: `Conflict: ${c.where}`,
    lines(model, width): Line[] {
      if (both) {
        const head: Line = { text: `Kept both: yours in place, theirs at ${both.savedAs}.`, tone: 'good' };
        if (!both.rows) return [head, { text: 'One of them is not short text: no diff to show.', tone: 'dim' }];
        return [head, ...sideBySide('Mine (here)', [], `Theirs (${basename(both.savedAs)})`, [], width).map((text) => ({ text })), ...diffLines(both.rows, width)];
      }
      const resolved = (model.allConflicts.value ?? []).find((x) => keyOf(x) === keyOf(c) && x.resolution);
      const open = (model.conflicts.value ?? []).some((x) => keyOf(x) === keyOf(c));
      const state: Line = c.resolution || resolved ? { text: `Resolved: ${c.resolution ?? resolved!.resolution}`, tone: 'good' } : open ? { text: `${whatHappened(c)}; found ${ago(c.createdAt)}. Press m, t or b.`, tone: 'warn' } : { text: 'Resolved.', tone: 'good' };
      return [state, ...sideBySide('Mine (here)', mine, `Theirs (from ${peerLabel(c.peer, c.peerName)})`, theirsLines(c), width).map((text) => ({ text }))];
    },
    actions: choices.map(([key, label, choice]) => ({
      key,
      label,
      async run(ctx: ActionContext) {
        const r = await resolveIt(ctx, c, choice);
        if (!r?.savedAs || !isAbsolute(c.where)) return;
        const [a, b] = await Promise.all([fileView(c.where), fileView(r.savedAs)]);
        both = { savedAs: r.savedAs, rows: a.text && b.text ? lineDiff(a.text, b.text) : undefined };
        ctx.model.changed();
      },
    })),
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
      ...choices.map(([key, label, choice]): Action<ConflictInfo> => ({ key, label, onRow: true, run: async (ctx, c) => void (await resolveIt(ctx, c, choice)) })),
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
