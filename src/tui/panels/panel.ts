/**
 * What a panel is: a function of the model and the width that gives its
 * rows as text, plus the actions its keys run. The app (app.tsx) draws the
 * rows, moves the selection, filters and runs the actions; panels hold no
 * React state, so each is tested as text.
 */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import type { ControlApi } from '../../engine/control/api.js';
import type { Topic } from '../feed.js';
import type { Model } from '../model.js';
import type { Pairing } from '../pair.js';

export type Tone = 'good' | 'bad' | 'warn' | 'dim' | 'accent';

export interface Line {
  text: string;
  tone?: Tone;
}

export interface Row<T> extends Line {
  /** Stable across refreshes: the selection follows it. */
  key: string;
  item: T;
}

/** A view that replaces the list until esc: details, a side-by-side comparison, an invite waiting. Lines are redrawn from the model. */
export interface Detail {
  title: string;
  lines(model: Model, width: number): Line[];
  actions?: Action<void>[];
  /** Asks the server for what the view needs beyond the model, once, when it opens. */
  load?(ctx: ActionContext): Promise<void>;
}

/** What an action may do besides calling the server. */
export interface ActionContext {
  api: ControlApi;
  model: Model;
  /** Asks for a line of text; undefined when the person cancels (esc). */
  ask(question: string, initial?: string): Promise<string | undefined>;
  /** Asks yes or no. */
  confirm(question: string): Promise<boolean>;
  /** A message on the message line (errors say what to do next). */
  say(text: string, tone?: Tone): void;
  show(detail: Detail): void;
  /** Closes the detail view. */
  back(): void;
  refresh(topics?: Topic[]): void;
  /** Pairing over SSH, where the TUI runs on a data dir (not in component tests that leave it out). */
  pairing?: Pairing;
}

export interface Action<T> {
  /** The key as Ink reports it: a character, or 'return'. */
  key: string;
  label: string;
  /** Runs only on a selected row. */
  onRow?: boolean;
  run(ctx: ActionContext, item: T): Promise<void> | void;
}

export interface PanelView<T> {
  /** Lines above the list: totals, bars, what is in progress. */
  top?: Line[];
  /** Column titles. */
  header?: string;
  rows: Row<T>[];
  /** What to say (and what to do) when there are no rows. */
  empty: string;
  actions: Action<T>[];
}

export interface Panel {
  name: string;
  view(model: Model, width: number): PanelView<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/**
 * A path as typed in a question: VOLUME:/path stays as it is, ~ is the home
 * directory, anything else is made absolute (from where bazil was started).
 */
export function typedPath(text: string): string {
  const t = text.trim();
  if (/^[^/:~]+:\//.test(t)) return t;
  if (t === '~' || t.startsWith('~/')) return resolve(homedir(), t.slice(2));
  return resolve(t);
}
