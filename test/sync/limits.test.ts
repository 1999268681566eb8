/**
 * A real `bazil server run` under attack from peers it knows (added, granted
 * its store) and from strangers, over loopback:
 *  - one peer opens 40 connections and leaves a partial 8 MiB frame in each;
 *  - another asks for 150 objects of 1 MiB and reads none of the answers;
 *  - a stranger opens 300 connections and starts handshakes.
 * The server's peak memory (VmHWM in /proc, against its peak before) stays
 * within a stated bound, its log stays short, and meanwhile a good peer still
 * fetches every object intact and `bazil server ping` answers.
 *
 * Each attacker connects from its own loopback address (127.0.0.2, ...), as it
 * would from its own machine: the server limits handshakes per address.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dialPeer } from '../../src/engine/peer/connection.js';
import { encodeRecord, lengthPrefix, MAX_SEALED } from '../../src/engine/peer/frames.js';
import { MAGIC } from '../../src/engine/peer/handshake.js';
import { makeHost } from './hosts.js';
import { closed, knownIdentity, rawPeer, rawSocket, storeObjects, type RawPeer } from './raw-peer.js';

/** What the attacks may add to the server's peak memory. Without the limits they added over 400 MiB. */
const BOUND_MIB = 150;
const OBJECTS = 16;
const OBJECT_SIZE = 1 << 20;

/** A field of /proc/PID/status, in MiB. */
function statusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `no ${field} in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when everything written on the socket has gone to the kernel (or it closed). */
async function flushed(peer: RawPeer): Promise<void> {
  while (peer.socket.writableLength > 0 && !peer.socket.destroyed) await sleep(20);
}

test("peers cannot make a server's memory grow without bound, and a good peer is still served", { timeout: 60_000 }, async (t) => {
  const h = await makeHost(t, 'victim');
  const objects = await storeObjects(h.dataDir, OBJECTS, OBJECT_SIZE);
  await h.start('-addr=127.0.0.1:0', '--manual-sync');
  const { port, pid } = h.server!;
  const [slow, greedy, good] = [await knownIdentity(h), await knownIdentity(h), await knownIdentity(h)];
  const sockets: RawPeer['socket'][] = [];
  t.after(() => sockets.forEach((s) => s.destroy()));

  const goodConn = await dialPeer({ host: '127.0.0.1', port, identity: good, expectKey: Buffer.from(h.key, 'hex'), timeoutMs: 5000 });
  t.after(() => goodConn.close());
  /** The good peer fetches every object and checks its bytes. */
  const fetchAll = async () => {
    for (const { id, sha256 } of objects) {
      const { body } = await goodConn.call('object.get', { id }, undefined, 20_000);
      assert.equal(createHash('sha256').update(body!).digest('hex'), sha256, `object ${id}`);
    }
  };
  await fetchAll(); // also warms the server up, so the baseline includes what serving costs anyway
  const baseline = statusMiB(pid, 'VmHWM');

  // 40 connections, each with all of an 8 MiB frame but its last byte. One buffer serves every write.
  const almostFrame = Buffer.alloc(MAX_SEALED + 3); // the length prefix (4 bytes) and MAX_SEALED - 1 of the body
  lengthPrefix(MAX_SEALED).copy(almostFrame);
  const slowPeers = (await Promise.allSettled(Array.from({ length: 40 }, () => rawPeer(port, slow, h.key, '127.0.0.2'))))
    .filter((r): r is PromiseFulfilledResult<RawPeer> => r.status === 'fulfilled')
    .map((r) => r.value);
  for (const p of slowPeers) {
    sockets.push(p.socket);
    p.socket.resume();
    p.socket.write(almostFrame);
  }

  // 150 requests for 1 MiB objects over as many connections as it gets, never reading an answer.
  const greedyPeers = (await Promise.allSettled(Array.from({ length: 4 }, () => rawPeer(port, greedy, h.key, '127.0.0.3'))))
    .filter((r): r is PromiseFulfilledResult<RawPeer> => r.status === 'fulfilled')
    .map((r) => r.value);
  assert.ok(greedyPeers.length > 0, 'the greedy peer got a connection');
  for (let i = 0; i < 150; i++) greedyPeers[i % greedyPeers.length].request('object.get', { id: objects[i % OBJECTS].id });
  for (const p of greedyPeers) sockets.push(p.socket);

  // 300 handshakes begun by a stranger.
  const strangers = await Promise.allSettled(
    Array.from({ length: 300 }, async () => {
      const s = await rawSocket(port, '127.0.0.4');
      sockets.push(s);
      s.resume();
      s.write(Buffer.concat([MAGIC, encodeRecord(randomBytes(32))]));
    }),
  );
  assert.ok(strangers.some((r) => r.status === 'fulfilled'), 'the stranger reached the port');

  await Promise.all(slowPeers.map(flushed));
  await sleep(1000); // the server reads what the kernel holds

  // Meanwhile the good peer is served, and so is the control socket.
  await fetchAll();
  await h.ok('bazil server ping');

  const peak = statusMiB(pid, 'VmHWM');
  t.diagnostic(`server peak memory ${baseline.toFixed(0)} MiB before the attacks, ${peak.toFixed(0)} MiB after (bound: +${BOUND_MIB} MiB)`);
  assert.ok(peak - baseline < BOUND_MIB, `the attacks added ${(peak - baseline).toFixed(0)} MiB to the server's peak memory, over the bound of ${BOUND_MIB} MiB`);

  const log = h.server!.stderr();
  const open = slowPeers.filter((p) => !p.socket.closed).length;
  assert.ok(open <= 4, `${open} of the slow peer's connections are still open`);
  assert.match(log, new RegExp(`closed a new connection from peer ${slow.publicKey.toString('hex')} .*the most one peer may have`));
  const strangerLines = log.split('\n').filter((l) => l.includes('127.0.0.4')).length;
  assert.ok(strangerLines <= 10, `${strangerLines} log lines about the stranger's address:\n${log}`);
  assert.doesNotMatch(log, /internal error/);

  // Once the attackers go, all is as before.
  for (const s of sockets) s.destroy();
  await Promise.all(sockets.map(closed));
  await fetchAll();
});
