/**
 * Version vectors: for each replica (a data dir, named locally by a small id;
 * 0 is this one), the highest epoch of its that is covered. A missing entry
 * is 0. Pure functions, no I/O: the sync's decisions rest on them.
 *
 * Stored as a Buffer of sorted (uint32 id, uint32 epoch) pairs; the empty
 * vector is stored as NULL.
 */
export type Vector = ReadonlyMap<number, number>;

/** This replica's id in every vector it stores. */
export const SELF = 0;

export const EMPTY: Vector = new Map();

export function vector(entries: Iterable<readonly [number, number]>): Vector {
  const v = new Map<number, number>();
  for (const [id, epoch] of entries) if (epoch > 0) v.set(id, Math.max(epoch, v.get(id) ?? 0));
  return v;
}

/** a ≤ b: every entry of a is covered by b. */
export function le(a: Vector, b: Vector): boolean {
  for (const [id, epoch] of a) if (epoch > (b.get(id) ?? 0)) return false;
  return true;
}

/** The element-wise maximum. */
export function join(a: Vector, b: Vector): Vector {
  if (b.size === 0) return a;
  if (a.size === 0) return b;
  const out = new Map(a);
  for (const [id, epoch] of b) if (epoch > (out.get(id) ?? 0)) out.set(id, epoch);
  return out;
}

/** v with one entry raised to at least epoch. */
export function raise(v: Vector, id: number, epoch: number): Vector {
  if ((v.get(id) ?? 0) >= epoch) return v;
  const out = new Map(v);
  out.set(id, epoch);
  return out;
}

/** v without one replica's entry. */
export function without(v: Vector, id: number): Vector {
  if (!v.has(id)) return v;
  const out = new Map(v);
  out.delete(id);
  return out;
}

export function equal(a: Vector, b: Vector): boolean {
  return le(a, b) && le(b, a);
}

export function encode(v: Vector): Buffer | null {
  const ids = [...v.keys()].filter((id) => (v.get(id) ?? 0) > 0).sort((x, y) => x - y);
  if (ids.length === 0) return null;
  const buf = Buffer.alloc(ids.length * 8);
  ids.forEach((id, i) => {
    buf.writeUInt32BE(id, i * 8);
    buf.writeUInt32BE(v.get(id)!, i * 8 + 4);
  });
  return buf;
}

export function decode(buf: Uint8Array | null | undefined): Vector {
  if (!buf || buf.length === 0) return EMPTY;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const v = new Map<number, number>();
  for (let i = 0; i + 8 <= b.length; i += 8) v.set(b.readUInt32BE(i), b.readUInt32BE(i + 4));
  return v;
}

export function format(v: Vector): string {
  return `{${[...v].sort(([a], [b]) => a - b).map(([id, e]) => `${id}:${e}`).join(' ')}}`;
}
