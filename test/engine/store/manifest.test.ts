import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeNode, encodeNode, ManifestBuilder, manifestSize, type ManifestNode } from '../../../src/engine/store/manifest.js';
import { isBazilError } from '../../../src/engine/errors.js';
import { pseudoRandom } from '../../helpers.js';

const entry = (i: number) => ({ h: pseudoRandom(`h${i}`, 32), span: 1000 + i });

test('nodes encode and decode losslessly', () => {
  const node: ManifestNode = { level: 2, entries: [entry(1), entry(2), { h: Buffer.alloc(32), span: 2 ** 40 }] };
  assert.deepEqual(decodeNode(encodeNode(node), 'x'), node);
  assert.deepEqual(decodeNode(encodeNode({ level: 0, entries: [] }), 'x'), { level: 0, entries: [] });
});

test('malformed nodes are CORRUPT, never misread', () => {
  const good = encodeNode({ level: 0, entries: [entry(1)] });
  const cases = [Buffer.from('hello'), good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.alloc(1)]), Buffer.from(good).fill(0, 0, 4)];
  const zeroSpan = Buffer.from(good);
  zeroSpan.fill(0, good.length - 8);
  cases.push(zeroSpan);
  for (const bad of cases) assert.throws(() => decodeNode(bad, 'object abc'), (err) => isBazilError(err, 'CORRUPT') && /object abc/.test(err.message));
});

test('the builder makes a tree whose leaves are the entries in order', async () => {
  const stored = new Map<string, ManifestNode>();
  const builder = new ManifestBuilder(async (node) => {
    const h = pseudoRandom(`node-${stored.size}`, 32);
    stored.set(h.toString('hex'), node);
    return { h, span: manifestSize(node) };
  }, { avg: 4, max: 8 });
  const entries = Array.from({ length: 500 }, (_, i) => entry(i));
  for (const e of entries) await builder.add(e);
  const root = await builder.finish();
  const leaves = (n: ManifestNode): { h: Buffer; span: number }[] =>
    n.level === 0 ? n.entries : n.entries.flatMap((e) => leaves(stored.get(e.h.toString('hex'))!));
  assert.ok(root.level >= 2);
  assert.ok(root.entries.length <= 8);
  assert.deepEqual(leaves(root), entries);
  assert.equal(manifestSize(root), entries.reduce((n, e) => n + e.span, 0));
});
