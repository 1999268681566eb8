/** Human-readable sizes and rates for CLI output; JSON for scripts; commands to suggest. */
import { resolve } from 'node:path';
import { defaultDataDir } from '../engine/datadir.js';

/**
 * A bazil command line to suggest, runnable as shown: with -data-dir=PATH
 * (at the end, where the words stay readable) when the data dir is not the one
 * bazil would use without it.
 */
export function bazilCommand(dataDir: string, words: string): string {
  const usual = process.env.BAZIL_DATA_DIR || defaultDataDir();
  return resolve(dataDir) === resolve(usual) ? `bazil ${words}` : `bazil ${words} -data-dir=${resolve(dataDir)}`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

/**
 * A progress line on stderr for long work, redrawn at most every 200 ms, and
 * only when stderr is a terminal (logs and pipes stay clean).
 */
export function progressLine(label: string, total?: number): { update(done: number): void; end(): void } {
  const tty = process.stderr.isTTY;
  const start = Date.now();
  let last = 0;
  let shown = false;
  return {
    update(done: number) {
      const now = Date.now();
      if (!tty || now - last < 200) return;
      last = now;
      shown = true;
      const rate = done / Math.max(0.001, (now - start) / 1000);
      const of = total ? ` of ${formatBytes(total)} (${Math.floor((100 * done) / total)}%)` : '';
      process.stderr.write(`\r${label} ${formatBytes(done)}${of}, ${formatBytes(rate)}/s\x1b[K`);
    },
    end() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}
