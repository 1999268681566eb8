/** `--json` on status and the list commands: one JSON document on stdout, the same facts as the lines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { bazil, startServer, tempDir } from '../helpers.js';

test('status, sharing list, volume list, snapshot list and conflicts list print JSON with --json', async (t) => {
  const dir = join(tempDir(t), 'data');
  const cli = async (...args: string[]) => {
    const r = await bazil([`-data-dir=${dir}`, ...args]);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const json = async (...args: string[]) => JSON.parse(await cli(...args, '--json')) as unknown;
  await cli('create');
  await cli('volume', 'create', 'v');
  const key = (await cli('debug', 'pubkey')).trim();

  const { mounts, peers, conflicts, ...status } = (await json('status')) as Record<string, unknown>;
  assert.deepEqual(status, { dataDir: dir, publicKey: key, sharingKeys: ['default'], volumes: ['v'], server: null, deadMounts: [] });
  assert.deepEqual({ mounts, peers, conflicts }, { mounts: [], peers: [], conflicts: [] });
  assert.deepEqual(await json('sharing', 'list'), ['default']);
  assert.deepEqual(await json('volume', 'list'), [{ name: 'v', sharingKey: 'default', mounts: [], problems: [] }]);
  assert.deepEqual(await json('volume', 'snapshot', 'list', 'v'), []);

  const server = await startServer(t, dir);
  assert.deepEqual(((await json('status')) as { server: unknown }).server, { pid: server.pid, peerAddress: server.address });
  assert.deepEqual(await json('volume', 'list'), [{ name: 'v', sharingKey: 'default', mounts: [], problems: [] }]);
  await cli('volume', 'snapshot', 'v', 's1');
  const [snap] = (await json('volume', 'snapshot', 'list', 'v')) as { name: string; createdAt: string }[];
  assert.equal(snap.name, 's1');
  assert.match(snap.createdAt, /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
  assert.deepEqual(await json('conflicts', 'list', '--all'), []);
});
