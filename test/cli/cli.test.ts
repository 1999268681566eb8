/** The CLI end to end: the real `bazil` binary as a child process, on temp data dirs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '../../src/cli/commands.js';
import { BAZIL, bazil, pseudoRandom, tempDir } from '../helpers.js';

const KEY = pseudoRandom('sharing key', 32);

/** Waits (up to 5 s) until the process with this pid holds the data dir's writer lock. */
async function waitForLockHolder(dir: string, pid: number): Promise<void> {
  const pidFile = join(dir, 'lock.pid');
  for (let i = 0; i < 200; i++) {
    if (existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() === String(pid)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`pid ${pid} never took the lock of ${dir}`);
}

async function created(t: Parameters<typeof tempDir>[0]): Promise<string> {
  const dir = join(tempDir(t), 'data');
  const r = await bazil(['-data-dir=' + dir, 'create']);
  assert.equal(r.code, 0, r.stderr);
  return dir;
}

test('create makes a private data dir and prints the public key', async (t) => {
  const dir = join(tempDir(t), 'white');
  const r = await bazil([`-data-dir=${dir}`, 'create']);
  assert.equal(r.code, 0, r.stderr);
  const key = /Public key: ([0-9a-f]{64})/.exec(r.stdout)?.[1];
  assert.ok(key, r.stdout);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, 'bazil.db')).mode & 0o777, 0o600);
  const pub = await bazil([`-data-dir=${dir}`, 'debug', 'pubkey']);
  assert.equal(pub.stdout, `${key}\n`);
  // The default sharing key exists; its secret is never printed.
  assert.equal((await bazil(['--data-dir', dir, 'sharing', 'list'])).stdout, 'default\n');
});

test('a second create on the same dir is refused and changes nothing', async (t) => {
  const dir = await created(t);
  const pub = (await bazil([`-data-dir=${dir}`, 'debug', 'pubkey'])).stdout;
  const before = readFileSync(join(dir, 'bazil.db'));
  const r = await bazil([`-data-dir=${dir}`, 'create']);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /already exists and is a bazil data dir/);
  assert.ok(readFileSync(join(dir, 'bazil.db')).equals(before));
  assert.equal((await bazil([`-data-dir=${dir}`, 'debug', 'pubkey'])).stdout, pub);
});

test('create uses an existing empty directory but never a non-empty one', async (t) => {
  const empty = join(tempDir(t), 'empty');
  mkdirSync(empty);
  assert.equal((await bazil([`--data-dir=${empty}`, 'create'])).code, 0);
  const full = join(tempDir(t), 'full');
  mkdirSync(full);
  writeFileSync(join(full, 'precious.txt'), 'keep me');
  const r = await bazil([`--data-dir=${full}`, 'create']);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /not empty/);
  assert.deepEqual(readdirSync(full), ['precious.txt']);
  assert.deepEqual(readdirSync(join(full, '..')).filter((n) => n.startsWith('.bazil-create')), []);
});

test('the data dir comes from -data-dir, --data-dir, BAZIL_DATA_DIR or XDG_DATA_HOME', async (t) => {
  const home = tempDir(t);
  const xdg = join(home, 'xdg');
  const viaXdg = await bazil(['create'], { env: { XDG_DATA_HOME: xdg, HOME: home } });
  assert.equal(viaXdg.code, 0, viaXdg.stderr);
  assert.ok(existsSync(join(xdg, 'bazil', 'bazil.db')));
  const pub = (await bazil(['debug', 'pubkey'], { env: { XDG_DATA_HOME: xdg } })).stdout;
  assert.match(pub, /^[0-9a-f]{64}\n$/);
  const dir = join(xdg, 'bazil');
  assert.equal((await bazil(['debug', 'pubkey'], { env: { BAZIL_DATA_DIR: dir } })).stdout, pub);
  assert.equal((await bazil(['debug', 'pubkey', '--data-dir', dir])).stdout, pub);
  assert.equal((await bazil([`-data-dir=${dir}`, 'debug', 'pubkey'])).stdout, pub);
  const noHome = await bazil(['debug', 'pubkey'], { env: { XDG_DATA_HOME: '', HOME: join(home, 'nobody') } });
  assert.equal(noHome.code, 3);
  assert.match(noHome.stderr, /no bazil data dir at .*nobody\/\.local\/share\/bazil; create one with `bazil create`/);
});

