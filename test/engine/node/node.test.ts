/**
 * Two engine nodes in one process, over loopback TCP, without a server
 * process or a mount: the node composes volumes, peers and sync by itself,
 * connects a volume after checking its sharing key, and tells what happens
 * as events (sync.started / progress / finished, conflict.found,
 * peer.connected / disconnected / refused).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Cache } from '../../../src/engine/cache/cache.js';
import { createDataDir, DataDir } from '../../../src/engine/datadir.js';
import { isBazilError } from '../../../src/engine/errors.js';
import { EventLog, type BazilEvent } from '../../../src/engine/events.js';
import { connectVolume } from '../../../src/engine/node/connect.js';
import { EngineNode } from '../../../src/engine/node/node.js';
import { dialPeer } from '../../../src/engine/peer/connection.js';
import { identityFromSeed } from '../../../src/engine/peer/identity.js';
import { listenPeers } from '../../../src/engine/peer/listener.js';
import { addPeer, allowVolume, setPeerLocation } from '../../../src/engine/peer/peers.js';
import { addSharingKey, sharingKeySecret } from '../../../src/engine/store/sharing.js';
import { listConflicts } from '../../../src/engine/sync/conflicts.js';
import { createVolume } from '../../../src/engine/tree/volumes.js';
import { tempDir } from '../../helpers.js';

interface Host {
  dataDir: DataDir;
  node: EngineNode;
  events: EventLog;
  key: Buffer;
  port: number;
  seen(): BazilEvent[];
}

async function host(t: TestContext, name: string): Promise<Host> {
  const path = join(tempDir(t), name);
  createDataDir(path);
  const dataDir = DataDir.open(path, { write: true });
  const events = new EventLog();
  const cache = await Cache.open({ db: dataDir.db, objects: dataDir.objects(), log: () => {} });
  const node = new EngineNode({ dataDir, events, cache, auto: false, openFiles: { isOpen: () => false, whenClosed: () => {}, manifests: () => [] }, log: () => {} });
  const listener = await listenPeers('127.0.0.1:0', (socket) => node.accept(socket));
  t.after(async () => {
    await node.stop();
    await listener.close();
    cache.close();
    dataDir.close();
  });
  const port = Number(listener.address.split(':').pop());
  return { dataDir, node, events, key: dataDir.publicKey(), port, seen: () => events.after(0).events.map((e) => e.event) };
}

/** Each knows the other; b knows where a is and holds a's default sharing key as "friends"; a grants b volume v. */
async function pair(t: TestContext): Promise<{ a: Host; b: Host }> {
  const a = await host(t, 'a');
  const b = await host(t, 'b');
  addPeer(a.dataDir.db, b.key);
  addPeer(b.dataDir.db, a.key);
  setPeerLocation(b.dataDir.db, a.key, `127.0.0.1:${a.port}`);
  addSharingKey(b.dataDir.db, 'friends', sharingKeySecret(a.dataDir.db, 'default'));
  createVolume(a.dataDir.db, 'v', 'default');
  allowVolume(a.dataDir.db, b.key, 'v');
  return { a, b };
}

const connect = (b: Host, a: Host, sharing: string) =>
  connectVolume({ db: b.dataDir.db, network: b.node.network, volumes: b.node.volumes, scheduler: b.node.scheduler, log: () => {}, note: () => {} }, { peer: a.key, remoteName: 'v', name: 'v', sharing });

