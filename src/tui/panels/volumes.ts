/** Panel 1, Volumes: where each is mounted (dead mounts marked), its peers and whether each is in sync, conflicts; mount, unmount, snapshot, sync now. */
import { mkdir } from 'node:fs/promises';
import type { PeerStatus, StatusInfo, VolumeInfo } from '../../engine/control/api.js';
import { isBazilError } from '../../engine/errors.js';
import type { Model } from '../model.js';
import { ago, columns, peerLabel } from '../text.js';
import { typedPath, type Action, type Detail, type Line, type Panel, type Tone } from './panel.js';

/**
 * The peers of a volume, each with where it stands: the ones it syncs from
 * (syncing, in sync, failed, offline), then the ones that may sync it from here.
 */
export function volumePeers(model: Model, status: StatusInfo, volume: string): { peer: PeerStatus; state: string; tone: Tone; at?: number }[] {
  const from = status.peers
    .filter((p) => p.syncs.includes(volume))
    .map((peer) => {
      const last = peer.lastSync.find((s) => s.volume === volume);
      if (model.syncs.has(`${volume}\u0000${peer.publicKey}`)) return { peer, state: 'syncing', tone: 'accent' as Tone, at: last?.at };
      if (last?.error) return { peer, state: 'sync failed', tone: 'bad' as Tone, at: last.at };
      if (peer.connected === false) return { peer, state: 'offline', tone: 'warn' as Tone, at: last?.at };
      if (!last) return { peer, state: 'not synced yet', tone: 'warn' as Tone };
      return { peer, state: 'in sync', tone: 'good' as Tone, at: last.at };
    });
  const to = status.peers
    .filter((p) => p.volumes.includes(volume) && !p.syncs.includes(volume))
    .map((peer) => ({ peer, state: peer.connected === false ? 'offline' : 'syncs from here', tone: (peer.connected === false ? 'warn' : 'dim') as Tone }));
  return [...from, ...to];
}

function whereText(v: VolumeInfo): string {
  const places = [...v.mounts, ...(v.problems ?? []).map((p) => `${p.state === 'dead' ? 'DEAD' : 'NOT MOUNTED'} ${p.dir}`)];
  return places.length ? places.join(', ') : 'not mounted';
}

function volumeDetail(v: VolumeInfo): Detail {
  let snapshots: Line[] = [{ text: '  (asking…)', tone: 'dim' }];
  return {
    title: `Volume ${v.name}`,
    lines(model) {
      const status = model.status.value;
      const now = status?.volumes.find((x) => x.name === v.name) ?? v;
      const lines: Line[] = [{ text: `Sharing key: ${now.sharingKey}` }, { text: 'Mounts:' }];
      for (const m of now.mounts) lines.push({ text: `  ${m}`, tone: 'good' });
      for (const p of now.problems ?? []) {
        lines.push({ text: `  ${p.state === 'dead' ? 'DEAD' : 'not mounted'}: ${p.dir}: ${p.why}`, tone: 'bad' });
        lines.push({ text: `    press u to ${p.state === 'dead' ? 'clear it' : 'forget it'}` });
      }
      if (!now.mounts.length && !now.problems?.length) lines.push({ text: '  none: press m to mount it', tone: 'dim' });
      lines.push({ text: 'Peers:' });
      const peers = status ? volumePeers(model, status, v.name) : [];
      for (const p of peers) {
        const err = p.peer.lastSync.find((s) => s.volume === v.name)?.error;
        lines.push({ text: `  ${peerLabel(p.peer.publicKey, p.peer.name)}: ${p.state}${p.at ? `, last sync ${ago(p.at)}` : ''}${err ? `: ${err}` : ''}`, tone: p.tone });
      }
      if (!peers.length) lines.push({ text: '  none: share it with `bazil pair --volume` or an invite (panel 2)', tone: 'dim' });
      const open = (status?.conflicts ?? []).filter((c) => c.volume === v.name);
      lines.push({ text: `Open conflicts: ${open.length}${open.length ? ' (see panel 3)' : ''}`, tone: open.length ? 'warn' : undefined });
      lines.push({ text: 'Snapshots:' }, ...snapshots);
      return lines;
    },
    actions: [],
    // Snapshots are not in the status: asked once when the view opens.
    load: async (ctx) => {
      try {
        const list = await ctx.api.call('volume.snapshot.list', { volume: v.name });
        snapshots = list.length ? list.map((s) => ({ text: `  ${s.name}  ${new Date(s.createdAt).toISOString().replace(/\.\d+Z$/, 'Z')}` })) : [{ text: '  none: press s to take one', tone: 'dim' }];
      } catch (err) {
        snapshots = [{ text: `  ${(err as Error).message}`, tone: 'bad' }];
      }
      ctx.model.changed();
    },
  };
}

