/**
 * `bazil events` against real servers: what mounts, syncs and conflicts emit,
 * resuming with --since after being away (exactly the missed events), a
 * restart told apart by its instance, and a subscriber that never reads
 * while the server goes on serving its mount and its peers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { once } from 'node:events';
import type { SequencedEvent } from '../../src/engine/events.js';
import { controlSocketPath } from '../../src/engine/control/protocol.js';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { BAZIL } from '../helpers.js';
import { eventually, makeHost, shareVolume, type Host } from '../sync/hosts.js';

const skip = fuseUnavailable();

const parse = (out: string) => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as SequencedEvent);
const kept = async (h: Host, since: number, extra = '') => parse(await h.ok(`bazil events --json --since=${since} --kept ${extra}`));

test('mounts emit events; a subscriber that comes back with --since gets exactly what it missed; a restart is told apart', { skip }, async (t) => {
  const h = await makeHost(t, 'ev');
  await h.start('-addr=127.0.0.1:0', '--manual-sync');
  await h.ok('bazil volume create v && mkdir mnt && bazil volume mount v mnt');
  const first = await kept(h, 0);
  assert.deepEqual(first.map((e) => [e.seq, e.event]), [[1, { type: 'mount.added', volume: 'v', dir: h.mnt }]]);

  // Away: three more happen.
  await h.ok('bazil volume unmount mnt && bazil volume mount v mnt && bazil volume unmount mnt');
  const missed = await kept(h, 1);
  assert.deepEqual(missed.map((e) => [e.seq, e.event.type]), [
    [2, 'mount.removed'],
    [3, 'mount.added'],
    [4, 'mount.removed'],
  ]);
  assert.deepEqual(await kept(h, 4), [], 'nothing new');

  // A live subscriber sees the server stop, and ends with it.
  const live = spawn(process.execPath, [BAZIL, `-data-dir=${h.dataDir}`, 'events', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  live.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  live.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = once(live, 'close');
  t.after(() => live.kill('SIGKILL'));
  while (!/events of server instance/.test(err)) await once(live.stderr, 'data');
  const instance = /instance (\S+),/.exec(err)![1];
  await h.ok('bazil server stop');
  assert.deepEqual(await exited, [0, null], err);
  assert.deepEqual(parse(out).map((e) => [e.seq, e.event.type]), [[5, 'server.stopping']]);

  // Another server process numbers its own events: asked with the old instance, it says so.
  await h.start('-addr=127.0.0.1:0', '--manual-sync');
  await h.ok('bazil volume mount v mnt');
  const r = await h.sh(`bazil events --json --since=5 --instance=${instance} --kept`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /some events after 5 are no longer kept, or the server restarted/);
  assert.deepEqual(parse(r.stdout).map((e) => [e.seq, e.event.type]), [[1, 'mount.added']]);
});

test('a sync emits started, progress and finished on each side; a conflict is found and resolved', { skip }, async (t) => {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await shareVolume([a, b], 'v', ['--manual-sync']);
  await a.ok('echo v1 >mnt/f.txt');
  await b.ok(`bazil volume sync v ${a.key}`);
  await b.ok('echo "b edit" >mnt/f.txt');
  await a.ok(`bazil volume sync v ${b.key}`);
  for (const [h, from] of [[b, a], [a, b]] as const) {
    // The last sync from that peer: the one just asked for (the connect's first sync came before it).
    const all = (await kept(h, 0)).filter((e) => e.event.type.startsWith('sync.') && 'peer' in e.event && e.event.peer === from.key);
    const syncs = all.slice(all.map((e) => e.event.type).lastIndexOf('sync.started'));
    const types = syncs.map((e) => e.event.type);
    assert.equal(types[0], 'sync.started', `${h.name}: ${types.join(' ')}`);
    assert.equal(types.at(-1), 'sync.finished', `${h.name}: ${types.join(' ')}`);
    assert.ok(types.includes('sync.progress'), `${h.name}: ${types.join(' ')}`);
    const finished = syncs.at(-1)!.event as Extract<SequencedEvent['event'], { type: 'sync.finished' }>;
    assert.equal(finished.error, undefined);
    assert.equal(finished.counts.copied, 1);
  }
  // Both change it, then b pulls: a conflict on b.
  await a.ok('echo "a again" >mnt/f.txt');
  await b.ok('echo "b again" >mnt/f.txt');
  await b.ok(`bazil volume sync v ${a.key}`);
  const found = (await kept(b, 0)).find((e) => e.event.type === 'conflict.found');
  assert.deepEqual(found?.event, { type: 'conflict.found', volume: 'v', path: '/f.txt', peer: a.key });
  await b.ok('bazil conflicts resolve mnt/f.txt --mine');
  const resolved = (await kept(b, found!.seq)).find((e) => e.event.type === 'conflict.resolved');
  assert.deepEqual(resolved?.event, { type: 'conflict.resolved', volume: 'v', path: '/f.txt', choice: 'mine' });
});

test('a subscriber that never reads does not hold the server up: its mount and its peers are served', { skip }, async (t) => {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await shareVolume([a, b], 'v', ['--manual-sync']);
  // On each server, a subscriber that asks for everything and then never reads.
  for (const h of [a, b]) {
    const s = createConnection(controlSocketPath(h.dataDir));
    await once(s, 'connect');
    s.write(JSON.stringify({ id: 1, method: 'events.subscribe', params: { since: 0 } }) + '\n');
    s.pause();
    s.on('error', () => {});
    t.after(() => s.destroy());
  }
  await a.ok('for i in $(seq 1 50); do echo "file $i" >mnt/f$i.txt; done && mkdir mnt/d && cp mnt/f1.txt mnt/d/');
  await b.ok(`bazil volume sync v ${a.key}`);
  assert.equal(await b.ok('cat mnt/f50.txt mnt/d/f1.txt'), 'file 50\nfile 1\n');
  await b.ok('for i in $(seq 1 20); do bazil volume snapshot v s$i >/dev/null; done && ls mnt/.snap | wc -l');
  await a.ok(`bazil volume sync v ${b.key} && bazil server ping >/dev/null`);
});

test('a mount ended from outside while the server runs: mount.died, what was written is kept, and it mounts again', { skip }, async (t) => {
  const h = await makeHost(t, 'died');
  await h.start('-addr=127.0.0.1:0', '--manual-sync');
  await h.ok('bazil volume create v && mkdir mnt && bazil volume mount v mnt && echo kept >mnt/f');
  await h.ok('umount -l mnt');
  await eventually(async () => (await kept(h, 0)).some((e) => e.event.type === 'mount.died'), 10_000, 'a mount.died event');
  const died = (await kept(h, 0)).find((e) => e.event.type === 'mount.died')!;
  assert.deepEqual(died.event, { type: 'mount.died', volume: 'v', dir: h.mnt });
  assert.match(await h.ok('bazil volume list'), /^v\tsharing=default\tunmounted=/m);
  await h.ok('bazil volume mount v mnt');
  assert.equal(await h.ok('cat mnt/f'), 'kept\n');
});

test('a large read that fetches from a peer shows fetch.progress up to the whole file', { skip }, async (t) => {
  const a = await makeHost(t, 'fa');
  const b = await makeHost(t, 'fb');
  await shareVolume([a, b], 'v', ['--manual-sync']);
  await a.ok('mkdir mnt/d && head -c 6000000 /dev/urandom >mnt/d/big');
  await b.ok(`bazil volume sync v ${a.key} && cat mnt/d/big >/dev/null`);
  const progress = (await kept(b, 0)).filter((e) => e.event.type === 'fetch.progress').map((e) => e.event);
  assert.ok(progress.length > 0, 'some fetch.progress');
  assert.deepEqual(progress.at(-1), { type: 'fetch.progress', volume: 'v', path: '/d/big', bytes: 6_000_000, total: 6_000_000 });
});
