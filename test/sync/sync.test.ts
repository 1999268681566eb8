/**
 * Two or three hosts, each a real server with a real mount, sharing a volume
 * both ways. Changes are made with shell tools in one mount and checked with
 * shell tools in the other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { eventually, makeHost, shareVolume, type Host } from './hosts.js';

const skip = fuseUnavailable();

async function pair(t: Parameters<typeof makeHost>[0], ...serverArgs: string[]): Promise<[Host, Host]> {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await shareVolume([a, b], 'v', serverArgs);
  return [a, b];
}

const sync = (to: Host, from: Host) => to.ok(`bazil volume sync v ${from.key}`);

test('continuous sync: a change on one side shows on the other within seconds, both ways, with no sync command', { skip }, async (t) => {
  const [a, b] = await pair(t);
  await a.ok('echo from a >mnt/one && mkdir -p mnt/d/e && echo deep >mnt/d/e/f');
  await eventually(async () => (await b.ok('cat mnt/one mnt/d/e/f')) === 'from a\ndeep\n', 10_000, 'a -> b');
  await b.ok('echo from b >>mnt/one && rm -r mnt/d');
  await eventually(async () => (await a.ok('cat mnt/one; ls mnt')) === 'from a\nfrom b\none\n', 10_000, 'b -> a');
});

test('subdirectories, deletions, and renames of files and directories', { skip }, async (t) => {
  const [a, b] = await pair(t, '--manual-sync');
  await a.ok('mkdir -p mnt/src/lib mnt/docs && for i in $(seq 1 30); do echo "file $i" >mnt/src/lib/f$i; done && echo readme >mnt/docs/README && head -c 200000 /dev/urandom >mnt/docs/blob');
  await sync(b, a);
  assert.equal(await b.ok('cd mnt && find . | sort | md5sum'), await a.ok('cd mnt && find . | sort | md5sum'));
  assert.equal(await b.ok('cat mnt/src/lib/f17'), 'file 17\n');
  await b.ok('cmp mnt/docs/blob ' + a.mnt + '/docs/blob');

  await a.ok('rm mnt/src/lib/f1 && mv mnt/docs/README mnt/README.md && mv mnt/src mnt/source && rm -r mnt/source/lib/f2*');
  const before = await b.ok(`find ${b.dataDir}/objects -type f | wc -l`);
  await sync(b, a);
  assert.equal(await b.ok('cd mnt && find . | sort'), await a.ok('cd mnt && find . | sort'));
  assert.equal(await b.ok('cat mnt/README.md mnt/source/lib/f30'), 'readme\nfile 30\n');
  await b.ok(`cmp mnt/docs/blob ${a.mnt}/docs/blob`);
  assert.equal(await b.ok(`find ${b.dataDir}/objects -type f | wc -l`), before, 'renames fetch no content');

  // And deletions made on b go back to a.
  await b.ok('rm -r mnt/source && rm mnt/docs/blob');
  await sync(a, b);
  assert.equal(await a.ok('cd mnt && find . | sort'), '.\n./README.md\n./docs\n');
});

test('a file changed on both sides: listed as a conflict, and each resolution syncs', { skip }, async (t) => {
  const [a, b] = await pair(t, '--manual-sync');
  await a.ok('for f in m t both; do echo v1 >mnt/$f.txt; done');
  await sync(b, a);
  await a.ok('for f in m t both; do echo "a edit" >mnt/$f.txt; done');
  await b.ok('for f in m t both; do echo "b edit" >mnt/$f.txt; done');
  assert.match(await sync(b, a), /3 conflicts/);
  assert.equal(await b.ok('cat mnt/m.txt mnt/t.txt mnt/both.txt'), 'b edit\nb edit\nb edit\n', 'the local versions stay in place');
  const list = await b.ok('bazil conflicts list');
  for (const f of ['m', 't', 'both']) assert.match(list, new RegExp(`^${b.mnt}/${f}\\.txt\\tpeer=${a.key}\\ttheirs=file, 7 bytes`, 'm'));
  assert.match(await b.ok('bazil conflicts list v'), /m\.txt/);

  await b.ok('bazil conflicts resolve mnt/m.txt --mine && bazil conflicts resolve mnt/t.txt --theirs');
  const both = await b.ok('bazil conflicts resolve mnt/both.txt --both');
  const copy = `both.conflict-${a.key.slice(0, 8)}.txt`;
  assert.match(both, new RegExp(copy.replace(/\./g, '\\.')));
  assert.equal(await b.ok('bazil conflicts list'), '');
  assert.match(await b.ok('bazil conflicts list --all'), /resolved=mine[\s\S]*resolved=theirs|resolved=theirs[\s\S]*resolved=mine/);

  await sync(a, b);
  await sync(b, a);
  for (const h of [a, b]) {
    assert.equal(await h.ok(`cat mnt/m.txt mnt/t.txt mnt/both.txt mnt/${copy}`), 'b edit\na edit\nb edit\na edit\n', `${h.name} has the resolutions`);
  }
  assert.equal(await a.ok('bazil conflicts list'), '');
  const bad = await b.sh('bazil conflicts resolve mnt/m.txt --mine');
  assert.equal(bad.code, 3, 'nothing left to resolve there');
  const none = await b.sh('bazil conflicts resolve mnt/m.txt');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--mine, --theirs or --both/);
});

test('conflicts show: both versions with their text, theirs fetched from the peer', { skip }, async (t) => {
  const [a, b] = await pair(t, '--manual-sync');
  // Past 16 KiB, content is not inline: their version's text comes from a's store.
  await a.ok('seq 1 5000 >mnt/long.txt && printf "\\x00binary" >mnt/bin');
  await sync(b, a);
  await a.ok('seq 2 5000 >mnt/long.txt && echo a >>mnt/bin');
  await b.ok('seq 1 4999 >mnt/long.txt && echo b >>mnt/bin');
  assert.match(await sync(b, a), /2 conflicts/);
  const shown = JSON.parse(await b.ok('bazil conflicts show --json mnt/long.txt'));
  assert.equal(shown.mine.text, await b.ok('cat mnt/long.txt'));
  assert.equal(shown.theirs.text, await a.ok('cat mnt/long.txt'));
  assert.equal(shown.theirs.kind, 'file');
  const words = await b.ok('bazil conflicts show mnt/bin');
  assert.match(words, /^Mine \(here\): file, .*\(no text shown: binary\)$/m);
  assert.match(words, /^Next: bazil conflicts resolve mnt\/bin --mine\|--theirs\|--both$/m);
  const none = await b.sh('bazil conflicts show mnt/nothing-here');
  assert.equal(none.code, 3);
  assert.match(none.stderr, /no open conflict at \/nothing-here/);
});

test('delete versus edit: the edit is kept on both sides and the conflict is listed', { skip }, async (t) => {
  const [a, b] = await pair(t, '--manual-sync');
  await a.ok('echo v1 >mnt/f && mkdir mnt/d && echo v1 >mnt/d/g');
  await sync(b, a);
  await a.ok('rm mnt/f && rm -r mnt/d');
  await b.ok('echo "edited on b" >mnt/f && echo "edited on b" >mnt/d/g');
  await sync(b, a);
  assert.equal(await b.ok('cat mnt/f mnt/d/g'), 'edited on b\nedited on b\n');
  assert.match(await b.ok('bazil conflicts list'), /\/f\tpeer=.*\ttheirs=deleted/);
  await sync(a, b);
  assert.equal(await a.ok('cat mnt/f mnt/d/g'), 'edited on b\nedited on b\n', 'restored where it was deleted');
  assert.match(await a.ok('bazil conflicts list'), /deleted here, restored from theirs/);
  // a meant it: delete again; b takes the deletion.
  await a.ok('bazil conflicts resolve mnt/f --mine && bazil conflicts resolve mnt/d/g --theirs');
  await b.ok('bazil conflicts resolve mnt/f --theirs && bazil conflicts resolve mnt/d/g --mine');
  await sync(b, a);
  await sync(a, b);
  assert.equal(await a.ok('ls mnt; cat mnt/d/g'), 'd\nedited on b\n');
  assert.equal(await b.ok('ls mnt; cat mnt/d/g'), 'd\nedited on b\n');
});

test('a file open while a sync lands keeps its content for the reader; the change applies at the last close', { skip }, async (t) => {
  const [a, b] = await pair(t, '--manual-sync');
  await a.ok('echo "version 1" >mnt/f');
  await sync(b, a);
  await a.ok('echo "version 2" >mnt/f');
  // A reader on b holds f open across the sync, then reads through its descriptor.
  const reader = b.sh('exec 3<mnt/f; touch opened; while [ ! -e synced ]; do sleep 0.05; done; cat <&3 >seen; sleep 0.5');
  await eventually(async () => (await b.sh('test -e opened')).code === 0, 5000, 'the reader to open f');
  assert.match(await sync(b, a), /1 waiting for open files to close/);
  assert.equal(await b.ok('cat mnt/f'), 'version 1\n', 'not changed while open');
  await b.ok('touch synced');
  assert.equal((await reader).code, 0);
  assert.equal(await b.ok('cat seen'), 'version 1\n', 'the reader read what it opened');
  await eventually(async () => (await b.ok('cat mnt/f')) === 'version 2\n', 10_000, 'the change after the last close');
});

test('three peers in a chain, a -> b -> c, converge both ways', { skip }, async (t) => {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  const c = await makeHost(t, 'c');
  await shareVolume([a, b], 'v', ['--manual-sync']);
  // c knows only b.
  await c.start('-addr=127.0.0.1:0', '--manual-sync');
  await c.ok(`cp ${a.root}/sekrit . && bazil sharing add friends <sekrit`);
  await c.ok(`bazil peer add ${b.key} && bazil peer location set ${b.key} ${b.addr()} && bazil peer storage allow ${b.key} local`);
  await b.ok(`bazil peer add ${c.key} && bazil peer location set ${c.key} ${c.addr()} && bazil peer volume allow ${c.key} v && bazil peer storage allow ${c.key} local`);
  await a.ok('mkdir mnt/x && echo one >mnt/x/1 && head -c 100000 /dev/urandom >mnt/x/big');
  await sync(b, a);
  await c.ok(`bazil volume connect -sharing=friends ${b.key} v && bazil volume storage add -sharing=friends v peerkey:${b.key} && mkdir mnt && bazil volume mount v mnt`);
  await sync(c, b);
  assert.equal(await c.ok('cat mnt/x/1'), 'one\n');
  await c.ok(`cmp mnt/x/big ${a.mnt}/x/big`); // b never read it: b fetches it from a for c

  await c.ok('echo "changed on c" >mnt/x/1 && echo two >mnt/x/2');
  await b.ok(`bazil volume storage add -sharing=friends v peerkey:${c.key} && bazil peer volume allow ${c.key} v`);
  await c.ok(`bazil peer volume allow ${b.key} v`);
  await sync(b, c);
  await sync(a, b);
  for (const h of [a, b, c]) assert.equal(await h.ok('cat mnt/x/1 mnt/x/2'), 'changed on c\ntwo\n', h.name);
  for (const h of [a, b, c]) assert.equal(await h.ok('bazil conflicts list'), '');
});

test('what a sync changes shows at once, even where the kernel had just read the old version', { skip }, async (t) => {
  const [a, b] = await pair(t, '--manual-sync');
  await a.ok('echo short >mnt/f && echo gone >mnt/g');
  await sync(b, a);
  // Read (and stat) both on b, so the kernel holds their pages, sizes and names.
  assert.equal(await b.ok('cat mnt/f mnt/g && stat -c %s mnt/f >/dev/null'), 'short\ngone\n');
  await a.ok('echo "a much longer line than before" >mnt/f && rm mnt/g && echo new >mnt/h');
  await sync(b, a);
  assert.equal(await b.ok('cat mnt/f; stat -c %s mnt/f; ls mnt'), 'a much longer line than before\n31\nf\nh\n');
  assert.notEqual((await b.sh('cat mnt/g')).code, 0);
});
