/** Panel 4, Activity: what is in progress (syncs, fetches with a bar and rate), then the live event stream, newest first. */
import type { BazilEvent, SequencedEvent } from '../../engine/control/api.js';
import { describeEvent } from '../../cli/events.js';
import type { Model } from '../model.js';
import { bar, formatBytes, fit, fitEnd, peerLabel, percent } from '../text.js';
import type { Line, Panel, Tone } from './panel.js';

/** Peer key prefixes in a line, as the names they have here. */
export function withNames(model: Model, text: string): string {
  for (const p of model.status.value?.peers ?? []) if (p.name) text = text.split(p.publicKey.slice(0, 16)).join(p.name);
  return text;
}

function toneOf(e: BazilEvent): Tone | undefined {
  switch (e.type) {
    case 'sync.finished':
      return e.error ? 'bad' : e.counts.conflicts ? 'warn' : undefined;
    case 'peer.refused':
    case 'mount.died':
    case 'invite.failed':
      return 'bad';
    case 'conflict.found':
    case 'peer.disconnected':
    case 'invite.expired':
      return 'warn';
    case 'peer.connected':
    case 'conflict.resolved':
    case 'invite.joined':
      return 'good';
    case 'sync.progress':
    case 'fetch.progress':
      return 'dim';
    default:
      return undefined;
  }
}

/** One event as a line: time, type, what it is about. */
export function eventLine(model: Model, e: SequencedEvent, width: number): string {
  const time = new Date(e.at).toTimeString().slice(0, 8);
  const what = e.event.type === 'server.stopping' ? 'the server is stopping' : withNames(model, describeEvent(e.event));
  return fit(`${time}  ${fit(e.event.type, 17)}  ${what}`, width).trimEnd();
}

/** What is going on now: one line per running sync and per fetch. */
export function inProgress(model: Model, width: number): Line[] {
  const lines: Line[] = [];
  const names = new Map((model.status.value?.peers ?? []).map((p) => [p.publicKey, p.name]));
  for (const s of model.syncs.values()) {
    const c = s.counts;
    const counts = c ? `${c.dirs} directories, ${c.copied} new or changed, ${c.deleted} deleted, ${c.conflicts} conflicts` : 'starting';
    lines.push({ text: fit(`syncing ${s.volume} from ${peerLabel(s.peer, names.get(s.peer))}: ${counts}`, width).trimEnd(), tone: 'accent' });
  }
  for (const f of model.fetches.values()) {
    const right = ` ${bar(f.bytes, f.total, 22)} ${percent(f.bytes, f.total).padStart(4)} ${formatBytes(f.bytes)} of ${formatBytes(f.total)}${f.rate ? `, ${formatBytes(f.rate)}/s` : ''}`;
    lines.push({ text: `fetching ${fitEnd(`${f.volume}:${f.path}`, Math.max(10, width - 9 - right.length))}${right}`.trimEnd(), tone: 'accent' });
  }
  return lines;
}

export const activityPanel: Panel = {
  name: 'Activity',
  view(model, width) {
    const busy = inProgress(model, width);
    return {
      top: busy.length ? [...busy, { text: '' }] : [{ text: 'Nothing in progress.', tone: 'dim' }, { text: '' }],
      header: fit(`TIME      ${fit('EVENT', 17)}  WHAT`, width).trimEnd(),
      rows: model.recent().map((e) => ({ key: `${e.seq}`, item: e, tone: toneOf(e.event), text: eventLine(model, e, width) })),
      empty: model.link.state === 'up' ? 'No events yet: syncs, conflicts, peers and mounts show here as they happen.' : 'No events: the server is not running.',
      actions: [],
    };
  },
};
