/**
 * The terminal UI's one screen: tabs for the panels, the selected panel's
 * list (or a detail view, or the keys), a message line and the bottom bar.
 * Keys: 1–5 and tab switch panels, ↑/↓ or j/k move, enter opens, / filters,
 * ? shows the keys, esc goes back, q quits; each panel adds its actions.
 */
import { Box, Text, useApp, useInput } from 'ink';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ControlApi } from '../engine/control/api.js';
import type { Topic } from './feed.js';
import type { Model } from './model.js';
import type { Pairing } from './pair.js';
import { bottomBar } from './components/bottom-bar.js';
import { LineText } from './components/line.js';
import { useModel } from './hooks/use-model.js';
import { useSize, type Size } from './hooks/use-size.js';
import { activityPanel } from './panels/activity.js';
import { conflictsPanel } from './panels/conflicts.js';
import type { Action, ActionContext, Detail, Line, Panel, Row, Tone } from './panels/panel.js';
import { peersPanel } from './panels/peers.js';
import { storagePanel } from './panels/storage.js';
import { volumesPanel } from './panels/volumes.js';
import { fit, wrap } from './text.js';

export const PANELS: Panel[] = [volumesPanel, peersPanel, conflictsPanel, activityPanel, storagePanel];

/** What the TUI does before it can show anything: make the data dir, start the server (run.ts spawns `bazil`). */
export interface Boot {
  dataDir: string;
  /** No data dir yet: offer to create it. */
  firstRun: boolean;
  createDataDir(): Promise<string>;
  startServer(): Promise<string>;
  /** Called once the server was started, to connect at once. */
  started(): Promise<void>;
}

export interface AppProps {
  model: Model;
  api: ControlApi;
  refresh(topics?: Topic[]): void;
  boot?: Boot;
  /** Pairing over SSH (Peers, p). */
  pairing?: Pairing;
  /** Fixed size (tests); otherwise the terminal's, following resizes. */
  size?: Size;
}

type Dialog = { kind: 'ask'; question: string; value: string; done(v: string | undefined): void } | { kind: 'confirm'; question: string; done(v: boolean): void };

const GLOBAL_KEYS: [string, string][] = [
  ['1-5, tab', 'switch panel (shift-tab: back)'],
  ['↑ ↓, j k', 'move'],
  ['PgUp PgDn, g G', 'page, first, last'],
  ['enter', 'open'],
  ['/', 'filter the list (esc clears it)'],
  ['esc', 'back'],
  ['S', 'start the server when it is not running'],
  ['?', 'these keys'],
  ['q', 'quit'],
];

/** The keys of a panel (or of an open detail), as help lines. */
export function keyLines(actions: Action<unknown>[]): Line[] {
  const lines: Line[] = GLOBAL_KEYS.map(([k, what]) => ({ text: `  ${k.padEnd(16)}${what}` }));
  if (actions.length) lines.push({ text: '' }, { text: 'Here:', tone: 'accent' }, ...actions.map((a) => ({ text: `  ${(a.key === 'return' ? 'enter' : a.key).padEnd(16)}${a.label}` })));
  return lines;
}

function keyName(input: string, key: { return?: boolean }): string {
  return key.return ? 'return' : input;
}

