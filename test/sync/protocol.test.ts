/**
 * The sync protocol against a peer that holds grants and is hostile: a real
 * `bazil server run` (the victim) and, in this process, a peer of its own
 * making (the fake) that speaks the protocol after a real handshake: it asks
 * the victim raw requests, and answers the victim's pulls with listings of
 * its choosing. Each case checks the refusal (what the asker is told, and the
 * victim's one log line naming the peer), and that the victim goes on serving.
 * BAZIL_HEAVY=1 also snapshots the deep chain (a store write per directory).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { acceptPeer, dialPeer, type PeerConnection, type PeerHandler } from '../../src/engine/peer/connection.js';
import { identityFromSeed } from '../../src/engine/peer/identity.js';
import { isBazilError } from '../../src/engine/errors.js';
import { encodeNode } from '../../src/engine/store/manifest.js';
import type { WireEntry, WirePage } from '../../src/engine/sync/wire.js';
import type { DirHandle } from '../../src/engine/sync/validate.js';
import { sharingKeyCheck, volumeProof } from '../../src/engine/tree/volumes.js';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { eventually, makeHost } from './hosts.js';

const skip = fuseUnavailable();
const HEAVY = process.env.BAZIL_HEAVY === '1';
const CORRUPT = 6;
const NAME_TOO_LONG = 9;

type Listing = (dir: DirHandle | null, after: string | null) => WirePage;

test('a granted but hostile peer reads nothing without the sharing key, learns no names, and cannot break the victim with what it sends', { skip, timeout: 300_000 }, async (t) => {
  // ---- the fake peer: a listener of our own, answering the victim's requests ----
  const fake = identityFromSeed(randomBytes(32));
  const fakeHex = fake.publicKey.toString('hex');
  const hvId = randomBytes(32); // the volume the fake "has"
  let secret = Buffer.alloc(0);
  let listing: Listing = () => page(1, []);
  let listed = 0;
  let snapshots: unknown = { snapshots: [], deleted: [] };
  const answer: PeerHandler = async ({ method, params }) => {
    if (method === 'sync.snapshots') return { result: snapshots };
    if (method === 'volume.info') return { result: { volumeId: hvId.toString('hex'), keyCheck: sharingKeyCheck(secret, hvId).toString('hex') } };
    if (method === 'sync.list') {
      listed++;
      return { result: listing((params.dir as DirHandle) ?? null, (params.after as string) ?? null) };
    }
    return { result: {} };
  };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    acceptPeer(socket, { identity: fake, isKnown: () => true, handle: answer, log: () => {} });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const fakePort = (server.address() as { port: number }).port;

  // ---- the victim: volume v (granted to the fake) and volume hidden (not) ----
  // Its extra mounts go before its temp dir does (hooks run in the order registered).
  const extraMounts: string[] = [];
  t.after(() => void extraMounts.forEach((m) => spawnSync('fusermount', ['-uz', m])));
  const victim = await makeHost(t, 'victim');
  extraMounts.push(join(victim.root, 'mnt-hidden'), join(victim.root, 'mnt-hv'));
  await victim.start('-addr=127.0.0.1:0', '--manual-sync');
  await victim.ok(
    'dd if=/dev/urandom of=sekrit bs=32 count=1 2>/dev/null && bazil sharing add friends <sekrit && ' +
      'bazil volume create -sharing=friends v && bazil volume create -sharing=friends hidden && ' +
      'mkdir mnt mnt-hidden && bazil volume mount v mnt && bazil volume mount hidden mnt-hidden && ' +
      'echo hello >mnt/hello && mkdir mnt/sub && mkdir mnt-hidden/secretdir',
  );
  secret = readFileSync(join(victim.root, 'sekrit'));
  await victim.ok(`bazil peer add ${fakeHex} && bazil peer location set ${fakeHex} 127.0.0.1:${fakePort} && bazil peer volume allow ${fakeHex} v`);
  const victimKey = Buffer.from(victim.key, 'hex');
  const db = new Database(join(victim.dataDir, 'bazil.db'), { readonly: true });
  t.after(() => db.close());
  const hiddenId = db.prepare("SELECT volume_id FROM volumes WHERE name = 'hidden'").pluck().get() as Buffer;
  const secretDir = db.prepare("SELECT ino, parent FROM nodes WHERE name = CAST('secretdir' AS BLOB)").get() as { ino: number; parent: number };

  // Like a real server, the fake answers on the connections it dials too: the victim may call it over any of them.
  const dial = () => dialPeer({ host: '127.0.0.1', port: victim.server!.port, identity: fake, expectKey: victimKey, handle: answer, timeoutMs: 5000 });
  const conn = await dial();
  t.after(() => conn.close());
  const vId = Buffer.from(((await conn.call<{ volumeId: string }>('volume.info', { name: 'v' }, undefined, 5000)).result.volumeId), 'hex');
  const proof = (c: PeerConnection, key: Buffer = secret, volume: Buffer = vId, replier: Buffer = victimKey) => volumeProof(key, c.binding, volume, replier).toString('hex');
  const refusedWith = async (call: Promise<unknown>, code: string): Promise<string> => {
    let message = '';
    await assert.rejects(call, (err) => {
      message = (err as Error).message;
      return isBazilError(err, code as never);
    });
    return message;
  };
  const logged = async (re: RegExp, from: number) => {
    try {
      await eventually(() => re.test(victim.server!.stderr().slice(from)), 5000);
    } catch {
      assert.fail(`the victim did not log ${re}; its log:\n${victim.server!.stderr().slice(from)}`);
    }
  };
  const short = fakeHex.slice(0, 16);

  await t.test('issue 9 item 2: a listing needs proof of the sharing key on this connection', async () => {
    const mark = victim.server!.stderr().length;
    const other = await dial();
    try {
      const bad = {
        'no proof': {},
        'a proof under another key': { proof: proof(conn, randomBytes(32)) },
        "another connection's proof": { proof: proof(other) },
        'a proof for the other direction': { proof: proof(conn, secret, vId, fake.publicKey) },
        'a proof for another volume': { proof: proof(conn, secret, hiddenId) },
      };
      for (const [what, extra] of Object.entries(bad)) {
        const message = await refusedWith(conn.call('sync.list', { volume: vId.toString('hex'), ...extra }, undefined, 5000), 'UNAUTHORIZED');
        assert.match(message, /did not prove it holds the sharing key/, what);
        await refusedWith(conn.call('sync.changed', { volume: vId.toString('hex'), ...extra }, undefined, 5000), 'UNAUTHORIZED');
      }
      await logged(new RegExp(`refused sync volume v to peer ${short}: it did not prove it holds the volume's sharing key`), mark);
      // With the proof, the listing comes: names only the key's holders may read.
      const { result } = await conn.call<WirePage>('sync.list', { volume: vId.toString('hex'), proof: proof(conn) }, undefined, 5000);
      assert.deepEqual(result.entries.map((e) => e.name), ['hello', 'sub']);
      assert.equal(Buffer.from(result.entries[0].data!, 'base64').toString(), 'hello\n');
      // ... and its own connection's proof on the other connection is refused there too.
      await refusedWith(other.call('sync.list', { volume: vId.toString('hex'), proof: proof(conn) }, undefined, 5000), 'UNAUTHORIZED');
      assert.deepEqual((await other.call('sync.changed', { volume: vId.toString('hex'), proof: proof(other) }, undefined, 5000)).result, {});
    } finally {
      other.close();
    }
  });

  await t.test('issue 9 item 10: a volume not granted is answered exactly as one that does not exist', async () => {
    const mark = victim.server!.stderr().length;
    const ask = (volume: Buffer, method: string) =>
      refusedWith(conn.call(method, { volume: volume.toString('hex'), proof: proof(conn, secret, volume) }, undefined, 5000), 'UNAUTHORIZED');
    for (const method of ['sync.list', 'sync.changed']) {
      const hidden = await ask(hiddenId, method);
      const none = await ask(randomBytes(32), method);
      assert.equal(hidden, none, method);
      assert.doesNotMatch(hidden, /hidden/);
    }
    const info = (name: string) => refusedWith(conn.call('volume.info', { name }, undefined, 5000), 'UNAUTHORIZED');
    assert.equal((await info('hidden')).replaceAll('hidden', 'NAME'), (await info('nosuch')).replaceAll('nosuch', 'NAME'));
    // The victim's own log may name it.
    await logged(new RegExp(`refused sync volume hidden to peer ${short}: no grant`), mark);
    await logged(new RegExp(`refused sync volume [0-9a-f]{16} to peer ${short}: no such volume here`), mark);
  });

  await t.test('issue 9 item 9: method names are not looked up on an object prototype', async () => {
    const mark = victim.server!.stderr().length;
    for (const method of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
      assert.match(await refusedWith(conn.call(method, { volume: vId.toString('hex') }, undefined, 5000), 'INVALID_ARGUMENT'), /unknown request/, method);
    }
    await logged(new RegExp(`refused a request from peer ${short}: unknown request "constructor"`), mark);
    assert.doesNotMatch(victim.server!.stderr(), /internal error/);
  });

  await t.test('issue 9 item 8: request params are checked; a handle reaches only its own volume', async () => {
    const mark = victim.server!.stderr().length;
    const list = (params: Record<string, unknown>) => conn.call('sync.list', { volume: vId.toString('hex'), proof: proof(conn), ...params }, undefined, 5000);
    for (const params of [{ dir: '/' }, { dir: { ino: 1.5, parent: 1, name: 'x' } }, { dir: { ino: 2, parent: 1, name: '../x' } }, { after: 7 }, { volume: 'V' }]) {
      await refusedWith(list(params), 'INVALID_ARGUMENT');
    }
    await logged(new RegExp(`refused a request from peer ${short}: the request's "dir" must be`), mark);
    // A directory of the hidden volume, named by its real inode, parent and name: not in v.
    await refusedWith(list({ dir: { ino: secretDir.ino, parent: secretDir.parent, name: 'secretdir' } }), 'NOT_FOUND');
    // The handle of a directory of v lists it.
    const root = (await list({})).result as WirePage;
    const sub = root.entries.find((e) => e.name === 'sub')!;
    assert.deepEqual(((await list({ dir: { ino: sub.ino, parent: root.ino, name: 'sub' } })).result as WirePage).entries, []);
    await refusedWith(conn.call('object.get', { id: 'nope' }, undefined, 5000), 'INVALID_ARGUMENT');
  });

  // ---- the victim pulls volume hv from the fake, which answers what it likes ----
  await victim.ok(`bazil volume connect -sharing=friends ${fakeHex} hv && mkdir mnt-hv && bazil volume mount hv mnt-hv`);
  const sync = () => victim.sh(`bazil volume sync hv ${fakeHex}`);

  await t.test('issue 9 item 8: bad values in a listing are refused as CORRUPT, and later syncs from the peer work', async () => {
    epoch++;
    const ok = entry('ok', 'file', { data: Buffer.from('fine\n').toString('base64'), size: 5 });
    const bad: [string, WireEntry[], RegExp][] = [
      ['.snap at the root', [entry('.snap', 'dir', { ino: 2 })], /"\.snap" at the root/],
      ['an epoch above 2^32-1', [{ ...ok, m: [[0, 2 ** 32]] }], /epoch 4294967296/],
      ['a tombstone with a name of 300 bytes', [entry('x'.repeat(300), 'deleted')], /a name of 300 bytes/],
      ['8 MiB over an empty manifest', [entry('leak', 'file', { manifest: encodeNode({ level: 0, entries: [] }).toString('base64'), size: 8 << 20 })], /size of 8388608 bytes with a manifest of 0/],
    ];
    for (const [what, entries, says] of bad) {
      const mark = victim.server!.stderr().length;
      listing = () => page(1, entries);
      const r = await sync();
      assert.equal(r.code, CORRUPT, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, says, what);
      await logged(new RegExp(`refused what peer ${short} sent of volume hv: the peer sent a malformed directory listing: `), mark);
    }
    assert.doesNotMatch(await victim.ok('ls -a mnt-hv'), /\.snap|leak/);
    listing = () => page(1, [ok]);
    assert.match(await victim.ok(`bazil volume sync hv ${fakeHex}`), /1 new or changed/);
    assert.equal(await victim.ok('cat mnt-hv/ok'), 'fine\n');
    // Its snapshot listing goes through the same validator.
    snapshots = { snapshots: [{ name: '../../etc', root: 'AAAA', createdAt: 1 }], deleted: [] };
    const r = await sync();
    assert.equal(r.code, CORRUPT, r.stderr);
    assert.match(r.stderr, /malformed snapshot listing: the snapshot name "\.\.\/\.\.\/etc"/);
    assert.doesNotMatch(await victim.ok('bazil volume snapshot list hv 2>&1'), /etc/);
    snapshots = { snapshots: [], deleted: [] };
    await victim.ok(`bazil volume sync hv ${fakeHex}`);
  });

  await t.test('issue 9 item 4: a chain of 12,000 directories is taken as deep as paths reach, costs a listing a level, and the rest is refused', async () => {
    const depth = 12_000;
    epoch++;
    // Level k is inode k + 1; each lists the next.
    listing = (dir) => {
      const ino = dir ? dir.ino : 1;
      if (dir && (dir.parent !== ino - 1 || dir.name !== 'd')) throw new Error(`a bad handle ${JSON.stringify(dir)}`);
      return page(ino, [...(ino === 1 ? [entry('ok', 'file', { data: Buffer.from('fine\n').toString('base64'), size: 5 })] : []), ...(ino <= depth ? [entry('d', 'dir', { ino: ino + 1 })] : [])]);
    };
    const mark = victim.server!.stderr().length;
    listed = 0;
    const r = await sync();
    assert.equal(r.code, NAME_TOO_LONG, r.stdout + r.stderr);
    assert.match(r.stderr, /1 entry whose path is longer than 4095 bytes \(PATH_MAX\), such as \/d\/d\/d/);
    assert.ok(listed <= 2048 + 1, `${listed} listings: no further than a path reaches`);
    await logged(new RegExp(`refused what peer ${short} sent of volume hv: peer sent 1 entry whose path is longer than 4095 bytes`), mark);
    // The chain is there, 2047 deep (/d repeated: 4094 bytes).
    const chain = db.prepare("SELECT count(*) FROM nodes n JOIN volumes v ON v.id = n.volume WHERE v.name = 'hv' AND n.name = CAST('d' AS BLOB)").pluck().get();
    assert.equal(chain, 2047);
    if (HEAVY) assert.match(await victim.ok('bazil volume snapshot hv deep'), /Took snapshot deep/);
    // A later sync refuses the same, and the victim still serves.
    assert.equal((await sync()).code, NAME_TOO_LONG);
    const { result } = await conn.call<WirePage>('sync.list', { volume: vId.toString('hex'), proof: proof(conn) }, undefined, 5000);
    assert.deepEqual(result.entries.map((e) => e.name), ['hello', 'sub']);
  });

  assert.doesNotMatch(victim.server!.stderr(), /internal error|unexpected/);

  /** A page of the fake's listing: inode ino, in name order, everything made at its current epoch. */
  function page(ino: number, entries: WireEntry[]): WirePage {
    entries.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
    return { ino, replicas: [fakeHex], m: [[0, epoch]], s: [[0, epoch]], entries };
  }
});

/** The fake's epoch: each listing it is set to shows a new one, so the victim does not skip it as seen. */
let epoch = 1;

/** An entry of the fake's, made at its current epoch. */
function entry(name: string, kind: WireEntry['kind'], extra: Partial<WireEntry> = {}): WireEntry {
  return { name, kind, mode: kind === 'dir' ? 0o755 : 0o644, size: 0, mtime: Date.now(), m: [[0, epoch]], s: [], c: [[0, epoch]], ...extra };
}
