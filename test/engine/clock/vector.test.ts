/**
 * Version vectors, exhaustively over every vector of three replicas with
 * epochs 0..2 (27 vectors, every pair and every triple): ≤ is a partial
 * order, join is the least upper bound, and the helpers keep their word.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY, decode, encode, equal, format, join, le, raise, vector, without, type Vector } from '../../../src/engine/clock/vector.js';
import { allVectors } from './universe.js';

const IDS = [0, 1, 7];
const EPOCHS = [0, 1, 2];

const ALL = allVectors(IDS, EPOCHS);
const at = (v: Vector, id: number) => v.get(id) ?? 0;

test('there are 27 distinct vectors, and a zero epoch is no entry', () => {
  assert.equal(new Set(ALL.map(format)).size, 27);
  assert.ok(equal(vector([[3, 0]]), EMPTY));
  assert.equal(vector([[3, 0]]).size, 0);
});

test('le is element-wise ≤, and a partial order', () => {
  for (const a of ALL) {
    assert.ok(le(a, a), 'reflexive');
    assert.ok(le(EMPTY, a), 'EMPTY is the least');
    for (const b of ALL) {
      assert.equal(le(a, b), IDS.every((id) => at(a, id) <= at(b, id)), `${format(a)} ≤ ${format(b)}`);
      if (le(a, b) && le(b, a)) assert.equal(format(a), format(b), 'antisymmetric');
      assert.equal(equal(a, b), format(a) === format(b));
      for (const c of ALL) if (le(a, b) && le(b, c)) assert.ok(le(a, c), 'transitive');
    }
  }
});

test('join is the least upper bound: commutative, associative, idempotent', () => {
  for (const a of ALL) {
    assert.equal(format(join(a, a)), format(a));
    assert.equal(format(join(a, EMPTY)), format(a));
    for (const b of ALL) {
      const j = join(a, b);
      assert.ok(le(a, j) && le(b, j), 'an upper bound');
      assert.equal(format(j), format(join(b, a)), 'commutative');
      for (const c of ALL) {
        if (le(a, c) && le(b, c)) assert.ok(le(j, c), 'the least one');
        assert.equal(format(join(join(a, b), c)), format(join(a, join(b, c))), 'associative');
      }
    }
  }
});

test('raise lifts one entry to at least an epoch; without drops one entry', () => {
  for (const a of ALL) {
    for (const id of [...IDS, 9]) {
      for (const e of EPOCHS) {
        const r = raise(a, id, e);
        assert.equal(at(r, id), Math.max(at(a, id), e));
        for (const other of IDS) if (other !== id) assert.equal(at(r, other), at(a, other));
      }
      const w = without(a, id);
      assert.equal(at(w, id), 0);
      assert.ok(le(w, a));
      for (const other of IDS) if (other !== id) assert.equal(at(w, other), at(a, other));
    }
  }
});

test('encode and decode round-trip every vector; the empty one is stored as NULL', () => {
  assert.equal(encode(EMPTY), null);
  assert.equal(decode(null).size, 0);
  for (const a of ALL) {
    const bytes = encode(a);
    assert.equal(bytes === null, a.size === 0);
    assert.equal(format(decode(bytes)), format(a));
  }
  // Stored sorted by id, whatever the insertion order.
  assert.deepEqual(encode(new Map([[7, 1], [1, 2]])), encode(new Map([[1, 2], [7, 1]])));
});
