/** The bar at the bottom of every screen: the server's state and what is in progress, as one line. */
import type { Model } from '../model.js';
import { fit, formatBytes } from '../text.js';
import type { Tone } from '../panels/panel.js';

export function bottomBar(model: Model, width: number): { text: string; tone?: Tone } {
  const link = model.link;
  const server = link.state === 'up' ? `server pid ${link.server.pid} on ${link.server.peerAddress}` : link.state === 'connecting' ? 'connecting to the server…' : `server ${link.why}: press S to start it`;
  const busy: string[] = [];
  if (model.syncs.size) busy.push(`syncing ${[...new Set([...model.syncs.values()].map((s) => s.volume))].join(', ')}`);
  if (model.fetches.size) {
    const rate = [...model.fetches.values()].reduce((n, f) => n + f.rate, 0);
    busy.push(`fetching ${model.fetches.size} file${model.fetches.size === 1 ? '' : 's'}${rate ? ` ${formatBytes(rate)}/s` : ''}`);
  }
  const pinsFetching = (model.pins.value ?? []).filter((p) => p.state === 'fetching').length;
  if (pinsFetching) busy.push(`${pinsFetching} pin${pinsFetching === 1 ? '' : 's'} fetching`);
  const conflicts = model.openConflicts();
  if (conflicts) busy.push(`${conflicts} conflict${conflicts === 1 ? '' : 's'}`);
  const keys = '? keys  q quit';
  const left = [server, ...busy].join(' · ');
  const text = `${fit(left, Math.max(0, width - keys.length - 1))} ${keys}`;
  return { text, tone: link.state === 'down' ? 'bad' : conflicts ? 'warn' : undefined };
}
