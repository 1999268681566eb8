/** `bazil peer ...` and `bazil volume storage add` end to end: the real binary on temp data dirs, without and with a server. */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { COMMANDS } from '../../src/cli/commands.js';
import { openDb } from '../../src/engine/db/open.js';
import {
  isPeer,
  mayReadStorage,
  mayUseVolume,
  peerLocation,
  volumeStoragePeers,
  volumeSyncPeers,
} from '../../src/engine/peer/peers.js';
import { volumeRowId } from '../../src/engine/tree/volumes.js';
import { dialPeer } from '../../src/engine/peer/connection.js';
import { identityFromSeed } from '../../src/engine/peer/identity.js';
import { isBazilError } from '../../src/engine/errors.js';
import { bazil, pseudoRandom, startServer, tempDir } from '../helpers.js';

const FRIENDS = pseudoRandom('peer test sharing key', 32);
const PEER_COMMANDS = [
  ['peer', 'add'],
  ['peer', 'remove'],
  ['peer', 'list'],
  ['peer', 'location', 'set'],
  ['peer', 'storage', 'allow'],
  ['peer', 'storage', 'deny'],
  ['peer', 'volume', 'allow'],
  ['peer', 'volume', 'deny'],
  ['volume', 'storage', 'add'],
];

const cliWired = PEER_COMMANDS.every((p) => COMMANDS.some((c) => c.path.join(' ') === p.join(' ')));
const NOT_WIRED = 'peerCommands is not in src/cli/commands.ts yet (COMMANDS needs ...peerCommands)';
const SERVER_NOT_WIRED = 'peerMethods is not in src/server/methods.ts yet (its Map needs ...peerMethods({ db, log }))';

async function created(t: TestContext, name: string): Promise<{ dir: string; run: (...args: string[]) => ReturnType<typeof bazil>; key: string }> {
  const dir = join(tempDir(t, 'bzp-'), name);
  const r = await bazil([`-data-dir=${dir}`, 'create']);
  assert.equal(r.code, 0, r.stderr);
  const run = (...args: string[]) => bazil([`-data-dir=${dir}`, ...args], { input: args[0] === 'sharing' ? FRIENDS : '' });
  const key = (await run('debug', 'pubkey')).stdout.trim();
  assert.match(key, /^[0-9a-f]{64}$/);
  return { dir, run, key };
}

