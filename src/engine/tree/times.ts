/**
 * Times as the tree keeps them: milliseconds since the epoch (what the rest of
 * Bazil reads and syncs) and the nanoseconds past that millisecond, so a time
 * set with utimens(2) reads back exactly.
 */
export interface Time {
  ms: number;
  /** 0 to 999999. */
  ns: number;
}

const NS_PER_MS = 1_000_000n;

/** A time given in nanoseconds since the epoch. */
export function timeOfNs(ns: bigint): Time {
  let ms = ns / NS_PER_MS;
  if (ms * NS_PER_MS > ns) ms -= 1n; // before 1970: round down, not toward zero
  return { ms: Number(ms), ns: Number(ns - ms * NS_PER_MS) };
}

/** Nanoseconds since the epoch. */
export function nsOf(ms: number, ns = 0): bigint {
  return BigInt(ms) * NS_PER_MS + BigInt(ns);
}
