/**
 * The terminal UI's screens and keys, with ink-testing-library at a fixed
 * size against a fake control API: each panel's frame as text (empty,
 * typical, long names, 1,000 entries with scrolling), and for every action
 * which control method it calls with what.
 */
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, render } from 'ink-testing-library';
import { BazilError } from '../../src/engine/errors.js';
import { App } from '../../src/tui/app.js';
import type { Model } from '../../src/tui/model.js';
import type { HostKey, Pairing } from '../../src/tui/pair.js';
import type { Size } from '../../src/tui/hooks/use-size.js';
import type { ControlApi } from '../../src/engine/control/api.js';
import { conflict, fakeApi, KEY_A, KEY_B, modelWith, peer, status, volume, type Answers } from './fake.js';

afterEach(() => cleanup());

const KEY = { up: '\u001B[A', down: '\u001B[B', enter: '\r', esc: '\u001B', tab: '\t', backspace: '\u007F' };

function show(model: Model, api: ControlApi = fakeApi().api, size: Size = { columns: 100, rows: 30 }, pairing?: Pairing) {
  const refreshed: string[][] = [];
  const r = render(<App model={model} api={api} refresh={(t) => refreshed.push(t ?? [])} size={size} pairing={pairing} />);
  return { ...r, refreshed, frame: () => r.lastFrame() ?? '' };
}

