/** Benchmark figures printed beside their references, as a table. */
export interface Row {
  name: string;
  value: number;
  unit: string;
  /** What the figure is compared with, measured in the same run. */
  reference?: { name: string; value: number };
  /** The target and whether higher is better. */
  target?: { value: number; higher: boolean };
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
/** Two decimals, or two significant digits for a ratio far below 1 (which would show as 0.00). */
const ratio = (x: number) => (x >= 0.1 || x === 0 ? x.toFixed(2) : x.toPrecision(2));

export function printRows(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  const w = Math.max(...rows.map((r) => r.name.length));
  const rw = Math.max(0, ...rows.map((r) => r.reference?.name.length ?? 0));
  for (const r of rows) {
    const ref = r.reference
      ? `${r.reference.name.padEnd(rw)} ${fmt(r.reference.value).padStart(7)} ${r.unit.padEnd(5)} ratio ${ratio(r.value / r.reference.value)}`
      : ''.padEnd(rw + 26);
    const met = r.target ? (r.target.higher ? r.value >= r.target.value : r.value < r.target.value) : undefined;
    const target = r.target ? `  target ${r.target.higher ? '>=' : '<'} ${r.target.value} ${r.unit}: ${met ? 'met' : 'NOT MET'}` : '';
    console.log(`  ${r.name.padEnd(w)} ${fmt(r.value).padStart(7)} ${r.unit.padEnd(5)}  ${ref}${target}`);
  }
}

/** Seconds taken by fn. */
export async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
