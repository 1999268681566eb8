/** Peer names: `bazil peer add PUBKEY NAME`, `bazil peer rename`, and every peer argument taking a name, a key or a unique key prefix. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openDb } from '../../src/engine/db/open.js';
import { addPeer, resolvePeer, uniquePeerName } from '../../src/engine/peer/peers.js';
import { isBazilError } from '../../src/engine/errors.js';
import { bazil, tempDir } from '../helpers.js';
import { Rep } from '../engine/sync/harness.js';

const KEY_A = `ab12${'0'.repeat(60)}`;
const KEY_B = `ab34${'1'.repeat(60)}`;

test('peers by name, by key and by unique prefix, without a server', async (t) => {
  const dir = join(tempDir(t, 'bzn-'), 'white');
  const run = (...args: string[]) => bazil([`-data-dir=${dir}`, ...args]);
  const ok = async (...args: string[]) => {
    const r = await run(...args);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  await ok('create');
  await ok('volume', 'create', 'myfiles');

  assert.equal(await ok('peer', 'add', KEY_A, 'black'), `Added peer black (${KEY_A}).\n`);
  assert.equal(await ok('peer', 'add', KEY_B), `Added peer ${KEY_B}.\n`);

  // A name taken, a bad name, a name that is a key: refused, saying why.
  const taken = await run('peer', 'rename', KEY_B, 'black');
  assert.notEqual(taken.code, 0);
  assert.match(taken.stderr, /already named black/);
  const bad = await run('peer', 'rename', KEY_B, 'no/slash');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /is not a peer name/);

  // Each command accepts the name, the full key or a unique prefix.
  assert.equal(await ok('peer', 'storage', 'allow', 'black', 'local'), `Peer black (${KEY_A}) may read the local store.\n`);
  assert.equal(await ok('peer', 'volume', 'allow', 'ab12', 'myfiles'), `Peer black (${KEY_A}) may sync volume myfiles.\n`);
  assert.equal(await ok('peer', 'location', 'set', 'ab34', '127.0.0.1:5000'), `Peer ${KEY_B} is at 127.0.0.1:5000.\n`);
  const ambiguous = await run('peer', 'storage', 'allow', 'ab', 'local');
  assert.notEqual(ambiguous.code, 0);
  assert.match(ambiguous.stderr, /is the start of 2 peers' keys/);
  const unknown = await run('peer', 'storage', 'allow', 'gray', 'local');
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /no peer is named "gray" or has a key starting so, and "gray" is not a public key/);

  assert.equal(await ok('peer', 'rename', 'ab34', 'gray'), `Peer ${KEY_B} is now named gray.\n`);
  assert.equal(await ok('peer', 'rename', 'gray', 'grey'), `Peer ${KEY_B} is now named grey (was gray).\n`);
  assert.equal(
    await ok('peer', 'list'),
    `${KEY_A}\tname=black\tlocation=-\tstorage=local\tvolumes=myfiles\n${KEY_B}\tname=grey\tlocation=127.0.0.1:5000\tstorage=-\tvolumes=-\n`,
  );
  const listed = JSON.parse(await ok('peer', 'list', '--json')) as { publicKey: string; name: string | null }[];
  assert.deepEqual(listed.map((p) => p.name), ['black', 'grey']);
  assert.match(await ok('status'), new RegExp(`^  black ${KEY_A} at`, 'm'));

  assert.equal(await ok('peer', 'volume', 'deny', 'black', 'myfiles'), `Peer black (${KEY_A}) may no longer sync volume myfiles.\n`);
  assert.equal(await ok('peer', 'remove', 'grey'), `Removed peer grey (${KEY_B}).\n`);
  assert.equal(await ok('peer', 'rename', 'black', ''), `Peer ${KEY_A} has no name now.\n`);
});

test('a host name becomes a unique peer name; a name wins over a key prefix', (t) => {
  const db = openDb(join(tempDir(t, 'bzn-'), 'bazil.db'), { create: true });
  t.after(() => db.close());
  const add = (key: string, name: string | null) => db.prepare('INSERT INTO peers (public_key, name, location, added_at) VALUES (?, ?, NULL, 0)').run(Buffer.from(key, 'hex'), name);
  assert.equal(uniquePeerName(db, 'black.example.org'), 'black');
  add(KEY_A, 'black');
  assert.equal(uniquePeerName(db, 'black.local'), 'black-2');
  assert.equal(uniquePeerName(db, 'black.local', Buffer.from(KEY_A, 'hex')), 'black', 'its own name is not taken');
  assert.equal(uniquePeerName(db, '-weird host!'), 'weird-host-');
  // A peer named like another's key prefix: the name wins.
  add(KEY_B, 'ab12');
  assert.equal(resolvePeer(db, 'ab12').toString('hex'), KEY_B);
  assert.equal(resolvePeer(db, 'AB12' + '0'.repeat(60)).toString('hex'), KEY_A);
  assert.throws(() => resolvePeer(db, 'cd'), (err) => isBazilError(err, 'INVALID_ARGUMENT'));
});

test("a conflict's copy and record carry the peer's name: NAME.conflict-PEER.EXT", async (t) => {
  const a = Rep.make(t, 'named-a');
  const b = Rep.make(t, 'named-b');
  addPeer(b.dir.db, a.key, 'white');
  a.write('/notes.txt', 'v1');
  await b.pullFrom(a);
  a.write('/notes.txt', 'from a');
  b.write('/notes.txt', 'from b');
  await b.pullFrom(a);
  assert.equal(b.conflicts()[0].peerName, 'white');
  const r = b.resolve('/notes.txt', 'both');
  assert.equal(r.savedAs, '/notes.conflict-white.txt');
  assert.equal(b.read('/notes.conflict-white.txt'), 'from a');
});
