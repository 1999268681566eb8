/** Panel 2, Peers: each peer and the devices seen nearby; invite, join, rename, remove. */
import type { NearbyDevice, PeerGrants, PeerStatus } from '../../engine/control/api.js';
import type { Model } from '../model.js';
import { ago, columns, peerLabel, until } from '../text.js';
import type { Action, Detail, Line, Panel, Row, Tone } from './panel.js';

type Item = { peer: PeerStatus } | { nearby: NearbyDevice };

/** When this machine last knew the peer was there: connected now, else the latest connect, disconnect or sync it saw. */
export function lastSeen(model: Model, p: PeerStatus): number | undefined {
  if (p.connected) return Date.now();
  const times = [model.peerSeen.get(p.publicKey) ?? 0, ...p.lastSync.map((s) => s.at)];
  const t = Math.max(...times);
  return t > 0 ? t : undefined;
}

const grantsHere = (p: PeerStatus) => [...p.storage.map((s) => `read ${s} store`), ...p.volumes.map((v) => `sync ${v}`)];

function peerDetail(key: string): Detail {
  let there: Line[] = [{ text: '  (asking it…)', tone: 'dim' }];
  return {
    title: 'Peer',
    lines(model) {
      const p = model.status.value?.peers.find((x) => x.publicKey === key);
      if (!p) return [{ text: 'This peer is gone (removed).', tone: 'dim' }];
      const lines: Line[] = [
        { text: `Name:       ${p.name ?? '(none: press r to name it)'}` },
        { text: `Key:        ${p.publicKey}` },
        { text: `Location:   ${p.location ?? '(none: it cannot be dialed; `bazil peer location set` gives one)'}` },
        { text: `Connected:  ${p.connected === null ? 'unknown' : p.connected ? 'yes' : 'no'}`, tone: p.connected ? 'good' : 'warn' },
        { text: `Last seen:  ${(() => { const t = lastSeen(model, p); return t ? ago(t) : 'never by this server'; })()}` },
        { text: `It may here: ${grantsHere(p).join(', ') || 'nothing'}` },
        { text: 'It lets this machine:' },
        ...there,
      ];
      if (p.syncs.length) lines.push({ text: `Syncs from it: ${p.syncs.join(', ')}` });
      if (p.storageFor.length) lines.push({ text: `Reads content from its store for: ${p.storageFor.join(', ')}` });
      for (const s of p.lastSync) lines.push({ text: `Last sync of ${s.volume}: ${ago(s.at)}${s.error ? `, failed: ${s.error}` : ''}`, tone: s.error ? 'bad' : undefined });
      for (const m of p.missing) lines.push({ text: `Missing: ${m}`, tone: 'warn' });
      return lines;
    },
    // What it grants us is asked over the network, once.
    async load(ctx) {
      try {
        const g: PeerGrants = await ctx.api.call('peer.grants', { key });
        there = [{ text: `  ${g.storage.map((s) => `read its ${s} store`).join(', ') || 'read nothing of its store'}` }];
      } catch (err) {
        there = [{ text: `  unknown: ${(err as Error).message}`, tone: 'dim' }];
      }
      ctx.model.changed();
    },
  };
}

