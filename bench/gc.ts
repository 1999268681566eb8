/**
 * Check and garbage collection on one server (a real `bazil server run` and
 * mount): `bazil check --read-data` over a volume of MiB megabytes in 4 MiB
 * files, beside the store's read-back rate (every object file read with plain
 * reads, 8 at a time as check reads them) measured in the same run on the
 * same warm page cache; and `bazil gc` of 10,000 unreferenced objects
 * (random objects laid into the store while the server was stopped, as a
 * store with deleted files holds them), with the volume's references to walk.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printRows, timed } from './report.js';
import { Cleanup, Host, q, VOLUME } from './sync.js';

const BAZIL = fileURLToPath(new URL('../../bin/bazil.js', import.meta.url));
const MiB = 1 << 20;
const GARBAGE = 10_000;

/** Reads every object file of a store, 8 at a time; returns the bytes read. */
async function readBack(objects: string): Promise<number> {
  const files = readdirSync(objects).flatMap((fan) => readdirSync(join(objects, fan)).map((f) => join(objects, fan, f)));
  let bytes = 0;
  for (let i = 0; i < files.length; i += 8) for (const b of await Promise.all(files.slice(i, i + 8).map((f) => readFile(f)))) bytes += b.length;
  return bytes;
}

export async function benchGc(base: string, mib: number): Promise<void> {
  const root = mkdtempSync(join(base, 'gc-'));
  const cleanup = new Cleanup();
  try {
    const bin = join(root, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'bazil'), `#!/bin/sh\nexec ${q(process.execPath)} ${q(BAZIL)} "$@"\n`);
    chmodSync(join(bin, 'bazil'), 0o755);
    const h = new Host('a', join(root, 'a'), bin, cleanup);
    await h.create();
    await h.start(true);
    await h.bz(`bazil volume create ${VOLUME}`);
    await h.mount();
    const files = Math.max(1, Math.round(mib / 4));
    await h.bz(`mkdir mnt/d && for i in $(seq ${files}); do head -c ${4 * MiB} /dev/urandom >mnt/d/f$i; done`);
    const objects = join(h.dataDir, 'objects');

    // Warm both alike, then read-back, check, read-back again: the reference is their mean.
    await readBack(objects);
    let bytes = 0;
    const back1 = await timed(async () => (bytes = await readBack(objects)));
    let r = { verifiedBytes: 0, ms: 0, problems: [] as unknown[] };
    const cli = await timed(async () => (r = JSON.parse((await h.bz(`bazil check --read-data --json ${VOLUME}`)).stdout)));
    if (r.problems.length) throw new Error(`gc bench: check found problems in a fresh store: ${JSON.stringify(r.problems).slice(0, 400)}`);
    const back2 = await timed(() => readBack(objects));
    const backRate = bytes / 1e6 / ((back1 + back2) / 2);

    // 10,000 unreferenced objects, laid in while the server is stopped; the server indexes them at start.
    await h.bz(`bazil volume unmount ${VOLUME} && bazil server stop`);
    for (let i = 0; i < GARBAGE; i++) {
      const hex = randomBytes(32).toString('hex');
      mkdirSync(join(objects, hex.slice(0, 2)), { recursive: true });
      writeFileSync(join(objects, hex.slice(0, 2), hex.slice(2)), randomBytes(1024 + (i % 7) * 512));
    }
    await h.start(true);
    let removed = 0;
    // The CLI's time, start to exit.
    const gc = await timed(async () => (removed = (JSON.parse((await h.bz('bazil gc --json')).stdout) as { removed: number }).removed));
    if (removed !== GARBAGE) throw new Error(`gc bench: gc removed ${removed} objects, not the ${GARBAGE} unreferenced ones`);
    printRows(`Check and garbage collection: ${files * 4} MiB in ${files} files on one server`, [
      { name: 'check --read-data (server)', value: r.verifiedBytes / 1e6 / (r.ms / 1000), unit: 'MB/s', reference: { name: "store's read-back", value: backRate } },
      { name: 'check --read-data (CLI, start to exit)', value: r.verifiedBytes / 1e6 / cli, unit: 'MB/s', reference: { name: "store's read-back", value: backRate } },
      { name: `gc of ${GARBAGE} unreferenced objects`, value: gc, unit: 's', target: { value: 5, higher: false } },
    ]);
  } finally {
    await cleanup.run();
  }
}
