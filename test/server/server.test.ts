/** `bazil server` end to end: real server processes on temp data dirs, driven by the real CLI and by raw socket lines. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bazil, pseudoRandom, startServer, tempDir } from '../helpers.js';

const KEY = pseudoRandom('server sharing key', 32);
type T = Parameters<typeof tempDir>[0];

async function created(t: T): Promise<string> {
  const dir = join(tempDir(t, 'bzs-'), 'data');
  const r = await bazil([`-data-dir=${dir}`, 'create']);
  assert.equal(r.code, 0, r.stderr);
  return dir;
}

/** A TCP server of our own, to make a port busy. */
async function occupy(t: T, host: string, port: number): Promise<Server | undefined> {
  const s = createServer();
  s.listen({ host, port, exclusive: true });
  try {
    await once(s, 'listening');
  } catch {
    return undefined;
  }
  t.after(() => s.close());
  return s;
}

/** A raw connection to the control socket: write lines, read answers one by one. */
async function rawControl(t: T, dataDir: string): Promise<{ socket: Socket; send(line: string): void; next(): Promise<unknown>; closed: Promise<void> }> {
  const socket = createConnection(join(dataDir, 'control.sock'));
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  socket.setEncoding('utf8');
  const lines: string[] = [];
  let waiting: (() => void) | undefined;
  let buf = '';
  socket.on('data', (s: string) => {
    buf += s;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    waiting?.();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return {
    socket,
    send: (line) => socket.write(line),
    async next() {
      while (lines.length === 0) await new Promise<void>((resolve) => (waiting = resolve));
      return JSON.parse(lines.shift()!);
    },
    closed,
  };
}

// Each test has its own data dir and ports: they run side by side.
describe('bazil server', { concurrency: true }, () => {
  test('ping, status and stop; then ping and stop say how to start a server', async (t) => {
    const dir = await created(t);
    const server = await startServer(t, dir);
    assert.equal(server.address, `127.0.0.1:${server.port}`);
    assert.equal(server.stdout(), `bazil: Listening on 127.0.0.1:${server.port}\n`);
    const ping = await bazil([`-data-dir=${dir}`, 'server', 'ping']);
    assert.equal(ping.code, 0, ping.stderr);
    assert.equal(ping.stdout, `bazil server is running (pid ${server.pid}), listening on 127.0.0.1:${server.port}\n`);
    const status = await bazil([`-data-dir=${dir}`, 'status']);
    assert.match(status.stdout, new RegExp(`Server: +running \\(pid ${server.pid}\\), listening on 127\\.0\\.0\\.1:${server.port}`));

    // The peer protocol is not built yet: a peer is disconnected at once.
    const peer = createConnection({ host: '127.0.0.1', port: server.port });
    peer.on('error', () => {});
    await once(peer, 'close');

    const stop = await bazil([`-data-dir=${dir}`, 'server', 'stop']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout, 'Stopped the bazil server.\n');
    // `server stop` returned only once the server had exited (here, its exit may take a moment to be reaped).
    const exit = await Promise.race([server.exited, new Promise((r) => setTimeout(r, 2000, 'still running'))]);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(server.stderr(), /^bazil: stopped$/m);
    assert.ok(!existsSync(join(dir, 'control.sock')));

    for (const cmd of ['ping', 'stop']) {
      const r = await bazil([`-data-dir=${dir}`, 'server', cmd]);
      assert.equal(r.code, 3, cmd);
      assert.equal(r.stderr, `bazil: no bazil server is running for data dir ${dir}; start one with \`bazil server start\`\n`);
    }
    assert.match((await bazil([`-data-dir=${dir}`, 'status'])).stdout, /Server: +not running \(start it with `bazil server start`\)/);
  });

  test('a second server on the same data dir is refused with exit 5 and the pid of the first', async (t) => {
    const dir = await created(t);
    const first = await startServer(t, dir);
    const second = await bazil([`-data-dir=${dir}`, 'server', 'run', '-addr=127.0.0.1:0']);
    assert.equal(second.code, 5);
    assert.equal(second.stdout, '');
    assert.equal(second.stderr, `bazil: a bazil server (pid ${first.pid}) is already running on this data dir; \`bazil server stop\` stops it\n`);
    // The first one is unharmed, and so is its socket.
    assert.equal((await bazil([`-data-dir=${dir}`, 'server', 'ping'])).code, 0);
    // Commands that cannot go through the server say why they are refused.
    const cas = await bazil([`-data-dir=${dir}`, 'debug', 'cas', 'put', 'default'], { input: 'x' });
    assert.equal(cas.code, 5);
    assert.match(cas.stderr, new RegExp(`a bazil server \\(pid ${first.pid}\\) is running on data dir .*; stop it with \`bazil server stop\``));
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} stops the server: exit 0, socket removed, lock released`, async (t) => {
      const dir = await created(t);
      const server = await startServer(t, dir);
      assert.equal(statSync(join(dir, 'control.sock')).mode & 0o777, 0o600);
      server.child.kill(signal);
      assert.deepEqual(await server.exited, { code: 0, signal: null });
      assert.match(server.stderr(), new RegExp(`^bazil: ${signal}: stopping\nbazil: stopped\n$`));
      assert.ok(!existsSync(join(dir, 'control.sock')));
      const add = await bazil([`-data-dir=${dir}`, 'sharing', 'add', 'friends'], { input: KEY }); // directly: the lock is free
      assert.equal(add.code, 0, add.stderr);
    });
  }

  test('after kill -9, commands work directly and the next server starts', async (t) => {
    const dir = await created(t);
    const first = await startServer(t, dir);
    first.child.kill('SIGKILL');
    await first.exited;
    assert.ok(existsSync(join(dir, 'control.sock')), 'a killed server leaves its socket');
    const ping = await bazil([`-data-dir=${dir}`, 'server', 'ping']);
    assert.equal(ping.code, 3);
    assert.match(ping.stderr, /no bazil server is running/);
    assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'create', 'v'])).code, 0);
    const second = await startServer(t, dir);
    const again = await bazil([`-data-dir=${dir}`, 'server', 'ping']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`\\(pid ${second.pid}\\)`));
    assert.equal(statSync(join(dir, 'control.sock')).mode & 0o777, 0o600);
  });

  test('bad lines on the control socket get errors and never take the server down', async (t) => {
    const dir = await created(t);
    const server = await startServer(t, dir);
    const c = await rawControl(t, dir);
    c.send('this is not json\n');
    assert.deepEqual(await c.next(), { id: null, error: { code: 'INVALID_ARGUMENT', message: 'a control request must be one line of JSON: {"id":N,"method":"...","params":{...}}' } });
    c.send('[1,2]\n{"method":"ping"}\n{"id":7,"method":"frobnicate"}\n{"id":8,"method":"ping","params":[]}\n{"id":9,"method":"volume.create","params":{"name":42}}\n');
    const answers: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = (await c.next()) as { id: number | null; error: { code: string } };
      assert.equal(answer.error.code, 'INVALID_ARGUMENT');
      answers.push(answer.id);
    }
    assert.deepEqual(answers.sort(), [7, 8, 9, null, null]); // answers may come in any order
    c.send('{"id":10,"method":"volume.create","params":{"name":"v","sharing":"nope"}}\n');
    assert.deepEqual(await c.next(), {
      id: 10,
      error: { code: 'NOT_FOUND', message: 'no sharing key named "nope"; add it with `bazil sharing add nope <KEYFILE` (see `bazil sharing list`)' },
    });
    c.send('{"id":11,"method":"ping"}\n');
    assert.deepEqual(await c.next(), { id: 11, result: { pid: server.pid, peerAddress: server.address, dataDir: dir } });

    // A line longer than 1 MiB: an error, then the connection is closed.
    const long = await rawControl(t, dir);
    long.send('{"id":1,"method":"ping","params":{"x":"' + 'a'.repeat(1 << 20));
    const answer = (await long.next()) as { id: unknown; error: { code: string; message: string } };
    assert.equal(answer.error.code, 'INVALID_ARGUMENT');
    assert.match(answer.error.message, /at most 1048576 bytes/);
    await long.closed;
    // A client that leaves in the middle of a request.
    const rude = await rawControl(t, dir);
    rude.send('{"id":1,"method":"volume.li');
    rude.socket.destroy();

    const ping = await bazil([`-data-dir=${dir}`, 'server', 'ping']);
    assert.equal(ping.code, 0, ping.stderr);
    assert.equal(server.child.exitCode, null);
  });

  test('sharing add and volume create go through a running server; volume list asks it', async (t) => {
    const dir = await created(t);
    const server = await startServer(t, dir);
    const add = await bazil([`-data-dir=${dir}`, 'sharing', 'add', 'friends'], { input: KEY });
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, 'Added sharing key friends.\n');
    const dup = await bazil([`-data-dir=${dir}`, 'sharing', 'add', 'friends'], { input: KEY });
    assert.equal(dup.code, 4);
    assert.match(dup.stderr, /a sharing key named "friends" already exists/);
    const create = await bazil([`-data-dir=${dir}`, 'volume', 'create', '-sharing=friends', 'myfiles']);
    assert.equal(create.code, 0, create.stderr);
    assert.equal(create.stdout, 'Created volume myfiles (sharing key friends).\n');
    const unknown = await bazil([`-data-dir=${dir}`, 'volume', 'create', '-sharing=enemies', 'x']);
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /no sharing key named "enemies"/);
    assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'list'])).stdout, 'myfiles\tsharing=friends\n');
    const snaps = await bazil([`-data-dir=${dir}`, 'volume', 'snapshot', 'list', 'myfiles']);
    assert.equal(snaps.code, 0, snaps.stderr);
    assert.equal(snaps.stdout, '');
    const log = server.stderr();
    assert.match(log, /^bazil: added sharing key friends$/m);
    assert.match(log, /^bazil: created volume myfiles \(sharing key friends\)$/m);
    for (const secret of [KEY.toString('base64'), KEY.toString('hex')]) assert.ok(!log.includes(secret), 'the server never logs a secret');
    // Written by the server, still there without it.
    assert.equal((await bazil([`-data-dir=${dir}`, 'server', 'stop'])).code, 0);
    assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'list'])).stdout, 'myfiles\tsharing=friends\n');
  });

  test('mount, unmount and snapshot need a server and say how to start one; snapshot list does not', async (t) => {
    const dir = await created(t);
    assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'create', 'v'])).code, 0);
    const mnt = join(tempDir(t), 'mnt');
    mkdirSync(mnt);
    for (const args of [['volume', 'mount', 'v', mnt], ['volume', 'unmount', mnt], ['volume', 'snapshot', 'v', 's1']]) {
      const r = await bazil([`-data-dir=${dir}`, ...args]);
      assert.equal(r.code, 3, args.join(' '));
      assert.equal(r.stderr, `bazil: no bazil server is running for data dir ${dir}; start one with \`bazil server start\`\n`, args.join(' '));
    }
    const list = await bazil([`-data-dir=${dir}`, 'volume', 'snapshot', 'list', 'v']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stderr, /No snapshots of v yet; take one with `bazil volume snapshot v NAME`/);
    const noVolume = await bazil([`-data-dir=${dir}`, 'volume', 'snapshot', 'list', 'nope']);
    assert.equal(noVolume.code, 3);
    assert.match(noVolume.stderr, /no volume named "nope"/);
  });

  test('with FUSE: volume list shows mounts; unmount by directory or name; snapshots; stop unmounts', { skip: !existsSync('/dev/fuse') && 'no /dev/fuse' }, async (t) => {
    const dir = await created(t);
    assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'create', 'myfiles'])).code, 0);
    const base = tempDir(t);
    const mnt = join(base, 'mnt');
    mkdirSync(mnt);
    const server = await startServer(t, dir);
    const mounted = () => readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mnt);
    t.after(() => void (mounted() && spawnSync('fusermount', ['-uz', mnt])));
    const mount = await bazil([`-data-dir=${dir}`, 'volume', 'mount', 'myfiles', 'mnt'], { cwd: base });
    assert.equal(mount.code, 0, mount.stderr);
    assert.equal(mount.stdout, `Mounted myfiles on ${mnt}.\n`);
    assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'list'])).stdout, `myfiles\tsharing=default\tmounted=${mnt}\n`);
    const unmount = await bazil([`-data-dir=${dir}`, 'volume', 'unmount', 'mnt'], { cwd: base }); // a plain word naming a directory here
    assert.equal(unmount.stdout, `Unmounted myfiles from ${mnt}.\n`, unmount.stderr);
    assert.ok(!mounted());
    assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'mount', 'myfiles', mnt])).code, 0);
    assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'unmount', 'myfiles'])).code, 0);
    const snap = await bazil([`-data-dir=${dir}`, 'volume', 'snapshot', 'myfiles', 'first']);
    assert.equal(snap.stdout, 'Took snapshot first of myfiles.\n', snap.stderr);
    assert.match((await bazil([`-data-dir=${dir}`, 'volume', 'snapshot', 'list', 'myfiles'])).stdout, /^first\tcreated=\d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
    assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'mount', 'myfiles', mnt])).code, 0);
    server.child.kill('SIGTERM');
    assert.equal((await server.exited).code, 0);
    assert.ok(!mounted(), 'stopping the server unmounts');
  });

  test('volume mount checks its directory first, with a clear message', async (t) => {
    const dir = await created(t);
    const base = tempDir(t);
    const missing = await bazil([`-data-dir=${dir}`, 'volume', 'mount', 'default', join(base, 'nope')]);
    assert.equal(missing.code, 3);
    assert.equal(missing.stderr, `bazil: ${join(base, 'nope')} does not exist; make it with \`mkdir ${join(base, 'nope')}\`, then mount again\n`);
    writeFileSync(join(base, 'file'), '');
    const file = await bazil([`-data-dir=${dir}`, 'volume', 'mount', 'default', join(base, 'file')]);
    assert.equal(file.code, 2);
    assert.match(file.stderr, /file is not a directory/);
  });

  test('-addr: a busy address or a bad one is refused clearly, and nothing is left behind', async (t) => {
    const dir = await created(t);
    const busy = (await occupy(t, '127.0.0.1', 0))!;
    const port = (busy.address() as { port: number }).port;
    const r = await bazil([`-data-dir=${dir}`, 'server', 'run', `-addr=127.0.0.1:${port}`]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^bazil: cannot listen for peers on 127\\.0\\.0\\.1:${port}: it is already in use .*pick another with -addr=HOST:PORT`));
    for (const bad of ['nonsense', '::1:80']) {
      const b = await bazil([`-data-dir=${dir}`, 'server', 'run', `--addr=${bad}`]);
      assert.equal(b.code, 2, bad);
      assert.match(b.stderr, /is not an address to listen on: write HOST:PORT/);
    }
    assert.ok(!existsSync(join(dir, 'control.sock')));
    assert.equal((await bazil([`-data-dir=${dir}`, 'sharing', 'add', 'k'], { input: KEY })).code, 0, 'the lock was released');
  });

  test('by default the server listens on [::], on port 34211 unless it is taken', async (t) => {
    const dir = await created(t);
    // Take 34211 ourselves when we can; if someone else has it, it is just as taken.
    const held = await occupy(t, '::', 34211);
    const server = await startServer(t, dir, []);
    assert.match(server.stdout(), /^bazil: Listening on \[::\]:\d+\n$/);
    if (held) assert.notEqual(server.port, 34211);
    const ping = await bazil([`-data-dir=${dir}`, 'server', 'ping']);
    assert.match(ping.stdout, new RegExp(`listening on \\[::\\]:${server.port}\n$`));
  });

  test('a data dir whose socket path is too long is refused clearly', async (t) => {
    const dir = join(tempDir(t), 'x'.repeat(100));
    assert.equal((await bazil([`-data-dir=${dir}`, 'create'])).code, 0);
    const r = await bazil([`-data-dir=${dir}`, 'server', 'run', '-addr=127.0.0.1:0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /control\.sock is too long \(unix sockets allow 107 bytes\); use a data dir with a shorter path/);
    // Without a server, commands still work directly.
    assert.equal((await bazil([`-data-dir=${dir}`, 'volume', 'create', 'v'])).code, 0);
  });

  test('every server, mount and snapshot command has --help with examples', async () => {
    const commands = [['server', 'run'], ['server', 'ping'], ['server', 'stop'], ['volume', 'mount'], ['volume', 'unmount'], ['volume', 'snapshot'], ['volume', 'snapshot', 'list']];
    await Promise.all(
      commands.map(async (path) => {
        const r = await bazil([...path, '--help']);
        assert.equal(r.code, 0, path.join(' '));
        assert.ok(r.stdout.includes(`Usage: bazil ${path.join(' ')}`), r.stdout);
        assert.match(r.stdout, /Examples:\n {2}\$ .*bazil /);
      }),
    );
    const group = await bazil(['server', '--help']);
    assert.match(group.stdout, /bazil server run +Run the bazil server/);
  });
});