/** Waits until the frame shows text (Ink draws after the key is read, and the model redraws at most every 100 ms). */
async function until(r: { frame(): string }, text: string | RegExp | ((frame: string) => boolean), ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const f = r.frame();
    if (typeof text === 'string' ? f.includes(text) : text instanceof RegExp ? text.test(f) : text(f)) return f;
    if (Date.now() > deadline) assert.fail(`the frame never showed ${text}:\n${f}`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

/** Types keys one at a time, as a person would (Ink reads each chunk as one key). */
async function press(r: { stdin: { write(s: string): void } }, ...keys: string[]): Promise<void> {
  for (const k of keys) {
    r.stdin.write(k);
    await new Promise((res) => setTimeout(res, 20));
  }
}

const typical = () =>
  modelWith(
    status({
      volumes: [volume('photos'), volume('work', { mounts: [], problems: [{ volume: 'work', dir: '/home/me/work', state: 'dead', why: 'its server was killed' }] })],
      peers: [peer(KEY_A, 'white', { lastSync: [{ volume: 'photos', at: Date.now() - 180_000 }] }), peer('c3'.repeat(32), null, { connected: false, syncs: [], volumes: ['work'] })],
      conflicts: [{ volume: 'photos', path: '/notes.txt', peer: KEY_A }],
    }),
    { conflicts: [conflict('/notes.txt')] },
  );

test('every frame fits the width, at 80×24 and at 100×30', async () => {
  for (const size of [{ columns: 80, rows: 24 }, { columns: 100, rows: 30 }]) {
    const r = show(typical(), fakeApi().api, size);
    for (const k of ['1', '2', '3', '4', '5', '?']) {
      await press(r, k);
      const lines = r.frame().split('\n');
      assert.ok(lines.length <= size.rows - 1, `panel ${k}: ${lines.length} lines at ${size.rows} rows`);
      for (const l of lines) assert.ok([...l].length <= size.columns, `panel ${k} at ${size.columns}: "${l}"`);
    }
    cleanup();
  }
});

test('Volumes: empty, then typical (mounts, a dead mount, peers in sync, last sync, conflicts)', async () => {
  const empty = show(modelWith(status()));
  await until(empty, 'No volumes yet: create one with `bazil volume create NAME`');
  cleanup();
  const r = show(typical());
  const f = await until(r, 'photos');
  const lines = f.split('\n');
  assert.match(lines[0], /1 Volumes {2}2 Peers {2}3 Conflicts \(1\) {2}4 Activity {2}5 Storage/);
  assert.match(lines[1], /^VOLUME +MOUNTED ON +PEERS +LAST SYNC +CONFLICTS$/);
  assert.match(lines[2], /^photos +\/home\/me\/photos +white in sync +3 min ago +1$/);
  assert.match(lines[3], /^work +DEAD \/home\/me\/work +c3c3c3c3c3c3c3c3 offline +- +-$/);
  assert.match(lines.at(-1)!, /^server pid 4242 on \[::\]:34211 · 1 conflict +\? keys {2}q quit$/);
});

test('Volumes: long names are cut with …, and 1,000 volumes scroll with the selection', async () => {
  const many = Array.from({ length: 1000 }, (_, i) => volume(`vol-${String(i).padStart(4, '0')}-${'x'.repeat(i === 5 ? 60 : 0)}`, { mounts: [`/mnt/${'deep/'.repeat(i === 5 ? 30 : 1)}v${i}`] }));
  const r = show(modelWith(status({ volumes: many })), fakeApi().api, { columns: 80, rows: 24 });
  let f = await until(r, 'vol-0000');
  assert.match(f, /^vol-0005-xx… /m);
  assert.match(f, /^vol-0005-xx… +…(deep\/)+v5 /m);
  assert.match(f.split('\n')[0], / 1\/1000/);
  await press(r, 'G');
  f = await until(r, '1000/1000');
  assert.match(f, /vol-0999/);
  assert.doesNotMatch(f, /vol-0000/);
  await press(r, 'g', KEY.down, KEY.down, 'j');
  f = await until(r, ' 4/1000');
  await press(r, '/', '7', '7', '7', KEY.enter);
  f = await until(r, /\/777/);
  assert.deepEqual(f.split('\n').filter((l) => l.startsWith('vol-')).map((l) => l.split(' ')[0]), ['vol-0777-']);
  await press(r, KEY.esc);
  await until(r, 'vol-0000');
});

test('Volumes: mount asks where, unmount (forced after a confirmation when busy), snapshot asks a name, sync now', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bazil-tui-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let busy = true;
  const answers: Answers = {
    'volume.mount': (p) => ({ volume: p.volume, dir: p.dir }),
    'volume.unmount': (p) => {
      if (busy && !p.force) throw new BazilError('LOCKED', 'the mount /home/me/photos is in use by: bash (pid 7)');
      return { volume: 'photos', dir: p.target };
    },
    'volume.snapshot': (p) => ({ name: p.name, createdAt: Date.now() }),
    'volume.sync': () => ({ dirs: 3, copied: 2, deleted: 1, conflicts: 0, postponed: 0 }),
  };
  const { api, calls } = fakeApi(answers);
  const r = show(typical(), api);
  await until(r, 'photos');
  await press(r, 'm');
  await until(r, 'Mount photos on which directory?');
  await press(r, ...Array(20).fill(KEY.backspace), ...`${dir}/m`);
  await press(r, KEY.enter);
  await until(r, `Mounted photos on ${dir}/m.`);
  assert.deepEqual(calls.at(-1), ['volume.mount', { volume: 'photos', dir: `${dir}/m` }]);

  await press(r, 'u');
  await until(r, 'Unmount anyway?');
  assert.deepEqual(calls.at(-1), ['volume.unmount', { target: '/home/me/photos', client: process.pid }]);
  await press(r, 'y');
  await until(r, 'Unmounted photos from /home/me/photos.');
  assert.deepEqual(calls.at(-1), ['volume.unmount', { target: '/home/me/photos', force: true, client: process.pid }]);

  await press(r, 's');
  await until(r, 'Name of the snapshot of photos?');
  await press(r, ...Array(20).fill(KEY.backspace), ...'before', KEY.enter);
  await until(r, 'Took snapshot before of photos: browse it in /home/me/photos/.snap/before.');
  assert.deepEqual(calls.at(-1), ['volume.snapshot', { volume: 'photos', name: 'before' }]);

  await press(r, 'y');
  await until(r, 'Synced photos: white: 2 new or changed, 1 deleted, 0 conflicts.');
  assert.deepEqual(calls.at(-1), ['volume.sync', { volume: 'photos', peer: KEY_A }]);

  // esc cancels a question: nothing is called.
  const before = calls.length;
  await press(r, 's');
  await until(r, 'Name of the snapshot');
  await press(r, KEY.esc);
  await until(r, (f) => !f.includes('Name of the snapshot'));
  assert.equal(calls.length, before);
});

test('Volumes: an error from the server is shown in its words (which say what to do next)', async () => {
  const { api } = fakeApi({ 'volume.sync': () => { throw new BazilError('UNAVAILABLE', 'cannot reach peer white at 127.0.0.1:34211; is its server running? start it with `bazil server start` there'); } });
  const r = show(typical(), api, { columns: 80, rows: 24 });
  await until(r, 'photos');
  await press(r, 'y');
  const f = await until(r, 'start it with');
  assert.match(f, /cannot reach peer white at 127\.0\.0\.1:34211; is its server running\?/);
});

test('Peers: rows with state, location, last seen and grants; nearby devices; rename, remove with confirmation', async () => {
  const m = typical();
  m.set('nearby', { value: [{ fingerprint: 'ab12', hostname: 'kitchen-pc', addresses: ['192.168.1.20:34211'], peer: null, lastSeen: Date.now() - 5000 }] });
  const { api, calls } = fakeApi({ 'peer.rename': (p) => ({ key: KEY_A, name: p.name, was: 'white' }), 'peer.remove': () => ({ key: KEY_A, name: 'white', closed: 1 }) });
  const r = show(m, api);
  await press(r, '2');
  const f = await until(r, 'kitchen-pc');
  const lines = f.split('\n');
  assert.match(lines[1], /^PEER +STATE +LOCATION +LAST SEEN +MAY HERE$/);
  assert.match(lines[2], /^white +connected +127\.0\.0\.1:34211 +now +read local store, sync photos$/);
  assert.match(lines[3], /^c3c3c3c3c3c3c3c3 +not connected +127\.0\.0\.1:34211 +- +read local store, sync work$/);
  assert.match(lines[4], /^kitchen-pc +nearby +192\.168\.1\.20:34211 +5 s ago +not a peer: invite it \(i\)$/);

  await press(r, 'r');
  await until(r, 'New name for white');
  await press(r, ...Array(5).fill(KEY.backspace), ...'desk', KEY.enter);
  await until(r, 'Renamed white to desk.');
  assert.deepEqual(calls.at(-1), ['peer.rename', { key: KEY_A, name: 'desk' }]);

  await press(r, 'd');
  await until(r, 'Remove peer white?');
  await press(r, 'n');
  await until(r, (f) => !f.includes('Remove peer'));
  assert.equal(calls.at(-1)![0], 'peer.rename', 'no: nothing removed');
  await press(r, 'd', 'y');
  await until(r, 'Removed white (closed 1 connection).');
  assert.deepEqual(calls.at(-1), ['peer.remove', { key: KEY_A }]);

  await press(r, KEY.enter);
  await until(r, 'Key:        ' + KEY_A);
});

test('Peers: an invite shows its code and waits live for the join; joining shows the words to compare; not-yet servers say so', async () => {
  const m = typical();
  const { api, calls } = fakeApi({
    'invite.cancel': () => ({}),
    'invite.create': (p) => ({ id: 7, code: '7-purple-lamp', longCode: '7-purple-lamp@192.0.2.1:34211', onLan: true, volumes: p.volumes ?? [], expiresAt: Date.now() + 600_000 }),
    'invite.join': () => ({ peer: { key: KEY_A, name: 'white' }, volumes: ['photos'], verification: 'apple tiger seven', did: ['added peer white'] }),
  });
  const r = show(m, api);
  await press(r, '2', 'i');
  await until(r, 'Volumes to share with it');
  await press(r, ...'photos', KEY.enter);
  let f = await until(r, 'bazil join 7-purple-lamp');
  assert.match(f, /bazil join 7-purple-lamp@192\.0\.2\.1:34211/);
  assert.match(f, /Waiting for it to join \(the code expires in (9|10) min\)/);
  assert.deepEqual(calls.at(-1), ['invite.create', { volumes: ['photos'] }]);
  m.apply({ seq: 1, at: Date.now(), event: { type: 'invite.joined', id: 7, peer: KEY_A, name: 'white', verification: 'apple tiger seven' } });
  m.changed();
  f = await until(r, 'white joined.');
  assert.match(f, /same words: apple tiger seven/);
  await press(r, 'c');
  await until(r, 'This invite is over already.');

  // An invite cancelled while it waits.
  await press(r, KEY.esc, 'i', KEY.enter);
  await until(r, 'Waiting for it to join');
  await press(r, 'c');
  await until(r, 'Cancelled invite 7: its code no longer works.');
  assert.deepEqual(calls.at(-1), ['invite.cancel', { id: 7 }]);

  await press(r, KEY.esc, 'J');
  await until(r, 'The code the other machine shows?');
  await press(r, ...'7-purple-lamp', KEY.enter);
  f = await until(r, 'Joined white.');
  assert.match(f, /same words: apple tiger seven/);
  assert.deepEqual(calls.at(-1), ['invite.join', { code: '7-purple-lamp' }]);

  cleanup();
  const old = show(typical());
  await press(old, '2', 'i', KEY.enter);
  await until(old, 'this server cannot do that yet: update bazil');
});

test('Conflicts: listed with path, peer and what happened; both versions side by side; m, t, b resolve at once; a lists resolved ones', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bazil-tui-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const open = [conflict('/notes.txt', { where: join(dir, 'notes.txt') }), conflict('/gone.txt', { localDeleted: true, where: join(dir, 'gone.txt') }), conflict('/x', { peerName: null, peer: KEY_B, where: 'photos:/x' })];
  const m = modelWith(status({ conflicts: open.map((c) => ({ volume: c.volume, path: c.path, peer: c.peer })) }), { conflicts: open });
  const resolved = [{ ...open[0], resolution: 'theirs' }];
  const { api, calls } = fakeApi({
    'conflicts.resolve': (p) => ({ where: p.path, ...(p.choice === 'both' ? { savedAs: `${dir}/notes.conflict-a1a1a1a1.txt` } : {}) }),
    'conflicts.show': () => ({
      mine: { kind: 'file', size: 24, mtime: Date.parse('2026-11-29T09:00:00Z'), text: 'my line one\nmy line two\n' },
      theirs: { kind: 'file', size: 2048, mtime: Date.parse('2026-11-29T08:00:00Z'), text: 'their line one\nmy line two\n' },
    }),
  });
  const r = show(m, api);
  await press(r, '3');
  let f = await until(r, 'changed on both sides');
  const lines = f.split('\n');
  assert.match(lines[1], /^WHERE +PEER +WHAT HAPPENED +FOUND$/);
  assert.ok(lines[2].startsWith(`${dir}/notes.txt `), lines[2]);
  assert.match(lines[2], / +white +changed on both sides +2 min ago$/);
  assert.match(lines[3], /gone\.txt +white +deleted here, changed there/);
  assert.match(lines[4], /^photos:\/x +b2b2b2b2b2b2b2b2 +changed on both sides/);

  // Both versions and their difference before choosing.
  await press(r, KEY.enter);
  f = await until(r, 'their line one');
  assert.deepEqual(calls.at(-1), ['conflicts.show', { path: 'photos:/notes.txt' }]);
  assert.match(f, /Mine \(here\) +│ Theirs \(from white\)/);
  assert.match(f, /file, 24 B +│ file, 2\.0 KiB/);
  assert.match(f, /modified 2026-11-29T09:00:00Z +│ modified 2026-11-29T08:00:00Z/);
  assert.match(f, /\n- my line one +│ \+ their line one\n {2}my line two +│ {3}my line two\n/, 'their text beside mine, the difference marked');
  await press(r, 'b');
  f = await until(r, 'kept both; theirs is at');
  f = await until(r, 'Kept both: yours in place');
  assert.match(f, /Mine \(here\) +│ Theirs \(notes\.conflict-a1a1a1a1\.txt\)/);
  assert.deepEqual(calls.at(-1), ['conflicts.resolve', { path: 'photos:/notes.txt', choice: 'both' }]);
  await press(r, KEY.esc, 'j', 'm');
  await until(r, 'Resolved photos:/gone.txt: kept mine.');
  assert.deepEqual(calls.at(-1), ['conflicts.resolve', { path: 'photos:/gone.txt', choice: 'mine' }]);
  await press(r, 'j', 't');
  await until(r, 'Resolved photos:/x: took theirs.');
  assert.deepEqual(calls.at(-1), ['conflicts.resolve', { path: 'photos:/x', choice: 'theirs' }]);
  assert.ok(r.refreshed.some((x) => x.includes('conflicts')), 'the list is asked again after a resolution');

  m.set('allConflicts', { value: resolved });
  await press(r, 'a');
  f = await until(r, 'resolved: theirs');
  assert.ok(m.showResolved);
});

