/** A set of byte ranges [start, end), kept sorted and merged. */
export class Extents {
  private ranges: [number, number][] = [];

  get empty(): boolean {
    return this.ranges.length === 0;
  }

  /** How many bytes the set holds. */
  get bytes(): number {
    let n = 0;
    for (const [s, e] of this.ranges) n += e - s;
    return n;
  }

  /** The first byte in the set, or undefined. */
  get first(): number | undefined {
    return this.ranges[0]?.[0];
  }

  /** True when [first, end) is one range: no holes before `end`. */
  coversTo(end: number): boolean {
    return this.ranges.length === 1 && this.ranges[0][1] >= end;
  }

  add(start: number, end: number): void {
    if (end <= start) return;
    const r = this.ranges;
    // Common case: appending at or after the last range.
    const last = r[r.length - 1];
    if (!last || start > last[1]) {
      r.push([start, end]);
      return;
    }
    if (start >= last[0]) {
      last[1] = Math.max(last[1], end);
      return;
    }
    const merged: [number, number][] = [];
    let placed = false;
    for (const [s, e] of r) {
      if (e < start) merged.push([s, e]);
      else if (s > end) {
        if (!placed) merged.push([start, end]);
        placed = true;
        merged.push([s, e]);
      } else {
        start = Math.min(start, s);
        end = Math.max(end, e);
      }
    }
    if (!placed) merged.push([start, end]);
    this.ranges = merged;
  }

  /** Takes [start, end) out of the set. */
  remove(start: number, end: number): void {
    if (end <= start) return;
    const kept: [number, number][] = [];
    for (const [s, e] of this.ranges) {
      if (e <= start || s >= end) kept.push([s, e]);
      else {
        if (s < start) kept.push([s, start]);
        if (e > end) kept.push([end, e]);
      }
    }
    this.ranges = kept;
  }

  /** Drops everything at or beyond `size`. */
  truncate(size: number): void {
    this.ranges = this.ranges.filter(([s]) => s < size).map(([s, e]): [number, number] => [s, Math.min(e, size)]);
  }

  clear(): void {
    this.ranges = [];
  }

  /** Cuts [start, end) into consecutive pieces, each wholly inside or outside the set. */
  *segments(start: number, end: number): Generator<{ start: number; end: number; inside: boolean }> {
    let at = start;
    for (const [s, e] of this.ranges) {
      if (e <= at) continue;
      if (s >= end) break;
      if (s > at) yield { start: at, end: s, inside: false };
      const stop = Math.min(e, end);
      yield { start: Math.max(s, at), end: stop, inside: true };
      at = stop;
    }
    if (at < end) yield { start: at, end, inside: false };
  }
}
