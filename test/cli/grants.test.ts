/**
 * What a user is told about grants and names across two real servers: a
 * missing storage grant is named (with the command to run over there) by
 * volume connect, volume storage add and status; two volumes that share a
 * name are said to be different; one's own key is refused as a peer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { makeHost } from '../sync/hosts.js';

test('grants missing on the other side are named with the command that gives them; same-named volumes are told apart', { skip: fuseUnavailable() }, async (t) => {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await a.start('-addr=127.0.0.1:0', '--manual-sync');
  await b.start('-addr=127.0.0.1:0', '--manual-sync');
  await a.ok(`dd if=/dev/urandom of=sekrit bs=32 count=1 2>/dev/null && bazil sharing add friends <sekrit && bazil volume create -sharing=friends v`);
  await b.ok(`cp ${a.root}/sekrit . && bazil sharing add friends <sekrit`);
  // a lets b sync v, but not read its store.
  await a.ok(`bazil peer add ${b.key} && bazil peer location set ${b.key} ${b.addr()} && bazil peer volume allow ${b.key} v`);
  await b.ok(`bazil peer add ${a.key} && bazil peer location set ${a.key} ${a.addr()}`);

  const storageHint = new RegExp(`does not let this data dir read its store.*on that machine, run \`bazil peer storage allow ${b.key} local\``);
  const connect = await b.sh(`bazil volume connect -sharing=friends ${a.key} v`);
  assert.equal(connect.code, 0, connect.stderr);
  assert.match(connect.stderr, storageHint);
  const add = await b.sh(`bazil volume storage add -sharing=friends v peerkey:${a.key}`);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stderr, storageHint);
  assert.match(add.stderr, /Next: `bazil volume mount v DIR`/);

  const status = await b.ok('bazil status');
  assert.match(status, new RegExp(`${a.key} at ${a.addr()}, connected; syncs v from it\n    may here: nothing\n`));
  assert.match(status, new RegExp(`it does not let this side read its store \\(volumes that read content from it: v\\); on that machine, \`bazil peer storage allow ${b.key} local\``));
  assert.match(status, new RegExp(`one way: it may not sync v from here; for both ways, \`bazil peer volume allow ${a.key} v\``));
  const json = JSON.parse(await b.ok('bazil status --json')) as { peers: { publicKey: string; connected: boolean; syncs: string[]; missing: string[] }[] };
  assert.deepEqual(json.peers.map((p) => [p.publicKey, p.connected, p.syncs, p.missing.length]), [[a.key, true, ['v'], 2]]);
  const peers = JSON.parse(await b.ok('bazil peer list --json')) as { publicKey: string; connected: boolean }[];
  assert.deepEqual(peers.map((p) => [p.publicKey, p.connected]), [[a.key, true]]);

  // Once granted, nothing to warn about; and v is mounted, so no mount hint either.
  await a.ok(`bazil peer storage allow ${b.key} local`);
  await b.ok('mkdir mnt && bazil volume mount v mnt');
  const again = await b.sh(`bazil volume storage add -sharing=friends v peerkey:${a.key}`);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stderr, '');
  assert.doesNotMatch(await b.ok('bazil status'), /does not let this side/);

  // Two volumes called w, made on each side: different volumes, and said so.
  await a.ok(`bazil volume create -sharing=friends w && bazil peer volume allow ${b.key} w`);
  await b.ok(`bazil volume create -sharing=friends w && bazil peer volume allow ${a.key} w && bazil peer volume allow ${a.key} v`);
  const sameName = new RegExp(`volume w here and volume w on peer ${a.key.slice(0, 16)} are different volumes.*\`bazil volume connect -sharing=friends ${a.key} w w-${a.key.slice(0, 8)}\``);
  const again2 = await b.sh(`bazil volume connect -sharing=friends ${a.key} w`);
  assert.equal(again2.code, 8, again2.stderr);
  assert.match(again2.stderr, sameName);
  const sync = await b.sh(`bazil volume sync w ${a.key}`);
  assert.equal(sync.code, 8, sync.stderr);
  assert.match(sync.stderr, sameName);

  // One's own key is not a peer.
  const own = await b.sh(`bazil volume sync v ${b.key}`);
  assert.equal(own.code, 2, own.stderr);
  assert.match(own.stderr, /is this data dir's own public key/);
  for (const cmd of [`peer location set ${b.key} 127.0.0.1:1`, `peer volume allow ${b.key} v`, `volume storage add -sharing=friends v peerkey:${b.key}`]) {
    const r = await b.sh(`bazil ${cmd}`);
    assert.equal(r.code, 2, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, /is this data dir's own public key/, cmd);
    assert.doesNotMatch(r.stderr, /peer add/, `${cmd}: never advice to add one's own key`);
  }
});
