/** The order sources are asked in: measured time per object, fetches in flight, failures, staleness. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SourceRanking } from '../../../src/engine/node/source-ranking.js';
import { BazilError } from '../../../src/engine/errors.js';
import type { ObjectSource } from '../../../src/engine/store/content.js';

/** A source whose fetches end when the test says, on a clock the test moves. */
function fakeSources(names: string[]) {
  const clock = { now: 0 };
  const pending: { store: string; done: (err?: Error) => void }[] = [];
  const sources: ObjectSource[] = names.map((store) => ({
    name: store,
    store,
    get: () =>
      new Promise((resolve, reject) => {
        pending.push({ store, done: (err) => (err ? reject(err) : resolve({ bytes: Buffer.alloc(1), kept: true })) });
      }),
  }));
  return { clock, pending, sources, ranking: new SourceRanking(() => clock.now) };
}

/** Lets the fetches just ended record their time (their ends run as microtasks). */
const settle = () => new Promise((r) => setImmediate(r));

const order = (r: SourceRanking, sources: ObjectSource[]) => r.rank(sources).map((s) => s.store);

test('unmeasured sources keep the volume order, and each gets one fetch before its first answer', () => {
  const { sources, ranking } = fakeSources(['a', 'b']);
  assert.deepEqual(order(ranking, sources), ['a', 'b']);
  void ranking.rank(sources)[0].get(Buffer.alloc(1));
  assert.deepEqual(order(ranking, sources), ['b', 'a'], 'a is busy with its first fetch: b is tried');
});

test('the faster source goes first; fetches in flight spread the load; a failure sends a source to the back', async () => {
  const { clock, pending, sources, ranking } = fakeSources(['slow', 'fast']);
  const got = [ranking.rank(sources)[0].get(Buffer.alloc(1)), ranking.rank(sources)[0].get(Buffer.alloc(1))];
  assert.deepEqual(pending.map((p) => p.store), ['slow', 'fast']);
  clock.now = 10;
  pending[1].done(); // fast: 10 ms
  await settle();
  clock.now = 400;
  pending[0].done(); // slow: 400 ms
  await Promise.all(got);
  pending.length = 0;
  assert.deepEqual(order(ranking, sources), ['fast', 'slow']);
  // Several fetches in flight to the fast one make the slow one worth asking only past 40 of them.
  for (let i = 0; i < 30; i++) void ranking.rank(sources)[0].get(Buffer.alloc(1));
  assert.ok(pending.every((p) => p.store === 'fast'));
  for (const p of pending.splice(0)) p.done();
  await settle();
  // A failure (not a mere NOT_FOUND) makes fast the last resort.
  const f = ranking.rank(sources)[0].get(Buffer.alloc(1));
  pending.pop()!.done(new BazilError('UNAVAILABLE', 'gone'));
  await assert.rejects(f);
  assert.deepEqual(order(ranking, sources), ['slow', 'fast']);
});

test('NOT_FOUND counts only its time; a measure older than 30 s no longer holds a source back', async () => {
  const { clock, pending, sources, ranking } = fakeSources(['a', 'b']);
  const f = ranking.rank(sources)[0].get(Buffer.alloc(1));
  clock.now = 2;
  pending.pop()!.done(new BazilError('NOT_FOUND', 'no such object'));
  await assert.rejects(f);
  await settle();
  assert.ok(ranking.expected('a') < 0.01, 'a lacking one object is not a slow source');
  const g = ranking.rank(sources)[1].get(Buffer.alloc(1)); // b
  clock.now = 3000;
  pending.pop()!.done();
  await g;
  assert.deepEqual(order(ranking, sources), ['a', 'b']);
  clock.now = 3000 + 31_000;
  assert.ok(ranking.expected('b') <= 0.005, 'b is worth trying again');
});