test('Conflicts: none open says so', async () => {
  const r = show(modelWith(status()));
  await press(r, '3');
  await until(r, 'No open conflicts');
});

test('Activity: in-progress syncs and fetches with a bar and rate, events newest first with peer names, 1,000 of them scrolling', async () => {
  const m = typical();
  const t0 = Date.now() - 2000;
  m.apply({ seq: 1, at: t0, event: { type: 'peer.connected', peer: KEY_A, address: '127.0.0.1:5000' } });
  m.apply({ seq: 2, at: t0, event: { type: 'sync.started', volume: 'photos', peer: KEY_A } });
  m.apply({ seq: 3, at: t0 + 100, event: { type: 'sync.progress', volume: 'photos', peer: KEY_A, counts: { dirs: 4, copied: 120, deleted: 0, conflicts: 0, postponed: 0 } } });
  m.apply({ seq: 4, at: t0, event: { type: 'fetch.progress', volume: 'photos', path: '/big.iso', bytes: 0, total: 100 << 20 } });
  m.apply({ seq: 5, at: t0 + 1000, event: { type: 'fetch.progress', volume: 'photos', path: '/big.iso', bytes: 25 << 20, total: 100 << 20 } });
  m.apply({ seq: 6, at: t0 + 1000, event: { type: 'peer.refused', address: '10.0.0.9:4000', what: 'an unknown key' } });
  m.changed();
  const r = show(m);
  await press(r, '4');
  let f = await until(r, 'syncing photos from white');
  assert.match(f, /syncing photos from white: 4 directories, 120 new or changed, 0 deleted, 0 conflicts/);
  assert.match(f, /fetching photos:\/big\.iso +\[#####\.{15}\] +25% 25\.0 MiB of 100\.0 MiB, 25\.0 MiB\/s/);
  const events = f.split('\n').filter((l) => /^\d\d:\d\d:\d\d/.test(l));
  assert.match(events[0], /peer\.refused +10\.0\.0\.9:4000: an unknown key/);
  assert.match(events.at(-1)!, /peer\.connected +white at 127\.0\.0\.1:5000/);
  assert.match(f.split('\n').at(-1)!, /syncing photos · fetching 1 file 25\.0 MiB\/s/);

  for (let i = 7; i < 1007; i++) m.apply({ seq: i, at: Date.now(), event: { type: 'mount.added', volume: `v${i}`, dir: `/m/${i}` } });
  m.apply({ seq: 1007, at: Date.now(), event: { type: 'sync.finished', volume: 'photos', peer: KEY_A, counts: { dirs: 4, copied: 120, deleted: 0, conflicts: 0, postponed: 0 } } });
  m.changed();
  f = await until(r, '1/1000');
  assert.doesNotMatch(f, /syncing photos/);
  assert.match(f, /sync\.finished +photos from white: 120 new or changed/);
  await press(r, 'G');
  f = await until(r, '1000/1000');
  assert.match(f, /mount\.added +v8 on \/m\/8/);
});

test('Storage: the cache bar, pins with progress, pin, unpin and whereis', async () => {
  const m = typical();
  m.set('cache', { value: { used: 3 * 2 ** 30, budget: 10 * 2 ** 30, minFree: 1 << 30, defaultBudget: true, defaultMinFree: true, diskFree: 50 * 2 ** 30, pinned: 1 << 30, notElsewhere: 5 << 20, evictable: 2 * 2 ** 30, objects: 1000 } });
  m.set('pins', {
    value: [
      { volume: 'photos', path: '/2024', state: 'fetching', files: 40, bytes: 300 << 20, total: 1200 << 20 },
      { volume: 'photos', path: '/docs', state: 'waiting', files: 3, bytes: 0, total: 9000, error: 'no source reachable: bring back peer white' },
    ],
  });
  const { api, calls } = fakeApi({
    'pin.add': (p) => p.paths.map((path) => ({ volume: 'photos', path: path.split(':')[1], state: 'fetching' as const, files: 1, bytes: 0, total: 10 })),
    'pin.remove': () => ({}),
    whereis: () => [{ volume: 'photos', path: '/2024/a.jpg', here: 'part', bytes: 1 << 20, total: 4 << 20, objects: 4, pinned: true, stores: [{ store: `peer:${KEY_A}`, objects: 4, kept: true, seen: Date.now() - 60_000 }], needs: [`peer:${KEY_A}`] }],
  });
  const r = show(m, api);
  await press(r, '5');
  let f = await until(r, 'Cache [');
  assert.match(f, /Cache \[#{11}\.{27}\] 3\.0 GiB of 10\.0 GiB \(30%\)/);
  assert.match(f, /pinned 1\.0 GiB · not yet elsewhere 5\.0 MiB · evictable 2\.0 GiB · disk free 50\.0 GiB/);
  assert.match(f, /photos:\/2024 +fetching +\[###\.{9}\] +25% +300\.0 MiB of 1\.2 GiB, 40 files/);
  assert.match(f, /photos:\/docs +waiting .*no source reachable/);
  assert.match(f.split('\n').at(-1)!, /1 pin fetching/);

  await press(r, KEY.enter);
  f = await until(r, 'Where is photos:/2024');
  assert.match(f, /photos:\/2024\/a\.jpg {2}here in part \(1\.0 MiB of 4\.0 MiB\), pinned/);
  assert.match(f, /peer white keeps it, confirmed 1 min ago/);
  assert.match(f, /to read it all: make one of these available: peer white/);
  assert.deepEqual(calls.at(-1), ['whereis', { paths: ['photos:/2024'] }]);
  await press(r, KEY.esc, 'u');
  await until(r, 'Unpinned photos:/2024');
  assert.deepEqual(calls.at(-1), ['pin.remove', { paths: ['photos:/2024'] }]);
  await press(r, 'p');
  await until(r, 'Keep which file or directory here');
  await press(r, ...'photos:/new', KEY.enter);
  await until(r, 'Pinned photos:/new');
  assert.deepEqual(calls.at(-1), ['pin.add', { paths: ['photos:/new'] }]);
  await press(r, 'w');
  await until(r, 'Where is which file');
  await press(r, KEY.enter);
  await until(r, 'here in part');
});

test('keys: ? lists the global keys and the panel\'s actions; tab cycles panels; a server that is down says how to start it', async () => {
  const r = show(typical());
  await press(r, '?');
  let f = await until(r, 'Keys (Volumes)');
  for (const k of ['mount', 'unmount', 'snapshot', 'sync now', 'details']) assert.match(f, new RegExp(`  \\S+ +${k}$`, 'm'));
  await press(r, '?', KEY.tab, KEY.tab);
  await until(r, 'WHAT HAPPENED');
  cleanup();
  const m = typical();
  m.setLink({ state: 'down', why: 'not running' });
  const d = show(m);
  f = await until(d, 'press S to start it');
  assert.match(f.split('\n').at(-1)!, /^server not running: press S to start it/);
});

test('Peers: pair over SSH asks the machine, shows an unknown host key as a question, and runs `bazil pair` once it is accepted', async () => {
  const did: string[] = [];
  const key = (status: HostKey['status']): HostKey => ({ name: '[127.0.0.1]:2222', print: 'ssh-ed25519 key fingerprint SHA256:abc', status, raw: Buffer.from('k') });
  let status: HostKey['status'] = 'unknown';
  const pairing: Pairing = {
    hostKey: async (typed) => (did.push(`hostKey ${typed}`), key(status)),
    trust: (k) => void did.push(`trust ${k.name}`),
    pair: async (words) => (did.push(`pair ${words.join(' ')}`), 'Here: added peer white.\nPaired with white (a1a1) at 127.0.0.1:34211.'),
  };
  const r = show(typical(), fakeApi().api, { columns: 100, rows: 30 }, pairing);
  await press(r, '2', 'p');
  await until(r, 'Pair over SSH with which machine?');
  await press(r, ...'me@127.0.0.1:2222', KEY.enter);
  await until(r, 'Share a volume with it too?');
  await press(r, ...'photos', KEY.enter);
  await until(r, "The authenticity of host '[127.0.0.1]:2222' can't be established.");
  assert.match(r.frame(), /ssh-ed25519 key fingerprint SHA256:abc\./);
  await press(r, 'n');
  await until(r, 'Host key of [127.0.0.1]:2222 not accepted; nothing was done.');
  assert.deepEqual(did, ['hostKey me@127.0.0.1:2222']);

  await press(r, 'p');
  await until(r, 'Pair over SSH with which machine?');
  await press(r, ...'me@127.0.0.1:2222', KEY.enter, KEY.enter, 'y');
  await until(r, 'Paired with white (a1a1) at 127.0.0.1:34211.');
  assert.deepEqual(did.slice(1), ['hostKey me@127.0.0.1:2222', 'trust [127.0.0.1]:2222', 'pair me@127.0.0.1:2222']);

  status = 'known'; // asked no more
  await press(r, KEY.esc, 'p');
  await until(r, 'Pair over SSH with which machine?');
  await press(r, ...'me@127.0.0.1:2222', KEY.enter, KEY.enter);
  await until(r, 'Paired with white');
  assert.deepEqual(did.slice(4), ['hostKey me@127.0.0.1:2222', 'pair me@127.0.0.1:2222']);
});