test('sharing add takes exactly 32 bytes from standard input', async (t) => {
  const dir = await created(t);
  const add = (name: string, input: Buffer) => bazil([`-data-dir=${dir}`, 'sharing', 'add', name], { input });
  for (const n of [0, 31, 33, 4096]) {
    const r = await add('friends', pseudoRandom('k', n));
    assert.equal(r.code, 2, `${n} bytes`);
    assert.match(r.stderr, /exactly 32 bytes/);
    assert.match(r.stderr, /nothing was added/);
  }
  assert.equal((await bazil([`-data-dir=${dir}`, 'sharing', 'list'])).stdout, 'default\n');
  const ok = await add('friends', KEY);
  assert.equal(ok.code, 0, ok.stderr);
  const dup = await add('friends', pseudoRandom('other', 32));
  assert.equal(dup.code, 4);
  assert.match(dup.stderr, /already exists/);
  const badName = await add('no/slashes', KEY);
  assert.equal(badName.code, 2);
  assert.match(badName.stderr, /not a valid sharing key name/);
  const list = await bazil([`-data-dir=${dir}`, 'sharing', 'list']);
  assert.equal(list.stdout, 'default\nfriends\n');
  assert.ok(!list.stdout.includes(KEY.toString('hex')));
});

test('sharing add refuses to read a key from a terminal', async (t) => {
  const dir = await created(t);
  // script(1) runs the command with a pseudo-terminal as its standard input.
  const r = spawnSync('script', ['-qec', `${process.execPath} ${BAZIL} -data-dir=${dir} sharing add friends`, '/dev/null'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30000,
  });
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stdout, /refusing to read a sharing key from a terminal/);
  assert.equal((await bazil([`-data-dir=${dir}`, 'sharing', 'list'])).stdout, 'default\n');
});

test('volume create with the seed spelling, an unknown sharing key, and volume list', async (t) => {
  const dir = await created(t);
  assert.equal((await bazil([`-data-dir=${dir}`, 'sharing', 'add', 'friends'], { input: KEY })).code, 0);
  const unknown = await bazil([`-data-dir=${dir}`, 'volume', 'create', '-sharing=enemies', 'myfiles']);
  assert.equal(unknown.code, 3);
  assert.match(unknown.stderr, /no sharing key named "enemies"; add it with `bazil sharing add enemies <KEYFILE`/);
  assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'list'])).stdout, '');
  assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'create', '-sharing=friends', 'myfiles'])).code, 0);
  assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'create', 'photos'])).code, 0);
  const dup = await bazil([`-data-dir=${dir}`, 'volume', 'create', 'photos']);
  assert.equal(dup.code, 4);
  assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'list'])).stdout, 'myfiles\tsharing=friends\nphotos\tsharing=default\n');
});

test('debug cas put and get round-trip a file and byte ranges', async (t) => {
  const dir = await created(t);
  const made = await bazil([`-data-dir=${dir}`, 'volume', 'create', 'v']);
  assert.equal(made.code, 0, made.stderr);
  const data = pseudoRandom('cas', 3 << 20);
  const file = join(tempDir(t), 'in.bin');
  writeFileSync(file, data);
  const put = await bazil([`-data-dir=${dir}`, 'debug', 'cas', 'put', 'v', file]);
  assert.equal(put.code, 0, put.stderr);
  const ref = put.stdout.trim();
  assert.match(ref, /^[0-9a-f]{64}$/);
  const viaStdin = await bazil([`-data-dir=${dir}`, 'debug', 'cas', 'put', 'v'], { input: data });
  assert.equal(viaStdin.stdout.trim(), ref);
  assert.match(viaStdin.stderr, /0 B was new/);
  const all = await bazil([`-data-dir=${dir}`, 'debug', 'cas', 'get', 'v', ref]);
  assert.ok(all.out.equals(data));
  const part = await bazil([`-data-dir=${dir}`, 'debug', 'cas', 'get', 'v', ref, '--offset=1048570', '-length=20']);
  assert.ok(part.out.equals(data.subarray(1048570, 1048590)));
  // A reader that stops early is not an error.
  const early = spawnSync('sh', ['-c', `"${process.execPath}" "${BAZIL}" -data-dir="${dir}" debug cas get v ${ref} | head -c 10 >/dev/null`], { encoding: 'utf8' });
  assert.equal(early.stderr, '');
  const missing = await bazil([`-data-dir=${dir}`, 'debug', 'cas', 'put', 'v', join(dir, 'no-such-file')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^bazil: ENOENT: no such file or directory, stat '.*no-such-file'\n$/);
  const badRef = await bazil([`-data-dir=${dir}`, 'debug', 'cas', 'get', 'v', 'xyz']);
  assert.equal(badRef.code, 2);
  const unknownRef = await bazil([`-data-dir=${dir}`, 'debug', 'cas', 'get', 'v', 'ab'.repeat(32)]);
  assert.equal(unknownRef.code, 3);
  assert.match(unknownRef.stderr, /missing from the local store/);
});

test('a second writer on the same data dir is refused while the first runs', async (t) => {
  const dir = await created(t);
  assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'create', 'v'])).code, 0);
  // A `cas put` reading a pipe that stays open holds the lock until the pipe ends.
  const holder = spawn(process.execPath, [BAZIL, `-data-dir=${dir}`, 'debug', 'cas', 'put', 'v'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => holder.on('close', resolve));
  holder.stdin.write(pseudoRandom('held', 1 << 20));
  await waitForLockHolder(dir, holder.pid!);
  const second = await bazil([`-data-dir=${dir}`, 'sharing', 'add', 'friends'], { input: KEY });
  assert.equal(second.code, 5);
  assert.match(second.stderr, new RegExp(`in use by another bazil process \\(pid ${holder.pid}\\)`));
  // Readers are not blocked.
  assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'list'])).code, 0);
  holder.stdin.end();
  assert.equal(await exited, 0);
  assert.equal((await bazil([`-data-dir=${dir}`, 'sharing', 'add', 'friends'], { input: KEY })).code, 0);
});

