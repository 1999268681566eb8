/**
 * `bazil server stop` ends the server whatever its peers do: a real server
 * process, stopped by the real CLI while a peer is connected, while a peer is
 * fetching objects, and while peers stall (never reading their answers, or
 * stopping in the middle of a handshake or of a frame).
 *
 * "Finishes" is checked by running the stop under `timeout 20`: the CLI itself
 * would wait 60 s before giving up, so a hang shows as exit 124, not as a slow
 * test.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { dialPeer } from '../../src/engine/peer/connection.js';
import { lengthPrefix } from '../../src/engine/peer/frames.js';
import { MAGIC } from '../../src/engine/peer/handshake.js';
import { makeHost, type Host } from '../sync/hosts.js';
import { closed, knownIdentity, rawPeer, rawSocket, storeObjects } from '../sync/raw-peer.js';

/** Stops host's server through the CLI and checks it is gone for good: exit 0, logged, the data dir free. */
async function stops(host: Host): Promise<void> {
  const r = await host.sh('timeout 20 bazil server stop');
  assert.equal(r.code, 0, `bazil server stop did not finish (exit ${r.code}):\n${r.stdout}${r.stderr}\nthe server's log:\n${host.server!.stderr()}`);
  assert.match(r.stdout, /Stopped the bazil server/);
  const exit = await host.server!.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, host.server!.stderr());
  assert.match(host.server!.stderr(), /^bazil: stopped$/m);
  assert.equal((await host.sh('bazil server ping')).code, 3, 'no server answers any more');
}

async function started(t: TestContext, name: string): Promise<Host> {
  const h = await makeHost(t, name);
  await h.start('-addr=127.0.0.1:0', '--manual-sync');
  return h;
}

test('server stop finishes while peers are connected, fetching or stalled', { timeout: 120_000, concurrency: true }, async (t) => {
  await t.test('with a connected peer (the README setup), on both sides', async (t) => {
    const white = await started(t, 'white');
    const black = await started(t, 'black');
    await white.ok(`dd if=/dev/urandom of=sekrit bs=32 count=1 2>/dev/null && bazil sharing add friends <sekrit && bazil volume create -sharing=friends v`);
    await white.ok(`bazil peer add ${black.key} && bazil peer storage allow ${black.key} local && bazil peer volume allow ${black.key} v`);
    await black.ok(`cp ${white.root}/sekrit . && bazil sharing add friends <sekrit && bazil peer add ${white.key} && bazil peer location set ${white.key} ${white.addr()}`);
    await black.ok(`bazil volume connect -sharing=friends ${white.key} v`);
    // black's server keeps the connection it dialed; white holds the accepted end.
    await stops(white);
    await stops(black);
  });

  await t.test('with a peer in the middle of fetching objects', async (t) => {
    const h = await makeHost(t, 'busy');
    const ids = (await storeObjects(h.dataDir, 8, 1 << 20)).map((o) => o.id);
    await h.start('-addr=127.0.0.1:0', '--manual-sync');
    const identity = await knownIdentity(h);
    const conn = await dialPeer({ host: '127.0.0.1', port: h.server!.port, identity, expectKey: Buffer.from(h.key, 'hex'), timeoutMs: 5000 });
    t.after(() => conn.close());
    let fetched = 0;
    let failure: unknown;
    const fetching = (async () => {
      try {
        for (let i = 0; ; i++) {
          await Promise.all([0, 1, 2, 3].map((k) => conn.call('object.get', { id: ids[(i + k) % ids.length] }, undefined, 30_000)));
          fetched += 4;
        }
      } catch (err) {
        failure = err;
      }
    })();
    while (fetched < 8) await new Promise((r) => setTimeout(r, 20));
    await stops(h);
    await fetching;
    assert.match(String(failure), /closed/, 'the fetches ended because the server closed the connection');
  });

  await t.test('with peers that stall: answers never read, a handshake or a frame left half done', async (t) => {
    const h = await makeHost(t, 'stalled');
    const ids = (await storeObjects(h.dataDir, 4, 1 << 20)).map((o) => o.id);
    await h.start('-addr=127.0.0.1:0', '--manual-sync');
    const port = h.server!.port;
    const identity = await knownIdentity(h);
    // Asks for 64 MiB of answers and reads none of them: the server's writes back up.
    const reader = await rawPeer(port, identity, h.key);
    for (let i = 0; i < 64; i++) reader.request('object.get', { id: ids[i % ids.length] });
    // Proves its key, then sends the first bytes of a 4 MiB frame and nothing more.
    const halfFrame = await rawPeer(port, identity, h.key);
    halfFrame.socket.write(Buffer.concat([lengthPrefix(4 << 20), Buffer.alloc(1000)]));
    // Sends the magic and half of its first handshake message.
    const halfHandshake = await rawSocket(port);
    halfHandshake.write(Buffer.concat([MAGIC, lengthPrefix(32), Buffer.alloc(10)]));
    t.after(() => {
      for (const s of [reader.socket, halfFrame.socket, halfHandshake]) s.destroy();
    });
    await new Promise((r) => setTimeout(r, 300)); // let the server take them all in
    await stops(h);
    await Promise.all([closed(reader.socket.resume()), closed(halfFrame.socket.resume()), closed(halfHandshake.resume())]);
  });
});