export function App({ model, api, refresh, boot, pairing, size: fixedSize }: AppProps) {
  useModel(model);
  const terminal = useSize();
  const size = fixedSize ?? terminal;
  const { exit } = useApp();
  const [panel, setPanel] = useState(0);
  const [selected, setSelected] = useState<(string | null)[]>(PANELS.map(() => null));
  const [filters, setFilters] = useState<string[]>(PANELS.map(() => ''));
  const [editingFilter, setEditingFilter] = useState(false);
  const [detail, setDetail] = useState<{ view: Detail; scroll: number } | undefined>();
  const [help, setHelp] = useState(false);
  const [dialog, setDialogState] = useState<Dialog | undefined>();
  // The open question, current for the key handler as soon as it opens (before its render).
  const openDialog = useRef<Dialog | undefined>(undefined);
  const setDialog = (d: Dialog | undefined) => {
    openDialog.current = d;
    setDialogState(d);
  };
  const [message, setMessage] = useState<{ text: string; tone?: Tone }>({ text: '' });
  const busy = useRef(false);

  // What is typed in a question, current between a key and its render (keys may come faster than renders).
  const draft = useRef('');
  const ask = (question: string, initial = '') =>
    new Promise<string | undefined>((done) => {
      draft.current = initial;
      setDialog({ kind: 'ask', question, value: initial, done });
    });
  const confirm = (question: string) => new Promise<boolean>((done) => setDialog({ kind: 'confirm', question, done }));
  const ctx: ActionContext = {
    api,
    model,
    ask,
    confirm,
    say: (text, tone) => setMessage({ text, tone }),
    show: (view) => {
      setDetail({ view, scroll: 0 });
      if (view.load) void view.load(ctx).catch((err: Error) => setMessage({ text: err.message, tone: 'bad' }));
    },
    back: () => setDetail(undefined),
    refresh,
    pairing,
  };

  /** Runs an action, one at a time; its error goes to the message line, in its own words (they say what to do next). */
  const run = <T,>(action: Action<T>, item: T) => {
    if (busy.current) return setMessage({ text: 'Still working on the last action…', tone: 'dim' });
    busy.current = true;
    setMessage({ text: '' });
    void Promise.resolve()
      .then(() => action.run(ctx, item))
      .catch((err: Error) => setMessage({ text: err.message, tone: 'bad' }))
      .finally(() => (busy.current = false));
  };

  const startServer = async () => {
    if (!boot) return;
    setMessage({ text: 'Starting the bazil server…' });
    try {
      setMessage({ text: await boot.startServer(), tone: 'good' });
      await boot.started();
    } catch (err) {
      setMessage({ text: (err as Error).message, tone: 'bad' });
    }
  };

  // First run, or no server: offer to make what is missing, once.
  const offered = useRef(false);
  useEffect(() => {
    if (!boot || offered.current) return;
    if (boot.firstRun) {
      offered.current = true;
      void (async () => {
        if (!(await confirm(`Welcome to bazil. There is no data dir in ${boot.dataDir} yet.\nCreate it (a new identity for this machine) and start the bazil server in the background?`))) {
          setMessage({ text: 'Nothing was created. Run `bazil create`, then `bazil server start`, or press S here.', tone: 'warn' });
          return;
        }
        try {
          setMessage({ text: await boot.createDataDir(), tone: 'good' });
        } catch (err) {
          setMessage({ text: (err as Error).message, tone: 'bad' });
          return;
        }
        await startServer();
      })();
    } else if (model.link.state === 'down') {
      offered.current = true;
      void (async () => {
        if (await confirm(`The bazil server for ${boot.dataDir} is not running.\nStart it in the background (as \`bazil server start\` does)?`)) await startServer();
        else setMessage({ text: 'The server is not running: press S to start it.', tone: 'warn' });
      })();
    }
  });

  const current = PANELS[panel];
  const width = size.columns;
  const view = current.view(model, width);
  const filter = filters[panel].toLowerCase();
  const rows: Row<unknown>[] = filter ? view.rows.filter((r) => r.text.toLowerCase().includes(filter)) : view.rows;
  let index = selected[panel] === null ? 0 : rows.findIndex((r) => r.key === selected[panel]);
  if (index < 0) index = 0;
  const item = rows[index]?.item;

  // Rows for the list: the whole height less the tabs, top lines, header, message, dialog and bottom bar
  // (and one spare line: a frame as tall as the terminal makes Ink clear the screen each time).
  // Messages wrap (their end says what to do next), on up to 3 lines.
  const messageLines = wrap(message.text, width).slice(0, 3);
  const questionLines = dialog ? dialog.question.split('\n').flatMap((l) => wrap(l, width)) : [];
  const dialogLines = dialog ? questionLines.length + 1 : Math.max(1, messageLines.length);
  const top = detail || help ? [] : (view.top ?? []);
  const listHeight = Math.max(1, size.rows - 4 - top.length - dialogLines);

  // Where the selection is, kept current between a key and the render it causes (keys may come faster than renders).
  const at = useRef(0);
  at.current = index;
  const select = (i: number) => {
    const n = Math.max(0, Math.min(rows.length - 1, i));
    at.current = n;
    setSelected((s) => s.map((x, k) => (k === panel ? (n === 0 ? null : (rows[n]?.key ?? null)) : x)));
  };

  // The handler of the latest render: Ink re-registers a new one only after the render's effects run,
  // and a key typed in between must not meet the state before it.
  const onKey = useRef<Parameters<typeof useInput>[0]>(() => {});
  useInput(useCallback<Parameters<typeof useInput>[0]>((input, key) => onKey.current(input, key), []));
  onKey.current = (input, key) => {
    const dialog = openDialog.current;
    if (dialog) {
      if (dialog.kind === 'confirm') {
        if (input === 'y' || input === 'Y') {
          setDialog(undefined);
          dialog.done(true);
        } else if (input === 'n' || input === 'N' || key.escape) {
          setDialog(undefined);
          dialog.done(false);
        }
        return;
      }
      if (key.return) {
        setDialog(undefined);
        return dialog.done(draft.current);
      }
      if (key.escape) {
        setDialog(undefined);
        return dialog.done(undefined);
      }
      if (key.backspace || key.delete) draft.current = draft.current.slice(0, -1);
      else if (input && !key.ctrl && !key.meta) draft.current += input;
      return setDialog({ ...dialog, value: draft.current });
    }
    if (editingFilter) {
      if (key.return) return setEditingFilter(false);
      if (key.escape) {
        setEditingFilter(false);
        return setFilters((f) => f.map((x, k) => (k === panel ? '' : x)));
      }
      const edit = (x: string) => (key.backspace || key.delete ? x.slice(0, -1) : input && !key.ctrl && !key.meta ? x + input : x);
      setFilters((f) => f.map((x, k) => (k === panel ? edit(x) : x)));
      return select(0);
    }
    if (input === 'q' || (key.ctrl && input === 'c')) return exit();
    if (input === '?') return setHelp((h) => !h);
    if (key.escape) {
      if (help) return setHelp(false);
      if (detail) return setDetail(undefined);
      return setFilters((f) => f.map((x, k) => (k === panel ? '' : x)));
    }
    if (/^[1-5]$/.test(input) || key.tab) {
      const next = key.tab ? (panel + (key.shift ? PANELS.length - 1 : 1)) % PANELS.length : Number(input) - 1;
      setPanel(next);
      setDetail(undefined);
      setHelp(false);
      return setMessage({ text: '' });
    }
    if (input === 'S') return void startServer();
    if (detail) {
      if (key.downArrow || input === 'j') return setDetail({ ...detail, scroll: detail.scroll + 1 });
      if (key.upArrow || input === 'k') return setDetail({ ...detail, scroll: Math.max(0, detail.scroll - 1) });
      if (key.pageDown) return setDetail({ ...detail, scroll: detail.scroll + listHeight });
      if (key.pageUp) return setDetail({ ...detail, scroll: Math.max(0, detail.scroll - listHeight) });
      const action = detail.view.actions?.find((a) => a.key === keyName(input, key));
      if (action) run(action, undefined);
      return;
    }
    if (key.downArrow || input === 'j') return select(at.current + 1);
    if (key.upArrow || input === 'k') return select(at.current - 1);
    if (key.pageDown) return select(at.current + listHeight);
    if (key.pageUp) return select(at.current - listHeight);
    if (input === 'g' || key.home) return select(0);
    if (input === 'G' || key.end) return select(rows.length - 1);
    if (input === '/') return setEditingFilter(true);
    const action = (view.actions as Action<unknown>[]).find((a) => a.key === keyName(input, key));
    if (!action) return;
    if (action.onRow && item === undefined) return setMessage({ text: `Nothing selected to ${action.label}.`, tone: 'dim' });
    run(action, item);
  };

  // The body: help, a detail view, or the list with the selection kept in sight.
  let body: Line[];
  let selectedLine = -1;
  if (help) body = [{ text: `Keys (${current.name})`, tone: 'accent' }, ...keyLines((detail?.view.actions ?? view.actions) as Action<unknown>[])];
  else if (detail) {
    const all = detail.view.lines(model, width);
    const scroll = Math.min(detail.scroll, Math.max(0, all.length - listHeight));
    const keys = (detail.view.actions ?? []).map((a) => `${a.key} ${a.label}`).join('  ');
    body = [{ text: `${detail.view.title}   (esc: back${keys ? `; ${keys}` : ''})`, tone: 'accent' }, ...all.slice(scroll, scroll + listHeight)];
  } else {
    body = view.header ? [{ text: view.header }] : [];
    if (rows.length === 0) body.push({ text: filter ? `Nothing matches "${filters[panel]}" (esc clears the filter).` : view.empty, tone: 'dim' });
    const first = Math.max(0, Math.min(index - Math.floor(listHeight / 2), rows.length - listHeight));
    const visible = rows.slice(first, first + listHeight);
    selectedLine = body.length + (index - first);
    body.push(...visible);
  }

  const tabs = PANELS.map((p, i) => {
    const n = p === conflictsPanel ? model.openConflicts() : 0;
    return { text: ` ${i + 1} ${p.name}${n ? ` (${n})` : ''} `, on: i === panel };
  });
  const position = rows.length > listHeight && !detail && !help ? ` ${index + 1}/${rows.length}` : '';
  const filterText = editingFilter || filters[panel] ? ` /${filters[panel]}${editingFilter ? '_' : ''}` : '';
  const bar = bottomBar(model, width);

  return (
    <Box flexDirection="column" width={width}>
      <Box>
        <Text bold> bazil </Text>
        {tabs.map((t) => (
          <Text key={t.text} inverse={t.on} bold={t.on}>
            {t.text}
          </Text>
        ))}
        <Text dimColor>{fit(`${position}${filterText}`, Math.max(0, width - 7 - tabs.reduce((n, t) => n + t.text.length, 0)))}</Text>
      </Box>
      {top.map((l, i) => (
        <LineText key={`top${i}`} text={fit(l.text, width).trimEnd()} tone={l.tone} />
      ))}
      <Box flexDirection="column" height={listHeight + 1}>
        {body.map((l, i) => (
          <LineText key={i} text={fit(l.text, width).trimEnd()} tone={l.tone} selected={i === selectedLine} bold={i === 0 && !detail && !help && Boolean(view.header)} />
        ))}
      </Box>
      {dialog ? (
        <Box flexDirection="column">
          {questionLines.map((q, i) => (
            <LineText key={`q${i}`} text={q} tone="accent" bold />
          ))}
          {dialog.kind === 'ask' ? <Text>{fit(`> ${dialog.value}_   (enter: ok, esc: cancel)`, width).trimEnd()}</Text> : <Text>{'(y/n)'}</Text>}
        </Box>
      ) : (
        <Box flexDirection="column">
          {(messageLines.length ? messageLines : ['']).map((l, i) => (
            <LineText key={`m${i}`} text={l} tone={message.tone} />
          ))}
        </Box>
      )}
      <LineText text={bar.text} tone={bar.tone} selected />
    </Box>
  );
}
