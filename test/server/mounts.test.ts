/**
 * Mounts a user can live with: remembered across restarts, dead ones found and
 * cleared after kill -9, a busy one refused with what holds it, and every mount
 * failure named. Real servers, real FUSE mounts, used by shell tools.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bazil, startServer, tempDir } from '../helpers.js';
import { fuseUnavailable, sh } from '../fuse/mount-helpers.js';

type T = Parameters<typeof tempDir>[0];

const mounted = (dir: string) => readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);

/** A data dir with volumes v and w, mount points mnt and mnt2 in base (the working directory of `cli`). */
async function setUp(t: T) {
  let dirs: string[] = [];
  const detached: number[] = []; // servers started with `server start`
  // Registered first, so it runs before the temp dir goes (startServer's kill runs later).
  t.after(() => {
    for (const pid of detached) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    dirs.forEach((d) => mounted(d) && spawnSync('fusermount', ['-uz', d]));
  });
  const base = tempDir(t, 'bzm-');
  const dataDir = join(base, 'data');
  const mnt = join(base, 'mnt');
  const mnt2 = join(base, 'mnt2');
  dirs = [mnt, mnt2];
  dirs.forEach((d) => mkdirSync(d));
  const run = (...args: string[]) => bazil([`-data-dir=${dataDir}`, ...args], { cwd: base });
  const cli = async (...args: string[]) => {
    const r = await run(...args);
    assert.equal(r.code, 0, `bazil ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await cli('create');
  await cli('volume', 'create', 'v');
  await cli('volume', 'create', 'w');
  const track = () => detached.push(Number(readFileSync(join(dataDir, 'lock.pid'), 'utf8')));
  return { base, dataDir, mnt, mnt2, run, cli, track, server: () => startServer(t, dataDir) };
}

describe('mounts', { concurrency: true, skip: fuseUnavailable() }, () => {
  test('the server mounts again what was mounted; a gone mount point is reported, not fatal; unmount forgets', async (t) => {
    const { mnt, mnt2, run, cli, server } = await setUp(t);
    let s = await server();
    await cli('volume', 'mount', 'v', 'mnt');
    await cli('volume', 'mount', 'w', 'mnt2');
    await sh('echo kept >mnt/f', join(mnt, '..'));
    await cli('server', 'stop');
    await s.exited;
    assert.ok(!mounted(mnt));

    rmdirSync(mnt2);
    s = await server();
    assert.equal(readFileSync(join(mnt, 'f'), 'utf8'), 'kept\n');
    assert.match(s.stderr(), new RegExp(`could not mount w again on ${mnt2}: ${mnt2} does not exist`));
    const list = await run('volume', 'list');
    assert.equal(list.stdout, `v\tsharing=default\tmounted=${mnt}\nw\tsharing=default\tunmounted=${mnt2}\n`);
    assert.match(list.stderr, new RegExp(`^bazil: w on ${mnt2}: not mounted: ${mnt2} does not exist; make it with`));

    // Mounting again where it was remembered is no error, and says so.
    assert.equal(await cli('volume', 'mount', 'v', mnt), `v is already mounted on ${mnt}.\n`);
    // Unmount forgets: by name, even what is not mounted; by directory.
    assert.equal(await cli('volume', 'unmount', 'w'), `w was not mounted; forgot its mount on ${mnt2}: the server will not mount it there again.\n`);
    assert.equal(await cli('volume', 'unmount', 'mnt'), `Unmounted v from ${mnt}.\n`);
    await cli('server', 'stop');
    s = await server();
    assert.ok(!mounted(mnt));
    assert.equal(await cli('volume', 'list'), 'v\tsharing=default\nw\tsharing=default\n');
  });

  test('after kill -9, list and status show the dead mount, and unmount clears it, with or without a server', async (t) => {
    const { base, mnt, mnt2, run, cli, server } = await setUp(t);
    const s = await server();
    await cli('volume', 'mount', 'v', 'mnt');
    await cli('volume', 'mount', 'w', 'mnt2');
    s.child.kill('SIGKILL');
    await s.exited;
    assert.notEqual((await sh('ls mnt', base)).code, 0, 'the mount is dead');

    const list = await run('volume', 'list');
    assert.equal(list.stdout, `v\tsharing=default\tdead=${mnt}\nw\tsharing=default\tdead=${mnt2}\n`);
    assert.match(list.stderr, new RegExp(`bazil: v on ${mnt}: a dead mount: .*\`bazil volume unmount ${mnt}\` clears it`));
    assert.match(await cli('status'), new RegExp(`Dead mount: +v on ${mnt} .*\`bazil volume unmount ${mnt}\` clears it`));

    // Without a server: the first thing a user tries works.
    assert.equal(await cli('volume', 'unmount', 'mnt'), `Cleared the dead mount of v on ${mnt}.\n`);
    assert.deepEqual(readdirSync(mnt), []);
    // A server mounts a remembered dead mount again (clearing it first): w comes back; v was forgotten.
    await server();
    assert.equal(await cli('volume', 'list'), `v\tsharing=default\nw\tsharing=default\tmounted=${mnt2}\n`);
    assert.equal(readdirSync(mnt2).length, 0);
  });

  test('a running server clears a dead bazil mount it does not serve, when asked to unmount it', async (t) => {
    const { mnt, cli, server } = await setUp(t);
    const s = await server();
    await cli('volume', 'mount', 'v', 'mnt');
    s.child.kill('SIGKILL');
    await s.exited;
    // Another data dir's server is asked.
    const other = join(mnt, '..', 'other');
    assert.equal((await bazil([`-data-dir=${other}`, 'create'])).code, 0);
    await startServer(t, other);
    const r = await bazil([`-data-dir=${other}`, 'volume', 'unmount', mnt]);
    assert.equal(r.stdout, `Cleared the dead mount of v on ${mnt}.\n`, r.stderr);
    assert.deepEqual(readdirSync(mnt), []);
  });

  test('unmount while a program uses the mount is refused, naming it; --force unmounts anyway', async (t) => {
    const { base, mnt, run, cli, server } = await setUp(t);
    await server();
    await cli('volume', 'mount', 'v', 'mnt');
    writeFileSync(join(mnt, 'f'), 'data');
    const reader = spawn('sh', ['-c', 'exec 3<mnt/f; echo ready; exec sleep 60'], { cwd: base, stdio: ['ignore', 'pipe', 'ignore'] });
    t.after(() => reader.kill('SIGKILL'));
    await new Promise((r) => reader.stdout!.once('data', r));
    const inside = spawn('sleep', ['60'], { cwd: mnt, stdio: 'ignore' });
    t.after(() => inside.kill('SIGKILL'));

    const busy = await run('volume', 'unmount', 'mnt');
    assert.equal(busy.code, 5, busy.stderr);
    assert.match(busy.stderr, new RegExp(`^bazil: ${mnt} is busy: programs are using it:\n`));
    assert.match(busy.stderr, new RegExp(`  sleep \\(pid ${reader.pid}\\): ${mnt}/f\n`));
    assert.match(busy.stderr, new RegExp(`  sleep \\(pid ${inside.pid}\\): working directory\n`));
    assert.match(busy.stderr, /unmount anyway with `bazil volume unmount --force /);
    // Still mounted: a write lands in the volume, not in the directory underneath.
    await sh('echo more >mnt/g', base);
    assert.match(await cli('volume', 'list'), new RegExp(`mounted=${mnt}`));

    assert.equal(await cli('volume', 'unmount', '--force', 'mnt'), `Unmounted v from ${mnt}.\n`);
    reader.kill('SIGKILL');
    inside.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(readdirSync(mnt), []);
    await cli('volume', 'mount', 'v', 'mnt');
    assert.deepEqual(readdirSync(mnt).sort(), ['f', 'g']);
  });

  test('a mount failure names its cause and the next step, with its own exit code', async (t) => {
    const { base, mnt, mnt2, run, cli, server } = await setUp(t);
    await server();
    writeFileSync(join(mnt, 'notes.txt'), 'mine');
    const full = await run('volume', 'mount', 'v', 'mnt');
    assert.equal(full.code, 9, full.stderr);
    assert.equal(full.stderr, `bazil: ${mnt} is not empty (it holds notes.txt); mount on an empty directory, or move its contents away first\n`);
    assert.equal(readFileSync(join(mnt, 'notes.txt'), 'utf8'), 'mine');

    await cli('volume', 'mount', 'w', 'mnt2');
    const taken = await run('volume', 'mount', 'v', 'mnt2');
    assert.equal(taken.code, 4, taken.stderr);
    assert.equal(taken.stderr, `bazil: volume w is already mounted at ${mnt2}; pick another directory\n`);
    // Inside a mount of its own, the server looks at nothing (the kernel would ask it to answer itself).
    mkdirSync(join(mnt2, 'sub'));
    const nested = await run('volume', 'mount', 'v', 'mnt2/sub');
    assert.equal(nested.code, 2, nested.stderr);
    assert.match(nested.stderr, new RegExp(`is inside the mount of volume w \\(${mnt2}\\); mount volumes side by side`));
    assert.equal((await run('volume', 'unmount', 'mnt2/sub')).code, 3);

    const missing = await run('volume', 'mount', 'v', 'nope');
    assert.equal(missing.code, 3);
    assert.equal(missing.stderr, `bazil: ${join(base, 'nope')} does not exist; make it with \`mkdir nope\`, then mount again\n`);
  });

  test('without fusermount3 on the machine, mount says so and how to install it (exit 10)', async (t) => {
    const { dataDir, run, track } = await setUp(t);
    // A server whose PATH has no fusermount3, as on a machine without the fuse3 package.
    const start = await bazil([`-data-dir=${dataDir}`, 'server', 'start', '-addr=127.0.0.1:0'], { env: { PATH: '/nonexistent' } });
    assert.equal(start.code, 0, start.stderr);
    track();
    const r = await run('volume', 'mount', 'v', 'mnt');
    assert.equal(r.code, 10, r.stderr);
    assert.equal(r.stderr, 'bazil: fusermount3 is not installed, and FUSE mounts need it; install it with `sudo apt-get install fuse3`\n');
  });
});