/** An invite made here, live: its code until someone joins, then the words to compare. */
function inviteDetail(id: number): Detail {
  return {
    title: 'Invite',
    lines(model) {
      const invite = model.invites.get(id);
      if (!invite) return [];
      const { info, outcome } = invite;
      const lines: Line[] = [
        { text: 'On the other machine, run:' },
        ...(info.onLan
          ? [
              { text: `  bazil join ${info.code}`, tone: 'accent' as const },
              { text: 'or, across networks:' },
            ]
          : []),
        { text: `  bazil join ${info.longCode}`, tone: 'accent' },
        { text: `It gets this machine as a peer${info.volumes.length ? ` and the volumes ${info.volumes.join(', ')}` : ''}.` },
        { text: '' },
      ];
      if (!outcome) lines.push({ text: `Waiting for it to join (the code expires ${until(info.expiresAt)})…`, tone: 'dim' });
      else if ('joined' in outcome) {
        lines.push({ text: `${outcome.joined.name ?? outcome.joined.peer.slice(0, 16)} joined.`, tone: 'good' });
        lines.push({ text: `Check that the other machine shows the same words: ${outcome.joined.verification}`, tone: 'accent' });
        lines.push({ text: 'If they differ, remove that peer at once (press esc, then d on it).' });
      } else if ('failed' in outcome) lines.push({ text: `The invite failed: ${outcome.failed}. Press i to make a new one.`, tone: 'bad' });
      else lines.push({ text: 'The invite expired before anyone joined. Press i to make a new one.', tone: 'warn' });
      return lines;
    },
    actions: [
      {
        key: 'c',
        label: 'cancel the invite',
        async run(ctx) {
          const invite = ctx.model.invites.get(id);
          if (invite?.outcome) return ctx.say('This invite is over already.', 'dim');
          await ctx.api.call('invite.cancel', { id });
          ctx.model.invites.delete(id);
          ctx.back();
          ctx.say(`Cancelled invite ${id}: its code no longer works.`, 'good');
        },
      },
    ],
  };
}

const actions: Action<Item>[] = [
  { key: 'return', label: 'details', onRow: true, run: (ctx, it) => ('peer' in it ? ctx.show(peerDetail(it.peer.publicKey)) : ctx.say(`${it.nearby.hostname} is not a peer: to add it, make an invite here (i) and join it there.`)) },
  {
    key: 'i',
    label: 'invite a machine',
    async run(ctx) {
      const volumes = await ctx.ask('Volumes to share with it (names, separated by spaces; empty: none)?', '');
      if (volumes === undefined) return;
      const info = await ctx.api.call('invite.create', { volumes: volumes.split(/[\s,]+/).filter(Boolean) });
      ctx.model.addInvite(info);
      ctx.show(inviteDetail(info.id));
    },
  },
  {
    key: 'J',
    label: 'join with a code',
    async run(ctx) {
      const code = await ctx.ask('The code the other machine shows?');
      if (!code?.trim()) return;
      ctx.say('Joining…');
      const r = await ctx.api.call('invite.join', { code: code.trim() });
      ctx.show({
        title: 'Joined',
        lines: () => [
          { text: `Joined ${peerLabel(r.peer.key, r.peer.name)}.`, tone: 'good' },
          { text: `Check that the other machine shows the same words: ${r.verification}`, tone: 'accent' },
          { text: 'If they differ, remove that peer at once (press esc, then d on it).' },
          ...r.did.map((d) => ({ text: `  ${d}` })),
          ...(r.volumes.length ? [{ text: `Volumes here now: ${r.volumes.join(', ')} (mount them in panel 1)` }] : []),
        ],
      });
      ctx.say('');
      ctx.refresh(['status']);
    },
  },
  {
    key: 'r',
    label: 'rename',
    onRow: true,
    async run(ctx, it) {
      if (!('peer' in it)) return ctx.say('Only a peer can be renamed.', 'warn');
      const p = it.peer;
      const name = await ctx.ask(`New name for ${peerLabel(p.publicKey, p.name)} (empty: no name)?`, p.name ?? '');
      if (name === undefined) return;
      const r = await ctx.api.call('peer.rename', { key: p.publicKey, name: name.trim() });
      ctx.say(r.name ? `Renamed ${r.was ?? r.key.slice(0, 16)} to ${r.name}.` : `${r.was} has no name now.`, 'good');
      ctx.refresh(['status']);
    },
  },
  {
    key: 'd',
    label: 'remove',
    onRow: true,
    async run(ctx, it) {
      if (!('peer' in it)) return ctx.say('That device is not a peer: nothing to remove.', 'warn');
      const p = it.peer;
      const label = peerLabel(p.publicKey, p.name);
      if (!(await ctx.confirm(`Remove peer ${label}? It can no longer connect, and loses every grant here.`))) return;
      const r = await ctx.api.call('peer.remove', { key: p.publicKey });
      ctx.say(`Removed ${label}${r.closed ? ` (closed ${r.closed} connection${r.closed === 1 ? '' : 's'})` : ''}.`, 'good');
      ctx.refresh(['status']);
    },
  },
  {
    key: 'p',
    label: 'pair over SSH',
    async run(ctx) {
      const pairing = ctx.pairing;
      if (!pairing) return ctx.say('Pairing is not available here: run `bazil pair [user@]host` in a shell.', 'warn');
      const target = (await ctx.ask('Pair over SSH with which machine? ([user@]host[:port], as for ssh; ~/.ssh/config applies)'))?.trim();
      if (!target) return;
      const volume = await ctx.ask('Share a volume with it too? (its name; empty: none)', '');
      if (volume === undefined) return;
      ctx.say(`Connecting to ${target}…`);
      const key = await pairing.hostKey(target);
      if (key.status === 'unknown') {
        const yes = await ctx.confirm(`The authenticity of host '${key.name}' can't be established.\n${key.print}.\nCheck it with the host's owner. Are you sure you want to continue connecting?`);
        if (!yes) return ctx.say(`Host key of ${key.name} not accepted; nothing was done.`, 'warn');
        pairing.trust(key);
      }
      // A changed or revoked key is refused by `bazil pair` itself, in its words.
      ctx.say(`Pairing with ${target} (this takes a few seconds)…`);
      const out = await pairing.pair([...(volume.trim() ? ['--volume', volume.trim()] : []), target]);
      ctx.say('');
      ctx.show({ title: `Paired with ${target}`, lines: () => out.split('\n').map((text) => ({ text })) });
      ctx.refresh(['status']);
    },
  },
];