test('a writer killed with SIGKILL leaves no stale lock', async (t) => {
  const dir = await created(t);
  assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'create', 'v'])).code, 0);
  const holder = spawn(process.execPath, [BAZIL, `-data-dir=${dir}`, 'debug', 'cas', 'put', 'v'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const exited = new Promise((resolve) => holder.on('close', resolve));
  holder.stdin.write('partial');
  await waitForLockHolder(dir, holder.pid!);
  holder.kill('SIGKILL');
  await exited;
  assert.equal((await bazil([`-data-dir=${dir}`, 'sharing', 'add', 'friends'], { input: KEY })).code, 0);
});

test('every command has --help', async () => {
  for (const c of COMMANDS) {
    const r = await bazil([...c.path, '--help']);
    assert.equal(r.code, 0, c.path.join(' '));
    assert.ok(r.stdout.includes(`Usage: bazil ${c.path.join(' ')}`), r.stdout);
  }
  for (const group of [[], ['server'], ['volume'], ['sharing'], ['debug'], ['debug', 'cas']]) {
    const r = await bazil([...group, '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Commands:/);
  }
});

test('bad commands, flags and arguments get a clear message and exit 2', async (t) => {
  const dir = await created(t);
  const cases: [string[], RegExp][] = [
    [['volume', 'frob'], /unknown command `bazil volume frob`/],
    [['volume'], /`bazil volume` needs a command/],
    [['volume', 'create', '--bogus', 'x'], /unknown option --bogus for `bazil volume create`/],
    [['-shring=friends', 'volume', 'create', 'x'], /unknown option --shring/],
    [['volume', 'create'], /missing arguments\nUsage: bazil volume create/],
    [['volume', 'create', 'a', 'b'], /unexpected argument "b"/],
    [['volume', 'create', '../evil'], /not a valid volume name/],
    [['debug', 'cas', 'get', 'v', 'ab'.repeat(32), '--offset=-3'], /--offset must be a whole number/],
  ];
  for (const [args, message] of cases) {
    const r = await bazil([`-data-dir=${dir}`, ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
  }
});

test('plain `bazil` sets up the default data dir once and shows status', async (t) => {
  const home = tempDir(t);
  const env = { XDG_DATA_HOME: join(home, 'xdg') };
  const first = await bazil([], { env });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /Created a new data dir in .*xdg\/bazil/);
  assert.match(first.stdout, /Public key: +[0-9a-f]{64}/);
  const second = await bazil([], { env });
  assert.doesNotMatch(second.stdout, /Created/);
  assert.match(second.stdout, /Volumes: +\(none yet/);
});

test('a corrupt object makes `debug cas get` fail with exit 6, naming the object, and changes no stored byte', async (t) => {
  const dir = await created(t);
  assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'create', 'v'])).code, 0);
  const data = pseudoRandom('cli-corrupt', 2 << 20);
  const ref = (await bazil([`-data-dir=${dir}`, 'debug', 'cas', 'put', 'v'], { input: data })).stdout.trim();
  const objects = join(dir, 'objects');
  const files = readdirSync(objects).flatMap((d) => readdirSync(join(objects, d)).map((f) => join(objects, d, f)));
  const victim = files.reduce((a, b) => (statSync(a).size >= statSync(b).size ? a : b)); // a data chunk, not the root
  const bytes = readFileSync(victim);
  bytes[100] ^= 1;
  writeFileSync(victim, bytes);
  const snapshot = () => files.map((f) => readFileSync(f).toString('base64')).join();
  const before = snapshot();
  const r = await bazil([`-data-dir=${dir}`, 'debug', 'cas', 'get', 'v', ref]);
  assert.equal(r.code, 6);
  const id = victim.split('/').slice(-2).join('');
  assert.match(r.stderr, new RegExp(`object ${id} is corrupt`));
  assert.equal(snapshot(), before);
});
