/** Small universes of vectors and versions, for tests that try every member. */
import { SELF, le, vector, type Vector } from '../../../src/engine/clock/vector.js';
import type { Clocks } from '../../../src/engine/clock/version.js';

/** Every vector over ids with epochs in epochs. */
export function allVectors(ids: number[], epochs: number[]): Vector[] {
  let out: [number, number][][] = [[]];
  for (const id of ids) out = out.flatMap((entries) => epochs.map((e) => [...entries, [id, e] as [number, number]]));
  return out.map((entries) => vector(entries));
}

/**
 * Every version as a replica may hold it (made at some stamp: c ≠ {}; and
 * c ≤ m ≤ s) over two replicas, SELF and 1, with epochs 0..2: 64 of them.
 */
export function allVersions(): Clocks[] {
  const vs = allVectors([SELF, 1], [0, 1, 2]);
  const out: Clocks[] = [];
  for (const c of vs) for (const m of vs) for (const s of vs) if (c.size > 0 && le(c, m) && le(m, s)) out.push({ m, s, c });
  return out;
}
