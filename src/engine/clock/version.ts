/**
 * A version's clocks and the rules that read them (vector time pairs: Cox &
 * Josephson, "File synchronization with vector time pairs"). Pure functions,
 * no I/O: the tree stores clocks, the sync compares them, and both do it
 * through here.
 *
 *   m: the modification vector, the stamp of the version's last change (a
 *      directory's is the join of its subtree's);
 *   s: the sync vector, what the replica holding it has seen of every replica
 *      (a directory's is the least of its subtree's);
 *   c: the creation vector, the stamp of the name's creation.
 *
 * A change made here is stamped {SELF: the current epoch}. A replica has seen
 * all its own changes, so its effective s has its own entry at the current
 * epoch; stored, that entry would claim changes not made yet, so it is
 * stored without it.
 */
import { SELF, le, raise, without, type Vector } from './vector.js';

/** A version's three vectors. */
export interface Clocks {
  m: Vector;
  s: Vector;
  c: Vector;
}

/** The stamp of a change made here at epoch. */
export function localStamp(epoch: number): Vector {
  return new Map([[SELF, epoch]]);
}

/** The clocks of entries made before vectors existed: made here, at the first epoch. */
export const FIRST: Vector = localStamp(1);

/** What this replica has seen: a stored s with its own entry at the current epoch. */
export function effectiveSync(stored: Vector, epoch: number): Vector {
  return raise(stored, SELF, epoch);
}

/** A sync vector as stored: without this replica's own entry. */
export function storedSync(s: Vector): Vector {
  return without(s, SELF);
}

/** A version with modification vector m is known to a replica that has seen s. */
export function seen(m: Vector, s: Vector): boolean {
  return le(m, s);
}

/**
 * The pull rule for two versions of one name: if theirs is known to us,
 * nothing to do; else if ours is known to them, theirs supersedes ours;
 * else each changed what the other had not seen: concurrent.
 */
export function compare(ours: { m: Vector; s: Vector }, theirs: { m: Vector; s: Vector }): 'known' | 'newer' | 'concurrent' {
  if (seen(theirs.m, ours.s)) return 'known';
  if (seen(ours.m, theirs.s)) return 'newer';
  return 'concurrent';
}