async function ok(p: ReturnType<typeof bazil>): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** Opens the data dir's database (no server may run) for fn. */
function withDb<T>(dir: string, fn: (db: ReturnType<typeof openDb>) => T): T {
  const db = openDb(join(dir, 'bazil.db'));
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('peers without a server', { skip: cliWired ? false : NOT_WIRED }, () => {
  test("the walkthrough's commands on white and black, then peer list", async (t) => {
    const white = await created(t, 'white');
    const black = await created(t, 'black');
    assert.equal((await white.run('peer', 'list')).stdout, '');
    assert.match((await white.run('peer', 'list')).stderr, /No peers yet; add one with `bazil peer add PUBKEY`/);

    // white: a volume under a new sharing key, shared with black.
    await ok(white.run('sharing', 'add', 'friends'));
    await ok(white.run('volume', 'create', '-sharing=friends', 'myfiles'));
    const add = await white.run('peer', 'add', black.key);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, `Added peer ${black.key}.\n`);
    assert.match(add.stderr, new RegExp(`bazil peer location set ${black.key} HOST:PORT`));
    assert.equal(await ok(white.run('peer', 'storage', 'allow', black.key, 'local')), `Peer ${black.key} may read the local store.\n`);
    assert.equal(await ok(white.run('peer', 'volume', 'allow', black.key, 'myfiles')), `Peer ${black.key} may sync volume myfiles.\n`);
    // Allowing again changes nothing.
    await ok(white.run('peer', 'storage', 'allow', black.key, 'local'));
    await ok(white.run('peer', 'volume', 'allow', black.key, 'myfiles'));
    assert.equal(await ok(white.run('peer', 'list')), `${black.key}\tlocation=-\tstorage=local\tvolumes=myfiles\n`);

    // black: white's location, the sharing key, and white as a store for the volume.
    await ok(black.run('peer', 'add', white.key));
    assert.equal(await ok(black.run('peer', 'location', 'set', white.key, '127.0.0.1:34211')), `Peer ${white.key} is at 127.0.0.1:34211.\n`);
    await ok(black.run('sharing', 'add', 'friends'));
    await ok(black.run('volume', 'create', '-sharing=friends', 'myfiles')); // stands in for `bazil volume connect`
    const storage = await black.run('volume', 'storage', 'add', '-sharing=friends', 'myfiles', `peerkey:${white.key}`);
    assert.equal(storage.code, 0, storage.stderr);
    assert.equal(storage.stdout, `Volume myfiles may fetch content from peer ${white.key}.\n`);
    await ok(black.run('volume', 'storage', 'add', '-sharing=friends', 'myfiles', `peerkey:${white.key}`));
    assert.equal(await ok(black.run('volume', 'storage', 'add', '-sharing=friends', 'myfiles', 'local')), 'Volume myfiles always uses the local store; nothing changed.\n');
    assert.equal(await ok(black.run('peer', 'list')), `${white.key}\tlocation=127.0.0.1:34211\tstorage=-\tvolumes=-\n`);

    // A second volume and grant show up, sorted; a new location replaces the old.
    await ok(white.run('volume', 'create', 'photos'));
    await ok(white.run('peer', 'volume', 'allow', black.key, 'photos'));
    await ok(white.run('peer', 'location', 'set', black.key, '[::1]:40000'));
    assert.equal(await ok(white.run('peer', 'list')), `${black.key}\tlocation=[::1]:40000\tstorage=local\tvolumes=myfiles,photos\n`);

    // What the sync will read from the database.
    const whiteKey = Buffer.from(white.key, 'hex');
    const blackKey = Buffer.from(black.key, 'hex');
    withDb(white.dir, (db) => {
      const myfiles = volumeRowId(db, 'myfiles');
      assert.ok(isPeer(db, blackKey));
      assert.ok(mayReadStorage(db, blackKey));
      assert.ok(mayUseVolume(db, blackKey, myfiles));
      assert.deepEqual(peerLocation(db, blackKey), { host: '::1', port: 40000 });
      assert.deepEqual(volumeSyncPeers(db, myfiles), [blackKey]);
      assert.deepEqual(volumeStoragePeers(db, myfiles), []);
    });
    withDb(black.dir, (db) => {
      const myfiles = volumeRowId(db, 'myfiles');
      assert.ok(!mayReadStorage(db, whiteKey));
      assert.ok(!mayUseVolume(db, whiteKey, myfiles));
      assert.deepEqual(peerLocation(db, whiteKey), { host: '127.0.0.1', port: 34211 });
      assert.deepEqual(volumeStoragePeers(db, myfiles), [whiteKey]);
      assert.deepEqual(volumeSyncPeers(db, myfiles), []); // not connected yet, and white has no grant here
    });
  });

  test('keys in upper case and locations in every accepted form', async (t) => {
    const white = await created(t, 'white');
    const other = pseudoRandom('some peer', 32).toString('hex');
    await ok(white.run('peer', 'add', other.toUpperCase()));
    for (const location of ['localhost:1', 'white.example.org:34211', '192.0.2.7:65535', '[2001:db8::7]:34211', 'my_host-2:80']) {
      await ok(white.run('peer', 'location', 'set', other, location));
      assert.equal(await ok(white.run('peer', 'list')), `${other}\tlocation=${location}\tstorage=-\tvolumes=-\n`);
    }
  });

  test('bad input gets a clear message and its exit code, and changes nothing', async (t) => {
    const white = await created(t, 'white');
    const known = pseudoRandom('known peer', 32).toString('hex');
    const unknown = pseudoRandom('unknown peer', 32).toString('hex');
    await ok(white.run('sharing', 'add', 'friends'));
    await ok(white.run('volume', 'create', 'myfiles')); // under the default sharing key
    await ok(white.run('peer', 'add', known));
    await ok(white.run('peer', 'location', 'set', known, 'white.local:34211'));
    const before = await ok(white.run('peer', 'list'));
    assert.equal(before, `${known}\tlocation=white.local:34211\tstorage=-\tvolumes=-\n`);

    const notAKey = /is not a public key .*a public key is 64 hex characters; get the other machine's by running `bazil debug pubkey` there/;
    const noPeer = new RegExp(`no peer with public key ${unknown}; add it first with \`bazil peer add ${unknown}\``);
    const badLocation = (why: string) => new RegExp(`is not a peer location \\(${why}\\): write HOST:PORT`);
    const cases: [string[], number, RegExp][] = [
      [['peer', 'add', known.slice(1)], 2, /\(it has 63 characters\)/],
      [['peer', 'add', known + '0'], 2, /\(it has 65 characters\)/],
      [['peer', 'add', 'g' + known.slice(1)], 2, /\(it has characters other than 0-9 and a-f\)/],
      [['peer', 'add', 'zz'], 2, notAKey],
      [['peer', 'add', white.key], 2, /is this data dir's own public key; a peer is another data dir/],
      [['peer', 'add', known], 4, /is already known; see `bazil peer list`/],
      [['peer', 'location', 'set', unknown, 'black.local:34211'], 3, noPeer],
      [['peer', 'storage', 'allow', unknown, 'local'], 3, noPeer],
      [['peer', 'volume', 'allow', unknown, 'myfiles'], 3, noPeer],
      [['peer', 'location', 'set', known.slice(2), 'black.local:34211'], 2, notAKey],
      [['peer', 'location', 'set', known, 'black.local'], 2, badLocation('no port')],
      [['peer', 'location', 'set', known, 'black.local:'], 2, badLocation('no port')],
      [['peer', 'location', 'set', known, 'black.local:0'], 2, badLocation('the port must be 1 to 65535, got 0')],
      [['peer', 'location', 'set', known, 'black.local:70000'], 2, badLocation('the port must be 1 to 65535, got 70000')],
      [['peer', 'location', 'set', known, 'black.local:http'], 2, badLocation('the port "http" is not a number')],
      [['peer', 'location', 'set', known, ':34211'], 2, badLocation('no host')],
      [['peer', 'location', 'set', known, '::1:34211'], 2, /an IPv6 address goes in brackets, e.g. \[::1\]:34211/],
      [['peer', 'location', 'set', known, '[not-v6]:34211'], 2, /is not a bracketed IPv6 address/],
      [['peer', 'location', 'set', known, '300.1.2.3:34211'], 2, /is not an IPv4 address/],
      [['peer', 'location', 'set', known, 'bad host:34211'], 2, /is not a host name/],
      [['peer', 'location', 'set', known], 2, /missing HOST:PORT: where the peer's server listens/],
      [['peer', 'storage', 'allow', known, 's3'], 2, /"s3" is not a storage backend; the only one is "local"/],
      [['peer', 'volume', 'allow', known, 'nosuch'], 3, /no volume named "nosuch"; see `bazil volume list`/],
      [['volume', 'storage', 'add', '-sharing=friends', 'myfiles', `peerkey:${known}`], 2, /volume myfiles is encrypted under sharing key "default", not "friends"; use -sharing=default/],
      [['volume', 'storage', 'add', 'myfiles', `peerkey:${unknown}`], 3, noPeer],
      [['volume', 'storage', 'add', 'myfiles', 'peerkey:abc'], 2, notAKey],
      [['volume', 'storage', 'add', 'myfiles', known], 2, /is not a storage backend: write peerkey:PUBKEY/],
      [['volume', 'storage', 'add', 'nosuch', `peerkey:${known}`], 3, /no volume named "nosuch"/],
    ];
    for (const [args, code, message] of cases) {
      const r = await white.run(...args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
      assert.equal(await ok(white.run('peer', 'list')), before, `after ${args.join(' ')}`);
    }
    withDb(white.dir, (db) => assert.deepEqual(volumeStoragePeers(db, volumeRowId(db, 'myfiles')), []));
  });

  test('remove and deny take back what add and allow gave; denying what was not given says so', async (t) => {
    const white = await created(t, 'white');
    const black = pseudoRandom('black', 32).toString('hex');
    const gray = pseudoRandom('gray', 32).toString('hex');
    const unknown = pseudoRandom('unknown peer', 32).toString('hex');
    await ok(white.run('volume', 'create', 'myfiles'));
    await ok(white.run('volume', 'create', 'other'));
    for (const k of [black, gray]) {
      await ok(white.run('peer', 'add', k));
      await ok(white.run('peer', 'location', 'set', k, '127.0.0.1:5000'));
      await ok(white.run('peer', 'storage', 'allow', k, 'local'));
      await ok(white.run('peer', 'volume', 'allow', k, 'myfiles'));
      await ok(white.run('peer', 'volume', 'allow', k, 'other'));
      await ok(white.run('volume', 'storage', 'add', 'myfiles', `peerkey:${k}`));
    }

    assert.equal(await ok(white.run('peer', 'volume', 'deny', black, 'other')), `Peer ${black} may no longer sync volume other.\n`);
    assert.equal(await ok(white.run('peer', 'storage', 'deny', black, 'local')), `Peer ${black} may no longer read the local store.\n`);
    const grayLine = `${gray}\tlocation=127.0.0.1:5000\tstorage=local\tvolumes=myfiles,other\n`;
    assert.equal(await ok(white.run('peer', 'list')), `${black}\tlocation=127.0.0.1:5000\tstorage=-\tvolumes=myfiles\n${grayLine}`);

    const before = await ok(white.run('peer', 'list'));
    const nothing = (what: string) => new RegExp(`peer ${black} has no grant to ${what}, so there is nothing to deny; \`bazil peer list\` shows its grants`);
    const noPeer = new RegExp(`no peer with public key ${unknown}; add it first with \`bazil peer add ${unknown}\``);
    const cases: [string[], number, RegExp][] = [
      [['peer', 'volume', 'deny', black, 'other'], 3, nothing('sync volume other')],
      [['peer', 'storage', 'deny', black, 'local'], 3, nothing('read the local store')],
      [['peer', 'storage', 'deny', black, 's3'], 2, /"s3" is not a storage backend; the only one is "local".*`bazil peer storage deny/],
      [['peer', 'volume', 'deny', black, 'nosuch'], 3, /no volume named "nosuch"/],
      [['peer', 'volume', 'deny', unknown, 'myfiles'], 3, noPeer],
      [['peer', 'storage', 'deny', unknown, 'local'], 3, noPeer],
      [['peer', 'remove', unknown], 3, noPeer],
      [['peer', 'remove', 'zz'], 2, /is not a public key/],
    ];
    for (const [args, code, message] of cases) {
      const r = await white.run(...args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
      assert.equal(await ok(white.run('peer', 'list')), before, `after ${args.join(' ')}`);
    }

    assert.equal(await ok(white.run('peer', 'remove', black.toUpperCase())), `Removed peer ${black}.\n`);
    assert.equal(await ok(white.run('peer', 'list')), grayLine);
    withDb(white.dir, (db) => {
      const k = Buffer.from(black, 'hex');
      assert.equal(isPeer(db, k), false);
      assert.equal(mayReadStorage(db, k), false);
      assert.equal(mayUseVolume(db, k, volumeRowId(db, 'myfiles')), false);
      assert.deepEqual(volumeStoragePeers(db, volumeRowId(db, 'myfiles')), [Buffer.from(gray, 'hex')]);
      assert.deepEqual(volumeSyncPeers(db, volumeRowId(db, 'myfiles')), [Buffer.from(gray, 'hex')]);
    });
    // It can be added again, with nothing granted.
    await ok(white.run('peer', 'add', black));
    assert.equal(await ok(white.run('peer', 'list')), `${grayLine}${black}\tlocation=-\tstorage=-\tvolumes=-\n`);
  });

  test('--help of each command shows its usage and examples', async () => {
    for (const path of PEER_COMMANDS) {
      const r = await bazil([...path, '--help']);
      assert.equal(r.code, 0, path.join(' '));
      const command = COMMANDS.find((c) => c.path.join(' ') === path.join(' '))!;
      assert.ok(r.stdout.includes(`Usage: bazil ${path.join(' ')} ${command.usage}`.trimEnd()), r.stdout);
      assert.match(r.stdout, /Examples:\n {2}\$ bazil /);
    }
    assert.match((await bazil(['peer', 'add', '--help'])).stdout, /Usage: bazil peer add PUBKEY/);
    assert.match((await bazil(['peer', 'location', 'set', '--help'])).stdout, /Usage: bazil peer location set PUBKEY HOST:PORT/);
    assert.match((await bazil(['volume', 'storage', 'add', '--help'])).stdout, /Usage: bazil volume storage add \[-sharing=NAME\] VOLUME peerkey:PUBKEY/);
    const group = await bazil(['peer', '--help']);
    assert.equal(group.code, 0);
    assert.match(group.stdout, /bazil peer add +Introduce a peer/);
  });
});

describe('peers with a server', { skip: cliWired ? false : NOT_WIRED }, () => {
  test('the commands go through the running server, and what they did stays after it stops', async (t) => {
    const white = await created(t, 'white');
    const black = await created(t, 'black');
    const server = await startServer(t, white.dir);
    const probe = await white.run('peer', 'list');
    if (/has no method "peer\.list"/.test(probe.stderr)) {
      t.skip(SERVER_NOT_WIRED);
      return;
    }
    assert.equal(probe.code, 0, probe.stderr);
    await ok(white.run('volume', 'create', 'myfiles'));

    const add = await white.run('peer', 'add', black.key);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, `Added peer ${black.key}.\n`);
    assert.match(server.stderr(), new RegExp(`bazil: added peer ${black.key}`)); // the server did it
    await ok(white.run('peer', 'location', 'set', black.key, '127.0.0.1:5000'));
    await ok(white.run('peer', 'storage', 'allow', black.key, 'local'));
    await ok(white.run('peer', 'volume', 'allow', black.key, 'myfiles'));
    await ok(white.run('volume', 'storage', 'add', 'myfiles', `peerkey:${black.key}`));
    const listed = `${black.key}\tlocation=127.0.0.1:5000\tstorage=local\tvolumes=myfiles\n`;
    assert.equal(await ok(white.run('peer', 'list')), listed);
    assert.match(server.stderr(), /may sync volume myfiles/);

    // Errors come back with the same codes and messages.
    const own = await white.run('peer', 'add', white.key);
    assert.equal(own.code, 2);
    assert.match(own.stderr, /this data dir's own public key/);
    const again = await white.run('peer', 'add', black.key);
    assert.equal(again.code, 4);
    const unknown = pseudoRandom('nobody', 32).toString('hex');
    const noPeer = await white.run('peer', 'storage', 'allow', unknown, 'local');
    assert.equal(noPeer.code, 3);
    assert.match(noPeer.stderr, /bazil peer add/);
    const badLocation = await white.run('peer', 'location', 'set', black.key, 'black.local:0');
    assert.equal(badLocation.code, 2);
    assert.match(badLocation.stderr, /1 to 65535/);
    const wrongSharing = await white.run('volume', 'storage', 'add', '-sharing=friends', 'myfiles', `peerkey:${black.key}`);
    assert.equal(wrongSharing.code, 2);
    assert.match(wrongSharing.stderr, /use -sharing=default/);
    assert.equal(await ok(white.run('peer', 'list')), listed);

    await ok(white.run('server', 'stop'));
    await server.exited;
    assert.equal(await ok(white.run('peer', 'list')), listed);
    withDb(white.dir, (db) => assert.deepEqual(volumeStoragePeers(db, volumeRowId(db, 'myfiles')), [Buffer.from(black.key, 'hex')]));
  });

  test('a removal or a deny holds at once, on a connection already open', async (t) => {
    const white = await created(t, 'white');
    const server = await startServer(t, white.dir);
    const black = identityFromSeed(pseudoRandom('black identity', 32));
    const hex = black.publicKey.toString('hex');
    await ok(white.run('volume', 'create', 'myfiles'));
    await ok(white.run('peer', 'add', hex));
    await ok(white.run('peer', 'storage', 'allow', hex, 'local'));
    await ok(white.run('peer', 'volume', 'allow', hex, 'myfiles'));
    const dial = () => dialPeer({ host: '127.0.0.1', port: server.port, identity: black, expectKey: Buffer.from(white.key, 'hex'), timeoutMs: 5000 });
    const conn = await dial();
    t.after(() => conn.close());
    const missing = '00'.repeat(32);
    const refused = (err: unknown) => isBazilError(err, 'UNAUTHORIZED');

    // Granted: the volume answers, and a missing object is looked for (not refused).
    await conn.call('volume.info', { name: 'myfiles' }, undefined, 5000);
    await assert.rejects(conn.call('object.get', { id: missing, forward: false }, undefined, 5000), (err) => isBazilError(err, 'NOT_FOUND'));

    await ok(white.run('peer', 'volume', 'deny', hex, 'myfiles'));
    await assert.rejects(conn.call('volume.info', { name: 'myfiles' }, undefined, 5000), refused);
    await ok(white.run('peer', 'storage', 'deny', hex, 'local'));
    await assert.rejects(conn.call('object.get', { id: missing, forward: false }, undefined, 5000), refused);
    assert.match(server.stderr(), new RegExp(`peer ${hex} may no longer sync volume myfiles`));

    // Removed: its open connection is closed, and a new one is refused.
    await ok(white.run('peer', 'storage', 'allow', hex, 'local'));
    const removed = await white.run('peer', 'remove', hex);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, `Removed peer ${hex}; closed its 1 open connection.\n`);
    await conn.closed;
    await assert.rejects(conn.call('volume.info', { name: 'myfiles' }, undefined, 5000), /closed/);
    await assert.rejects(dial(), (err) => refused(err) && err.message.includes(`bazil peer add ${hex}`));
    assert.equal(await ok(white.run('peer', 'list')), '');
  });
});
