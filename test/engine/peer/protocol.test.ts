/**
 * The peer protocol's answering side, built from the typed map: every method
 * of the map has a handler (the compiler checks it), a method outside it or
 * named like an object's own property is refused, and params must be an
 * object; a refusal of a malformed request is one log line naming the peer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBazilError } from '../../../src/engine/errors.js';
import { PEER_TIMEOUTS_MS, peerHandler, type PeerMethodHandlers, type PeerRequest } from '../../../src/engine/peer/protocol.js';

const peer = Buffer.alloc(32, 0xab);
const req = (method: string, params: unknown): PeerRequest => ({ peer, binding: Buffer.alloc(32), method, params: params as Record<string, unknown> });

test('the handler answers the methods of the map and refuses anything else', async () => {
  const lines: string[] = [];
  const called: string[] = [];
  const handlers: PeerMethodHandlers = {
    'volume.info': async () => (called.push('volume.info'), { result: { volumeId: 'id', keyCheck: 'check' } }),
    'sync.list': async () => (called.push('sync.list'), { result: { ino: 1, replicas: [], m: [], s: [], entries: [] } }),
    'sync.changed': async () => (called.push('sync.changed'), { result: {} }),
    'sync.snapshots': async () => (called.push('sync.snapshots'), { result: { snapshots: [], deleted: [] } }),
    'object.get': async () => (called.push('object.get'), { result: { kept: true }, body: Buffer.from('x') }),
    'object.has': async () => (called.push('object.has'), { result: { held: [] } }),
    'object.needed': async () => (called.push('object.needed'), { result: { needed: [] } }),
    'grants.mine': async () => (called.push('grants.mine'), { result: { asker: peer.toString('hex'), storage: [] } }),
  };
  const handle = peerHandler(handlers, (l) => lines.push(l));
  for (const method of Object.keys(PEER_TIMEOUTS_MS)) await handle(req(method, {}));
  assert.deepEqual(called, Object.keys(handlers), 'every method of the map reaches its handler');
  assert.deepEqual((await handle(req('object.get', {}))).body, Buffer.from('x'));

  for (const method of ['nope', 'constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    await assert.rejects(handle(req(method, {})), (err) => isBazilError(err, 'INVALID_ARGUMENT') && /unknown request/.test((err as Error).message), method);
  }
  for (const params of [null, [], 'x', 3]) {
    await assert.rejects(handle(req('sync.changed', params)), (err) => isBazilError(err, 'INVALID_ARGUMENT'));
  }
  assert.ok(lines.every((l) => l.startsWith(`refused a request from peer ${peer.toString('hex').slice(0, 16)}`)), lines.join('\n'));
  assert.equal(lines.length, 9);
});