export const peersPanel: Panel = {
  name: 'Peers',
  view(model, width) {
    const status = model.status.value;
    const peers = status?.peers ?? [];
    const loc = width < 100 ? 16 : 21;
    const rows: Row<Item>[] = peers.map((p) => {
      const seen = lastSeen(model, p);
      const state = p.connected === null ? 'unknown' : p.connected ? 'connected' : 'not connected';
      const tone: Tone | undefined = p.missing.length ? 'warn' : p.connected ? 'good' : 'dim';
      return {
        key: `peer:${p.publicKey}`,
        item: { peer: p } as Item,
        tone,
        text: columns(width, [[peerLabel(p.publicKey, p.name), 16], [state, 13], [p.location ?? '-', loc], [seen ? ago(seen) : '-', 10], [grantsHere(p).join(', ') || 'nothing', 0]]),
      };
    });
    const known = new Set(peers.map((p) => p.publicKey));
    for (const d of model.nearby.value ?? []) {
      if (d.peer && known.has(d.peer.key)) continue;
      rows.push({
        key: `nearby:${d.fingerprint}`,
        item: { nearby: d },
        tone: 'accent',
        text: columns(width, [[d.hostname, 16], ['nearby', 13], [d.addresses[0] ?? '-', loc], [ago(d.lastSeen), 10], ['not a peer: invite it (i)', 0]]),
      });
    }
    const top: Line[] = [];
    if (model.nearby.error) top.push({ text: `Nearby devices: cannot list them: ${model.nearby.error}`, tone: 'dim' });
    return {
      top,
      header: columns(width, [['PEER', 16], ['STATE', 13], ['LOCATION', loc], ['LAST SEEN', 10], ['MAY HERE', 0]]),
      rows,
      empty: status ? 'No peers yet: press i to invite another machine, J to join one, or run `bazil pair host` in a shell.' : (model.status.error ?? 'Asking the server…'),
      actions,
    };
  },
};
