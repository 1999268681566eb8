/**
 * LAN discovery between real servers in three network namespaces on one
 * segment (real multicast), each `bazil server run` started with nsenter and
 * discovery on: white and black know each other, stranger knows no one.
 * Each lists the others in `bazil peer nearby`; black moving to a new address
 * becomes white's location for it only after a handshake there proved its
 * key (event peer.location); the stranger is listed and gets nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import test, { type TestContext } from 'node:test';
import type { NearbyDevice, PeerInfo, SequencedEvent } from '../../src/engine/control/api.js';
import { keyFingerprint } from '../../src/bootstrap/mdns.js';
import { MAX_NEARBY, MAX_STRANGER_EVENTS_PER_MINUTE } from '../../src/server/discovery.js';
import { startServer } from '../helpers.js';
import { makeLan, type Netns } from '../helpers/netns.js';
import { eventually, makeHost, type Host } from '../sync/hosts.js';
import { fixture } from './fixture-process.js';

/** Every namespace has its own ports: each server listens on the default one there. */
const PORT = 34211;
const DISCOVERY_ON = { BAZIL_DISCOVERY: '1' };

async function run(t: TestContext, h: Host, ns: Netns): Promise<void> {
  h.server = await startServer(t, h.dataDir, [`-addr=0.0.0.0:${PORT}`], { prefix: ns.prefix, env: DISCOVERY_ON });
}

const nearby = async (h: Host) => JSON.parse(await h.ok('bazil peer nearby --json')) as NearbyDevice[];
const fp = (h: Host) => keyFingerprint(Buffer.from(h.key, 'hex'));
const seenBy = async (h: Host, other: Host) => (await nearby(h)).find((d) => d.fingerprint === fp(other));

test('servers in namespaces see each other; a known peer that moves is followed once its key is proven; a stranger gets nothing', async (t) => {
  const lan = await makeLan(t, 3);
  if ('skip' in lan) return t.skip(lan.skip);
  const [wNs, bNs, sNs] = lan.namespaces;
  const [white, black, stranger] = await Promise.all(['white', 'black', 'stranger'].map((name) => makeHost(t, name)));
  await white.ok(`bazil peer add ${black.key} black && bazil peer location set black ${bNs.address}:${PORT} && bazil volume create v && bazil peer volume allow black v`);
  await black.ok(
    `bazil peer add ${white.key} white && dd if=/dev/urandom of=sekrit bs=32 count=1 2>/dev/null && bazil sharing add friends <sekrit && ` +
      'bazil volume create -sharing=friends bv && bazil peer volume allow white bv',
  );
  await white.ok(`bazil sharing add friends <${black.root}/sekrit`);
  await Promise.all([run(t, white, wNs), run(t, black, bNs), run(t, stranger, sNs)]);

  // Each sees the two others; white proves black's key (a known peer) and nothing else.
  await eventually(async () => {
    const b = await seenBy(white, black);
    const s = await seenBy(white, stranger);
    assert.deepEqual(b && { addresses: b.addresses, peer: b.peer }, { addresses: [`${bNs.address}:${PORT}`], peer: { key: black.key, name: 'black' } });
    assert.deepEqual(s && { addresses: s.addresses, peer: s.peer }, { addresses: [`${sNs.address}:${PORT}`], peer: null });
    assert.equal((await nearby(white)).length, 2);
  }, 15_000, 'white sees black (proven) and the stranger');
  await eventually(async () => {
    assert.equal((await seenBy(black, white))?.peer?.name, 'white');
    assert.deepEqual((await nearby(stranger)).map((d) => d.peer).sort(), [null, null]);
    assert.equal((await nearby(stranger)).length, 2);
  }, 15_000, 'black and the stranger see the others');
  const line = await white.ok('bazil peer nearby');
  assert.match(line, new RegExp(`^${fp(black)}\thost=\\S+\taddresses=${bNs.address}:${PORT}\tpeer=black\tseen=\\d+s ago$`, 'm'));
  assert.match(line, new RegExp(`^${fp(stranger)}\thost=\\S+\taddresses=${sNs.address}:${PORT}\tpeer=-\tseen=\\d+s ago$`, 'm'));

  // Black moves: stopped (it says goodbye), its address changed, started again.
  await black.ok('bazil server stop');
  assert.deepEqual(await black.server!.exited, { code: 0, signal: null });
  // Its goodbye: white drops it at once (unheard, it would stay listed for 2 minutes).
  await eventually(async () => assert.equal(await seenBy(white, black), undefined), 10_000, 'white drops black');
  const was = `${bNs.address}:${PORT}`;
  await bNs.moveTo(12);
  await run(t, black, bNs);
  const now = `${bNs.address}:${PORT}`;
  await eventually(async () => {
    const peers = JSON.parse(await white.ok('bazil peer list --json')) as PeerInfo[];
    assert.equal(peers.find((p) => p.name === 'black')?.location, now);
  }, 15_000, "white follows black to its new address");
  const b = await seenBy(white, black);
  assert.deepEqual(b && { addresses: b.addresses, peer: b.peer?.name }, { addresses: [now], peer: 'black' });
  const events = (await white.ok('bazil events --since=0 --kept --json')).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as SequencedEvent).event);
  assert.deepEqual(events.filter((e) => e.type === 'peer.location'), [{ type: 'peer.location', peer: black.key, location: now, was }]);
  assert.ok(events.some((e) => e.type === 'peer.nearby' && e.fingerprint === fp(stranger) && e.peer === undefined));
  // And white reaches black there: it syncs a volume from it.
  await white.ok('bazil volume connect -sharing=friends black bv && bazil volume sync bv black');

  // The stranger tries to use white: refused at the handshake; white made no row for it.
  await stranger.ok(`bazil peer add ${white.key} white && bazil peer location set white ${wNs.address}:${PORT}`);
  const tried = await stranger.sh('bazil volume connect white v');
  assert.notEqual(tried.code, 0, tried.stdout);
  const whitePeers = JSON.parse(await white.ok('bazil peer list --json')) as PeerInfo[];
  assert.deepEqual(whitePeers.map((p) => p.name), ['black']);
  assert.equal((await seenBy(white, stranger))?.peer, null);
});

