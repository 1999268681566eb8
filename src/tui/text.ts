/**
 * Text for the terminal UI, as pure functions of their inputs: columns cut to
 * a width, times as "3 min ago", bars, side-by-side views. Every panel renders
 * its rows as plain strings built here, so a frame is text a test can read.
 */
import { formatBytes } from '../cli/format.js';

export { formatBytes };

/** Terminal cells a string takes, close enough for what Bazil shows (wide CJK and emoji count 2). */
export function cells(s: string): number {
  let n = 0;
  for (const ch of s) n += isWide(ch.codePointAt(0)!) ? 2 : 1;
  return n;
}

function isWide(cp: number): boolean {
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd);
}

/** Control characters (a file name may hold any byte) shown as one visible mark, so they cannot drive the terminal. */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** s cut to width cells (with … when cut), padded with spaces to exactly width. */
export function fit(s: string, width: number): string {
  if (width <= 0) return '';
  s = printable(s);
  if (cells(s) <= width) return s + ' '.repeat(width - cells(s));
  let out = '';
  let n = 0;
  for (const ch of s) {
    const w = isWide(ch.codePointAt(0)!) ? 2 : 1;
    if (n + w > width - 1) break;
    out += ch;
    n += w;
  }
  return out + '…' + ' '.repeat(width - 1 - n);
}

/** Like fit, but cut at the start (…/end/of/a/long/path): the end of a path says most. */
export function fitEnd(s: string, width: number): string {
  if (cells(printable(s)) <= width) return fit(s, width);
  const chars = [...printable(s)];
  let out = '';
  let n = 0;
  for (let i = chars.length - 1; i >= 0; i--) {
    const w = isWide(chars[i].codePointAt(0)!) ? 2 : 1;
    if (n + w > width - 1) break;
    out = chars[i] + out;
    n += w;
  }
  return '…' + out + ' '.repeat(Math.max(0, width - 1 - n));
}

/**
 * One line of columns: each [text, width] (a width of 0 takes what is left of
 * total), separated by two spaces. end: cut that column at its start.
 */
export function columns(total: number, cols: [text: string, width: number, end?: 'end'][]): string {
  const fixed = cols.reduce((n, [, w]) => n + w, 0) + 2 * (cols.length - 1);
  const rest = Math.max(4, total - fixed);
  const line = cols.map(([t, w, end]) => (end ? fitEnd : fit)(t, w || rest)).join('  ');
  return fit(line, total).trimEnd();
}

/** How long ago a time was, in the largest unit that fits: "now", "42 s ago", "3 min ago", "5 h ago", "2 d ago". */
export function ago(at: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 2) return 'now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** How far ahead a time is: "in 9 min", "now" once past. */
export function until(at: number, now = Date.now()): string {
  const left = ago(now - (at - now), now);
  return at <= now || left === 'now' ? 'now' : `in ${left.replace(' ago', '')}`;
}

/** A bar of width cells, filled in proportion to done/total: [#####.....] (plain characters: readable without color). */
export function bar(done: number, total: number, width: number): string {
  const inner = Math.max(1, width - 2);
  const filled = total > 0 ? Math.min(inner, Math.round((inner * done) / total)) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(inner - filled)}]`;
}

export function percent(done: number, total: number): string {
  return total > 0 ? `${Math.floor((100 * Math.min(done, total)) / total)}%` : '';
}

/** A peer as people call it here: its name, else the start of its key. */
export function peerLabel(key: string, name: string | null | undefined): string {
  return name ?? key.slice(0, 16);
}

/** Two texts side by side, each in half the width, under their titles, separated by │. */
export function sideBySide(leftTitle: string, left: string[], rightTitle: string, right: string[], width: number): string[] {
  const half = Math.max(10, Math.floor((width - 3) / 2));
  const rows = [`${fit(leftTitle, half)} │ ${fit(rightTitle, half)}`, `${'─'.repeat(half)}─┼─${'─'.repeat(half)}`];
  for (let i = 0; i < Math.max(left.length, right.length); i++) rows.push(`${fit(left[i] ?? '', half)} │ ${fit(right[i] ?? '', half)}`.trimEnd());
  return rows;
}

/** Text broken into lines of at most width cells, at spaces where it can (newlines kept). */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of printable(para).split(' ')) {
      const next = line ? `${line} ${word}` : word;
      if (cells(next) <= width) line = next;
      else {
        if (line) out.push(line);
        line = cells(word) <= width ? word : fit(word, width);
      }
    }
    out.push(line);
  }
  return text ? out : [];
}

export interface DiffRow {
  left?: string;
  right?: string;
  /** same: on both sides; changed: the row differs (one side may be missing). */
  kind: 'same' | 'changed';
}

/**
 * Two texts' lines aligned for a side-by-side view, by their longest common
 * subsequence (quadratic: for the few hundred lines a screen shows).
 */
export function lineDiff(a: string[], b: string[]): DiffRow[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const rows: DiffRow[] = [];
  // In a run of changes, insertions fill the rows of the deletions before them, in order: one changed row per pair.
  let fill = 0;
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      rows.push({ left: a[i++], right: b[j++], kind: 'same' });
      fill = rows.length;
    } else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      rows.push({ left: a[i++], kind: 'changed' });
    } else if (fill < rows.length) {
      rows[fill++].right = b[j++];
    } else {
      rows.push({ right: b[j++], kind: 'changed' });
      fill = rows.length;
    }
  }
  return rows;
}
