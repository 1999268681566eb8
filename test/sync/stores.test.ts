/**
 * A dir: store on a real file system (an ext4 image on a loop device the test
 * mounts), through a real server and mount: content pushed to it, evicted
 * here, is read back through the mount from the store; with the disk
 * unplugged the read fails and whereis and `bazil store list` name the store
 * and where it was; plugged in at another path and located, reads work again.
 * And an sftp:// store on a real sshd on loopback, through the same steps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { startSshd, sshdUnavailable } from '../helpers/sshd.js';
import { eventually, makeHost, type Host } from './hosts.js';

const MiB = 2 ** 20;

function cannotRun(): string | undefined {
  const fuse = fuseUnavailable();
  if (fuse) return typeof fuse === 'string' ? fuse : 'no FUSE here';
  if (process.getuid?.() !== 0) return 'not root: the test mounts a loop device to plug and unplug a disk';
  if (spawnSync('sh', ['-c', 'command -v mkfs.ext4 && command -v losetup && losetup -f'], { stdio: 'ignore' }).status !== 0) return 'no mkfs.ext4, losetup or free loop device';
  return undefined;
}

interface Where {
  path: string;
  here: string;
  stores: { store: string; at?: string; kept: boolean }[];
  needs?: string[];
}
const whereis = async (h: Host, path: string): Promise<Where> => (JSON.parse(await h.ok(`bazil whereis --json ${path}`)) as Where[])[0];

async function restart(h: Host): Promise<void> {
  await h.ok('bazil server stop');
  await h.start();
  await eventually(async () => (await h.sh('test -f mnt/f')).code === 0, 10_000, 'the volume is mounted again');
}

test('a dir: store on a disk: push, evict, read from it; unplugged, named; plugged in elsewhere, located and read', { skip: cannotRun() }, async (t) => {
  // Hooks run in the order registered: the disk is unmounted before the temp dir goes.
  let root = '';
  t.after(() => void (root && spawnSync('sh', ['-c', `umount ${root}/disk1 2>/dev/null; umount ${root}/disk2 2>/dev/null`])));
  const a = await makeHost(t, 'a');
  root = a.root;
  await a.start();
  await a.ok('truncate -s 64M disk.img && mkfs.ext4 -q disk.img && mkdir disk1 disk2 && mount -o loop disk.img disk1 && mkdir disk1/store');
  await a.ok('bazil volume create v && mkdir mnt && bazil volume mount v mnt');
  const sum = (await a.ok(`head -c ${6 * MiB} /dev/urandom >mnt/f && sha256sum <mnt/f | cut -c1-64`)).trim();

  assert.match(await a.ok('bazil volume storage add v dir:disk1/store'), /may fetch content from store dir:/);
  const [store] = JSON.parse(await a.ok('bazil store list --json')) as { name: string; location: string; available: boolean; volumes: string[] }[];
  assert.equal(store.location, `${a.root}/disk1/store`);
  assert.deepEqual([store.available, store.volumes], [true, ['v']]);
  assert.match(await a.ok('cat disk1/store/bazil-store.json'), new RegExp(store.name.slice(4)));

  const pushed = JSON.parse(await a.ok('bazil store push --json v dir:disk1/store')) as { uploaded: number; missing: number };
  assert.ok(pushed.uploaded >= 2 && pushed.missing === 0, JSON.stringify(pushed));
  assert.match(await a.ok('bazil store push v dir:disk1/store'), /0 objects uploaded/);
  // Kept on the disk now: the local copies may go.
  await a.ok('bazil cache set-size 0');
  let w = await whereis(a, 'mnt/f');
  assert.equal(w.here, 'none');
  assert.deepEqual(w.stores.map((s) => [s.store, s.at, s.kept]), [[store.name, `${a.root}/disk1/store`, true]]);
  await restart(a); // nothing of f left in the server's memory or the kernel's page cache
  assert.equal((await a.ok('sha256sum <mnt/f | cut -c1-64')).trim(), sum);

  // Unplugged: the read fails, and the store is named with where it was.
  await a.ok('umount disk1 && bazil cache set-size 0');
  await restart(a);
  assert.notEqual((await a.sh('cat mnt/f >/dev/null')).code, 0);
  w = await whereis(a, 'mnt/f');
  assert.deepEqual(w.needs, [store.name]);
  assert.match(await a.ok('bazil whereis mnt/f'), new RegExp(`make one of these available: ${store.name} \\(last at ${a.root}/disk1/store\\)`));
  assert.match(await a.ok('bazil store list'), /not available, last seen \d{4}-/);

  // Plugged in at another path: found by a scan, and read from there.
  await a.ok('mount -o loop disk.img disk2');
  assert.match(await a.ok('bazil store locate --scan disk2/store disk1'), new RegExp(`Store ${store.name} is at ${a.root}/disk2/store`));
  const [again] = JSON.parse(await a.ok('bazil store list --json')) as { location: string; available: boolean }[];
  assert.deepEqual([again.location, again.available], [`${a.root}/disk2/store`, true]);
  assert.equal((await a.ok('sha256sum <mnt/f | cut -c1-64')).trim(), sum);
});

test('an sftp:// store on a real sshd: its host key accepted once, pushed, read back through the mount after eviction', { skip: fuseUnavailable() || sshdUnavailable() }, async (t) => {
  const a = await makeHost(t, 'a');
  const sshd = await startSshd(t, join(a.root, 'sshd'));
  // The server's HOME: the key the sshd authorizes, no known_hosts yet, no agent.
  const home = join(a.root, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  copyFileSync(join(sshd.dir, 'client_key'), join(home, '.ssh', 'id_ed25519'));
  chmodSync(join(home, '.ssh', 'id_ed25519'), 0o600);
  process.env.HOME = home;
  delete process.env.SSH_AUTH_SOCK;
  await a.start();
  await a.ok('bazil volume create v && mkdir mnt && bazil volume mount v mnt');
  const sum = (await a.ok(`head -c ${5 * MiB} /dev/urandom >mnt/f && sha256sum <mnt/f | cut -c1-64`)).trim();
  const url = `sftp://root@127.0.0.1:${sshd.port}${a.root}/remote`;

  const refused = await a.sh(`bazil volume storage add v ${url}`);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /is not in .*known_hosts .*--yes/);
  await a.ok(`bazil store add --yes ${url}`);
  assert.match(await a.ok(`bazil volume storage add v ${url}`), /may fetch content from store sftp:/);
  const pushed = JSON.parse(await a.ok(`bazil store push --json v ${url}`)) as { uploaded: number; missing: number };
  assert.ok(pushed.uploaded >= 2 && pushed.missing === 0, JSON.stringify(pushed));
  await a.ok('bazil cache set-size 0');
  const w = await whereis(a, 'mnt/f');
  assert.equal(w.here, 'none');
  assert.deepEqual(w.stores.map((s) => [s.store, s.kept]), [[url, true]]);
  await restart(a);
  assert.equal((await a.ok('sha256sum <mnt/f | cut -c1-64')).trim(), sum);
});