test('a flood of announcements: the nearby table stays bounded, a peer claimed at a false address is dialed a few times only', async (t) => {
  const lan = await makeLan(t);
  if ('skip' in lan) return t.skip(lan.skip);
  const [wNs, floodNs] = lan.namespaces;
  const white = await makeHost(t, 'white');
  const ghost = randomBytes(32).toString('hex'); // a known peer whose server is not there: the flood claims to be it
  await white.ok(`bazil peer add ${ghost} ghost`);
  await run(t, white, wNs);
  const started = Date.now();
  const flood = fixture(t, floodNs, ['flood', ghost, String(PORT), String(3 * MAX_NEARBY)]);
  await flood.waitFor((l) => l.ready, 'the flood');
  await eventually(async () => {
    const seen = await nearby(white);
    assert.ok(seen.length <= MAX_NEARBY, `${seen.length} devices listed`);
    assert.equal(seen.length, MAX_NEARBY);
    assert.match(white.server!.stderr(), /peer ghost .* was announced on the LAN at .*, but did not prove its key there/);
  }, 20_000, 'the table full, and a proof tried');
  flood.end();
  const { dials } = await flood.waitFor((l) => (typeof l.dials === 'number' ? (l as { dials: number }) : undefined), 'the count of dials');
  // A burst of 3 proofs, then one per 20 s; each dials the one address announced.
  assert.ok(dials >= 1 && dials <= 3 + Math.floor((Date.now() - started) / 20_000), `${dials} dials`);
  const peers = JSON.parse(await white.ok('bazil peer list --json')) as PeerInfo[];
  assert.deepEqual(peers.map((p) => [p.name, p.location]), [['ghost', null]]);
  // Events about strangers are rate-limited per minute (of the clock): the flood does not push other events out.
  const events = (await white.ok('bazil events --since=0 --kept --json')).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as SequencedEvent).event);
  const minutes = Math.floor(Date.now() / 60_000) - Math.floor(started / 60_000) + 1;
  const told = events.filter((e) => e.type === 'peer.nearby').length;
  assert.ok(told >= 1 && told <= minutes * MAX_STRANGER_EVENTS_PER_MINUTE, `${told} peer.nearby events`);
});

test('servers the test helpers start have no mDNS socket (tests never multicast on the real network)', { skip: spawnSync('ss', ['-V']).error && 'no `ss` command' }, async (t) => {
  const h = await makeHost(t, 'quiet');
  h.server = await startServer(t, h.dataDir);
  const sockets = spawnSync('ss', ['-uanp'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(`pid=${h.server!.pid},`));
  assert.deepEqual(sockets, []);
  assert.match((await h.sh('bazil peer nearby')).stderr, /LAN discovery is off on this server/);
});
