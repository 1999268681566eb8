/**
 * The control API's types hold: a wrong method name or a wrong shape does not
 * compile (each @ts-expect-error below fails the build if the call were
 * accepted), and the in-process client answers as the socket would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ControlApi, MethodTable } from '../../../src/engine/control/api.js';
import { LocalControl } from '../../../src/engine/control/local.js';
import { BazilError } from '../../../src/engine/errors.js';

// Never called: only compiled.
export async function wrongShapesDoNotCompile(api: ControlApi): Promise<void> {
  // @ts-expect-error no such method
  await api.call('volume.lst', {});
  // @ts-expect-error volume.mount needs dir
  await api.call('volume.mount', { volume: 'v' });
  // @ts-expect-error choice is mine, theirs or both
  await api.call('conflicts.resolve', { path: '/x', choice: 'all' });
  const volumes = await api.call('volume.list', {});
  // @ts-expect-error a VolumeInfo has no size
  void volumes[0].size;
  const table: Partial<MethodTable> = {
    // @ts-expect-error ping answers a ServerInfo
    ping: () => ({ pid: 1 }),
  };
  void table;
}

test('the in-process client calls the table with JSON-shaped params and results, and names what needs a server', async () => {
  const seen: unknown[] = [];
  const api = new LocalControl(
    {
      'volume.create': (p) => {
        seen.push(p);
        return { name: p.name, sharingKey: p.sharing ?? 'default', mounts: [], createdAt: new Date(0) } as never;
      },
    },
    (m) => new BazilError('NOT_FOUND', `${m} needs the server`),
  );
  const v = await api.call('volume.create', { name: 'v', sharing: undefined });
  assert.deepEqual(seen, [{ name: 'v' }], 'undefined is left out, as on the wire');
  assert.deepEqual(v, { name: 'v', sharingKey: 'default', mounts: [], createdAt: '1970-01-01T00:00:00.000Z' });
  await assert.rejects(api.call('volume.mount', { volume: 'v', dir: '/m' }), /volume.mount needs the server/);
});
