/**
 * `npm run bench`: every figure beside a reference measured in the same run.
 * BAZIL_BENCH_DIR picks the disk (default: a temp dir); BAZIL_BENCH_MIB scales the
 * 1 GiB store and FUSE runs down for a quick look; BAZIL_BENCH_ROUNDS sets the rounds (3);
 * BAZIL_BENCH_FILES the small files (10000); BAZIL_BENCH_STORE=0, BAZIL_BENCH_FUSE=0 or
 * BAZIL_BENCH_SYNC=0 or BAZIL_BENCH_RESPONSIVE=0 skips a part. The sync bench (two servers, beside rsync) takes
 * BAZIL_BENCH_SYNC_MIB (else BAZIL_BENCH_MIB), BAZIL_BENCH_SYNC_FILES (else BAZIL_BENCH_FILES),
 * BAZIL_BENCH_SYNC_ROUNDS (1), and BAZIL_BENCH_SYNC_AUTO=0 to skip its run with automatic sync.
 * The cache bench (a read at a 256 MiB budget beside the default) takes BAZIL_BENCH_CACHE_MIB
 * (else BAZIL_BENCH_MIB); BAZIL_BENCH_CACHE=0 skips it. The check and gc bench (check --read-data beside the
 * store's read-back, gc of 10,000 unreferenced objects) takes BAZIL_BENCH_GC_MIB (else BAZIL_BENCH_MIB);
 * BAZIL_BENCH_GC=0 skips it. The pair bench (`bazil pair` to the first file read
 * on the other side, beside `ssh host true`) needs root and sshd; BAZIL_BENCH_PAIR=0 skips it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchCache } from './cache.js';
import { benchFuse } from './fuse.js';
import { benchGc } from './gc.js';
import { benchPair } from './pair.js';
import { benchDedup, benchStore } from './store.js';
import { benchResponsiveness } from './responsiveness.js';
import { benchSync } from './sync.js';

// The servers it starts (and the commands that start them) inherit this: no mDNS on the real network.
process.env.BAZIL_DISCOVERY = '0';
const base = mkdtempSync(join(process.env.BAZIL_BENCH_DIR || tmpdir(), 'bazil-bench-'));
const mib = Number(process.env.BAZIL_BENCH_MIB || 1024);
console.log(`bazil benchmarks: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, in ${base}`);
try {
  if (process.env.BAZIL_BENCH_STORE !== '0') {
    await benchStore(base, mib * 2 ** 20, Number(process.env.BAZIL_BENCH_ROUNDS || 3));
    await benchDedup(base);
  }
  if (process.env.BAZIL_BENCH_FUSE !== '0') await benchFuse(base, mib * 2 ** 20, Number(process.env.BAZIL_BENCH_FILES || 10000), Number(process.env.BAZIL_BENCH_ROUNDS || 3));
  if (process.env.BAZIL_BENCH_SYNC !== '0') {
    await benchSync(base, {
      mib: Number(process.env.BAZIL_BENCH_SYNC_MIB || process.env.BAZIL_BENCH_MIB || 1024),
      files: Number(process.env.BAZIL_BENCH_SYNC_FILES || process.env.BAZIL_BENCH_FILES || 10000),
      rounds: Number(process.env.BAZIL_BENCH_SYNC_ROUNDS || 1),
      auto: process.env.BAZIL_BENCH_SYNC_AUTO !== '0',
    });
  }
  if (process.env.BAZIL_BENCH_RESPONSIVE !== '0') await benchResponsiveness(base);
  if (process.env.BAZIL_BENCH_PAIR !== '0') await benchPair(base);
  if (process.env.BAZIL_BENCH_GC !== '0') await benchGc(base, Number(process.env.BAZIL_BENCH_GC_MIB || process.env.BAZIL_BENCH_MIB || 1024));
  if (process.env.BAZIL_BENCH_CACHE !== '0') await benchCache(base, Number(process.env.BAZIL_BENCH_CACHE_MIB || process.env.BAZIL_BENCH_MIB || 1024));
} finally {
  rmSync(base, { recursive: true, force: true });
}
