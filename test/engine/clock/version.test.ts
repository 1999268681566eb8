/**
 * The clock rules of clock/version.ts, over every pair of versions whose
 * vectors are drawn from two replicas with epochs 0..2 (universe.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SELF, format, le } from '../../../src/engine/clock/vector.js';
import { FIRST, compare, effectiveSync, localStamp, seen, storedSync, type Clocks } from '../../../src/engine/clock/version.js';
import { allVectors, allVersions } from './universe.js';

test('a change made here is stamped with this replica at the epoch; old entries count as made at the first', () => {
  assert.equal(format(localStamp(5)), format(new Map([[SELF, 5]])));
  assert.equal(format(FIRST), format(localStamp(1)));
});

test('the effective s has our own entry at the current epoch; the stored s never has it', () => {
  for (const s of allVectors([SELF, 1, 2], [0, 1, 3])) {
    for (const epoch of [1, 2, 4]) {
      const eff = effectiveSync(s, epoch);
      assert.ok(le(s, eff));
      assert.equal(eff.get(SELF), Math.max(s.get(SELF) ?? 0, epoch));
      assert.ok(le(localStamp(epoch), eff), 'a replica has seen all its own changes');
    }
    const stored = storedSync(s);
    assert.equal(stored.has(SELF), false);
    assert.equal(format(effectiveSync(stored, 9)), format(effectiveSync(s, 9)), 'nothing but our own entry is lost');
  }
});

test('compare: known when theirs.m ≤ ours.s, else newer when ours.m ≤ theirs.s, else concurrent', () => {
  const all = allVersions();
  assert.equal(all.length, 64);
  const hits = new Set<string>();
  for (const ours of all) {
    for (const theirs of all) {
      const r = compare(ours, theirs);
      const expected = le(theirs.m, ours.s) ? 'known' : le(ours.m, theirs.s) ? 'newer' : 'concurrent';
      assert.equal(r, expected, `ours ${show(ours)} theirs ${show(theirs)}`);
      assert.equal(seen(theirs.m, ours.s), r === 'known');
      // Swapping the sides: a version newer than ours is one ours is known to.
      if (r === 'newer') assert.equal(compare(theirs, ours), 'known');
      if (r === 'concurrent') assert.equal(compare(theirs, ours), 'concurrent', 'concurrency is symmetric');
      hits.add(r);
    }
  }
  assert.deepEqual([...hits].sort(), ['concurrent', 'known', 'newer']);
});

function show(v: Clocks): string {
  return `m${format(v.m)} s${format(v.s)} c${format(v.c)}`;
}
