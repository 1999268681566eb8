/**
 * Panel 3, Conflicts: every open conflict (resolved ones with `a`), and both
 * versions side by side; keep mine, take theirs or keep both, at once.
 */
import { basename } from 'node:path';
import type { ConflictInfo, VersionView } from '../../engine/control/api.js';
import { ago, columns, fit, formatBytes, lineDiff, peerLabel, sideBySide, type DiffRow } from '../text.js';
import type { Action, ActionContext, Detail, Line, Panel } from './panel.js';

type Choice = 'mine' | 'theirs' | 'both';

/** What happened, in words. */
export const whatHappened = (c: ConflictInfo) => (c.localDeleted ? 'deleted here, changed there' : c.theirs === 'deleted' ? 'changed here, deleted there' : 'changed on both sides');

/** One version as lines: what it is and when, then why its text is not shown (when it is not). */
export function versionHead(v: VersionView): string[] {
  if (v.kind === 'deleted') return ['deleted'];
  const head = [`${v.kind === 'dir' ? 'directory' : v.kind}, ${formatBytes(v.size)}`, `modified ${new Date(v.mtime).toISOString().replace(/\.\d+Z$/, 'Z')}`];
  if (v.target !== undefined) head.push(`-> ${v.target}`);
  if (v.noText) head.push(`(${v.noText})`);
  return head;
}

const textLines = (text: string) => text.replace(/\n$/, '').split('\n').slice(0, 500);

/** Both versions side by side: each one's head, then both texts as a diff when both are text, else whichever text there is. */
export function versionsLines(mine: VersionView, theirs: VersionView, theirsTitle: string, width: number): Line[] {
  const heads = sideBySide('Mine (here)', versionHead(mine), theirsTitle, versionHead(theirs), width).map((text): Line => ({ text }));
  if (mine.text !== undefined && theirs.text !== undefined) return [...heads, { text: '' }, ...diffLines(lineDiff(textLines(mine.text), textLines(theirs.text)), width)];
  const left = mine.text !== undefined ? textLines(mine.text) : [];
  const right = theirs.text !== undefined ? textLines(theirs.text) : [];
  if (left.length + right.length === 0) return heads;
  return [...heads, ...sideBySide('', left, '', right, width).slice(2).map((text): Line => ({ text }))];
}

/** Both texts, side by side, their differences marked (- here, + theirs) and in the warning tone. */
export function diffLines(rows: DiffRow[], width: number): Line[] {
  const half = Math.max(10, Math.floor((width - 3) / 2));
  return rows.map((r) => ({
    text: `${fit(r.left === undefined ? '' : `${r.kind === 'changed' ? '-' : ' '} ${r.left}`, half)} │ ${r.right === undefined ? '' : `${r.kind === 'changed' ? '+' : ' '} ${r.right}`}`.trimEnd(),
    tone: r.kind === 'changed' ? 'warn' : undefined,
  }));
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
  let versions: { mine: VersionView; theirs: VersionView } | undefined;
  let failed: string | undefined;
  let savedAs: string | undefined;
  return {
    title: `Conflict: ${c.where}`,
    lines(model, width): Line[] {
      const resolved = (model.allConflicts.value ?? []).find((x) => keyOf(x) === keyOf(c) && x.resolution);
      const open = (model.conflicts.value ?? []).some((x) => keyOf(x) === keyOf(c));
      const state: Line = savedAs
        ? { text: `Kept both: yours in place, theirs at ${savedAs}.`, tone: 'good' }
        : c.resolution || resolved
          ? { text: `Resolved: ${c.resolution ?? resolved!.resolution}`, tone: 'good' }
          : open
            ? { text: `${whatHappened(c)}; found ${ago(c.createdAt)}. Press m, t or b.`, tone: 'warn' }
            : { text: 'Resolved.', tone: 'good' };
      if (failed) return [state, { text: `Cannot show the versions: ${failed}`, tone: 'warn' }];
      if (!versions) return [state, { text: '(reading both versions…)', tone: 'dim' }];
      const theirsTitle = savedAs ? `Theirs (${basename(savedAs)})` : `Theirs (from ${peerLabel(c.peer, c.peerName)})`;
      return [state, ...versionsLines(versions.mine, versions.theirs, theirsTitle, width)];
    },
    actions: choices.map(([key, label, choice]) => ({
      key,
      label,
      async run(ctx: ActionContext) {
        const r = await resolveIt(ctx, c, choice);
        if (r?.savedAs) savedAs = r.savedAs;
        ctx.model.changed();
      },
    })),
    async load(ctx) {
      // Both versions as the server has them (theirs may come from a peer): the diff is there before choosing.
      try {
        versions = await ctx.api.call('conflicts.show', { path: keyOf(c) });
      } catch (err) {
        failed = (err as Error).message;
      }
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
