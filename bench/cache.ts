/**
 * The cache's eviction keeping up with a read far larger than its budget: two
 * servers on loopback (as the sync bench sets them up), 1 GiB written on one
 * in files of 4 MiB, and read on demand (with SHA-256, checked) on the other,
 * once with the default budget (the reference) and once with a 256 MiB budget,
 * on fresh pairs. Beside the read rate, the most the reader's store held
 * during the read (sampled every 50 ms) against its budget.
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printRows, timed } from './report.js';
import { Cleanup, digest, q, sharedPair, VOLUME } from './sync.js';
import { storeBytes } from '../test/helpers.js';

const BAZIL = fileURLToPath(new URL('../../bin/bazil.js', import.meta.url));
const MiB = 1 << 20;
const BUDGET_MIB = 256;

interface Run {
  seconds: number;
  peak: number;
}

async function readRun(root: string, bin: string, cleanup: Cleanup, files: number, budgetMiB?: number): Promise<Run> {
  const [a, b] = await sharedPair(root, bin, cleanup, true);
  await a.bz(`mkdir mnt/big && for i in $(seq ${files}); do head -c ${4 * MiB} /dev/urandom >mnt/big/f$i; done`);
  const want = await digest(a.mnt);
  await b.bz(`bazil volume sync ${VOLUME} ${a.key}`);
  if (budgetMiB) await b.bz(`bazil cache set-size ${budgetMiB}M`);
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, storeBytes(b.dataDir));
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  let got = '';
  const seconds = await timed(async () => (got = await digest(b.mnt)));
  sampling = false;
  await sampler;
  if (got !== want) throw new Error(`cache bench: what B read is not what A wrote (budget ${budgetMiB ?? 'default'})`);
  return { seconds, peak: Math.max(peak, storeBytes(b.dataDir)) };
}

export async function benchCache(base: string, mib: number): Promise<void> {
  const root = mkdtempSync(join(base, 'cache-'));
  // One pair at a time: each run's servers are stopped (and unmounted) before the next starts.
  const cleanups = [new Cleanup(), new Cleanup()];
  const files = Math.max(1, Math.round(mib / 4));
  const bytes = files * 4 * MiB;
  try {
    const bin = join(root, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'bazil'), `#!/bin/sh\nexec ${q(process.execPath)} ${q(BAZIL)} "$@"\n`);
    chmodSync(join(bin, 'bazil'), 0o755);
    const free = await readRun(join(root, 'default'), bin, cleanups[0], files);
    await cleanups[0].run();
    const tight = await readRun(join(root, 'budget'), bin, cleanups[1], files, BUDGET_MIB);
    const size = bytes >= 2 ** 30 ? `${bytes / 2 ** 30} GiB` : `${bytes / MiB} MiB`;
    printRows(`Cache: on-demand read of ${size} from a peer (with SHA-256), with a ${BUDGET_MIB} MiB budget beside the default one`, [
      {
        name: `read, ${BUDGET_MIB} MiB budget`,
        value: bytes / 1e6 / tight.seconds,
        unit: 'MB/s',
        reference: { name: 'read, default budget', value: bytes / 1e6 / free.seconds },
      },
      {
        name: `store's peak, ${BUDGET_MIB} MiB budget`,
        value: tight.peak / MiB,
        unit: 'MiB',
        reference: { name: 'the budget', value: BUDGET_MIB },
      },
      { name: "store's peak, default budget", value: free.peak / MiB, unit: 'MiB' },
    ]);
  } finally {
    for (const c of cleanups) await c.run();
  }
}