const actions: Action<VolumeInfo>[] = [
  { key: 'return', label: 'details', onRow: true, run: (ctx, v) => ctx.show(volumeDetail(v)) },
  {
    key: 'm',
    label: 'mount',
    onRow: true,
    async run(ctx, v) {
      const answer = await ctx.ask(`Mount ${v.name} on which directory? (made if missing; must be empty)`, `~/${v.name}`);
      if (!answer?.trim()) return;
      const dir = typedPath(answer);
      await mkdir(dir, { recursive: true }).catch((err: Error) => {
        throw new Error(`cannot make ${dir} (${err.message}); choose a directory you may write in`);
      });
      const m = await ctx.api.call('volume.mount', { volume: v.name, dir });
      ctx.say(m.already ? `${v.name} is already mounted on ${m.dir}.` : `Mounted ${v.name} on ${m.dir}.`, 'good');
      ctx.refresh(['status']);
    },
  },
  {
    key: 'u',
    label: 'unmount',
    onRow: true,
    async run(ctx, v) {
      const target = v.mounts[0] ?? v.problems?.[0]?.dir;
      if (!target) return ctx.say(`${v.name} is not mounted.`, 'warn');
      let m;
      try {
        m = await ctx.api.call('volume.unmount', { target, client: process.pid });
      } catch (err) {
        if (!isBazilError(err, 'LOCKED')) throw err;
        if (!(await ctx.confirm(`${err.message}\nUnmount anyway? Those programs then get errors.`))) return;
        m = await ctx.api.call('volume.unmount', { target, force: true, client: process.pid });
      }
      ctx.say(m.dead ? `Cleared the dead mount on ${m.dir}.` : m.forgotten ? `Forgot the mount on ${m.dir}.` : `Unmounted ${v.name} from ${m.dir}.`, 'good');
      ctx.refresh(['status']);
    },
  },
  {
    key: 's',
    label: 'snapshot',
    onRow: true,
    async run(ctx, v) {
      const name = await ctx.ask(`Name of the snapshot of ${v.name}?`, new Date().toISOString().slice(0, 16).replace(':', '').replace('T', '-'));
      if (!name?.trim()) return;
      const s = await ctx.api.call('volume.snapshot', { volume: v.name, name: name.trim() });
      ctx.say(`Took snapshot ${s.name} of ${v.name}${v.mounts[0] ? `: browse it in ${v.mounts[0]}/.snap/${s.name}` : ''}.`, 'good');
    },
  },
  {
    key: 'y',
    label: 'sync now',
    onRow: true,
    async run(ctx, v) {
      const peers = (ctx.model.status.value?.peers ?? []).filter((p) => p.syncs.includes(v.name));
      if (!peers.length) return ctx.say(`${v.name} syncs from no peer here; other machines sync from this one on their own.`, 'warn');
      ctx.say(`Syncing ${v.name} from ${peers.map((p) => peerLabel(p.publicKey, p.name)).join(', ')}…`);
      const done: string[] = [];
      for (const p of peers) {
        const s = await ctx.api.call('volume.sync', { volume: v.name, peer: p.publicKey });
        done.push(`${peerLabel(p.publicKey, p.name)}: ${s.copied} new or changed, ${s.deleted} deleted, ${s.conflicts} conflicts`);
      }
      ctx.say(`Synced ${v.name}: ${done.join('; ')}.`, 'good');
      ctx.refresh(['status', 'conflicts']);
    },
  },
];

export const volumesPanel: Panel = {
  name: 'Volumes',
  view(model, width) {
    const status = model.status.value;
    // Below 100 columns, the mount point keeps room to be read.
    const w = width < 100 ? { name: 12, peers: 18 } : { name: 14, peers: 26 };
    const rows = (status?.volumes ?? []).map((v) => {
      const peers = volumePeers(model, status!, v.name);
      const last = Math.max(0, ...peers.map((p) => p.at ?? 0));
      const conflicts = model.openConflicts(v.name);
      const dead = (v.problems ?? []).length > 0;
      const peerText = peers.length ? peers.map((p) => `${peerLabel(p.peer.publicKey, p.peer.name)} ${p.state}`).join(', ') : '-';
      const tone: Tone | undefined = dead || peers.some((p) => p.tone === 'bad') ? 'bad' : conflicts ? 'warn' : undefined;
      return {
        key: v.name,
        item: v,
        tone,
        text: columns(width, [[v.name, w.name], [whereText(v), 0, 'end'], [peerText, w.peers], [last ? ago(last) : '-', 10], [conflicts ? String(conflicts) : '-', 9]]),
      };
    });
    return {
      header: columns(width, [['VOLUME', w.name], ['MOUNTED ON', 0], ['PEERS', w.peers], ['LAST SYNC', 10], ['CONFLICTS', 9]]),
      rows,
      empty: status ? 'No volumes yet: create one with `bazil volume create NAME`, or connect one from a peer.' : (model.status.error ?? 'Asking the server…'),
      actions,
    };
  },
};