test('a volume connected and pulled between two nodes: sync and peer events, with counts', async (t) => {
  const { a, b } = await pair(t);
  const va = a.node.volumes.get('v');
  va.tree.create(va.tree.root, 'hello', 'file', 0o644);
  va.tree.create(va.tree.root, 'sub', 'dir', 0o755);

  await connect(b, a, 'friends'); // starts the first pull in the background
  const vb = b.node.volumes.get('v');
  await b.node.scheduler.pull(vb, a.key); // runs after it
  assert.deepEqual(vb.tree.children(vb.tree.root).map((n) => n.name).sort(), ['hello', 'sub']);

  const hexA = a.key.toString('hex');
  const events = b.seen();
  assert.ok(events.some((e) => e.type === 'peer.connected' && e.peer === hexA));
  assert.ok(events.some((e) => e.type === 'sync.started' && e.volume === 'v' && e.peer === hexA));
  const finished = events.filter((e) => e.type === 'sync.finished');
  assert.deepEqual(
    finished.map((e) => e.type === 'sync.finished' && { copied: e.counts.copied, error: e.error }),
    [
      { copied: 2, error: undefined },
      { copied: 0, error: undefined },
    ],
  );
  assert.ok(a.seen().some((e) => e.type === 'peer.connected' && e.peer === b.key.toString('hex')));
  // Sequence numbers increase without gaps.
  const seqs = b.events.after(0).events.map((e) => e.seq);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1));

  // A node that stops ends its connections: the other hears it.
  await b.node.stop();
  await eventually(() => a.seen().some((e) => e.type === 'peer.disconnected' && e.peer === b.key.toString('hex')));
});

test('concurrent changes to one name: the pull records a conflict and says conflict.found with its path', async (t) => {
  const { a, b } = await pair(t);
  await connect(b, a, 'friends');
  const vb = b.node.volumes.get('v');
  await b.node.scheduler.pull(vb, a.key);
  const va = a.node.volumes.get('v');
  va.tree.create(va.tree.root, 'same', 'file', 0o644);
  vb.tree.create(vb.tree.root, 'same', 'symlink', 0o777, 'elsewhere');
  const stats = await b.node.scheduler.pull(vb, a.key);
  assert.equal(stats.conflicts, 1);
  assert.equal(listConflicts(b.dataDir.db, vb.rowId, false).length, 1);
  const found = b.seen().filter((e) => e.type === 'conflict.found');
  assert.deepEqual(found, [{ type: 'conflict.found', volume: 'v', path: '/same', peer: a.key.toString('hex') }]);
  const finished = b.seen().filter((e) => e.type === 'sync.finished').pop();
  assert.ok(finished && finished.type === 'sync.finished' && finished.counts.conflicts === 1);
});

test('a wrong sharing key: connect refuses before making the volume, and nothing is synced', async (t) => {
  const { a, b } = await pair(t);
  addSharingKey(b.dataDir.db, 'wrong', randomBytes(32));
  await assert.rejects(connect(b, a, 'wrong'), (err) => isBazilError(err, 'UNAUTHORIZED') && /not the key volume v uses/.test((err as Error).message));
  assert.throws(() => b.node.volumes.get('v'), (err) => isBazilError(err, 'NOT_FOUND'));
  assert.equal(b.seen().filter((e) => e.type === 'sync.started').length, 0);
});

test('a failed pull says sync.finished with the error; a refused request and an unknown key say peer.refused', async (t) => {
  const { a, b } = await pair(t);
  await connect(b, a, 'friends');
  const vb = b.node.volumes.get('v');
  await b.node.scheduler.pull(vb, a.key);
  // a no longer grants v: b's next pull is refused there.
  a.dataDir.db.prepare('DELETE FROM peer_volumes').run();
  await assert.rejects(b.node.scheduler.pull(vb, a.key), (err) => isBazilError(err, 'UNAUTHORIZED'));
  const finished = b.seen().filter((e) => e.type === 'sync.finished').pop();
  assert.ok(finished && finished.type === 'sync.finished' && /may not sync that volume/.test(finished.error ?? ''), JSON.stringify(finished));
  assert.ok(a.seen().some((e) => e.type === 'peer.refused' && e.peer === b.key.toString('hex') && /^sync/.test(e.what)));

  // A key a never added: refused at the handshake.
  const stranger = identityFromSeed(randomBytes(32));
  await assert.rejects(dialPeer({ host: '127.0.0.1', port: a.port, identity: stranger, expectKey: a.key, timeoutMs: 5000 }));
  await eventually(() => a.seen().some((e) => e.type === 'peer.refused' && e.peer === stranger.publicKey.toString('hex') && /not a known peer/.test(e.what)));
});

async function eventually(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(ok(), 'not within 5 s');
}
