/**
 * The content store through its API: ingest and read-back of 1 GiB of random
 * data beside a plain copy and `cat` of the same bytes on the same disk, and the
 * bytes newly stored when a 256 MiB file is edited.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, fsyncSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ContentStore } from '../src/engine/store/content.js';
import { LocalObjectStore } from '../src/engine/store/objects.js';
import type { ManifestNode } from '../src/engine/store/manifest.js';
import { median, printRows, timed } from './report.js';

const MB = 1e6;
const MiB = 1 << 20;

/** Random bytes in 8 MiB pieces: an AES-CTR keystream, fast and incompressible. */
function* randomPieces(n: number): Generator<Buffer> {
  const cipher = createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16));
  const zeros = Buffer.alloc(8 * MiB);
  for (let done = 0; done < n; done += zeros.length) yield cipher.update(zeros.subarray(0, Math.min(zeros.length, n - done)));
}

export function writeRandomFile(path: string, n: number): void {
  const fd = openSync(path, 'w');
  for (const piece of randomPieces(n)) writeSync(fd, piece);
  fsyncSync(fd);
  closeSync(fd);
}

/** Empties the page cache so reads come from the disk; false when not allowed (not root). */
export function dropCaches(): boolean {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

function newStore(dir: string): ContentStore {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  return new ContentStore(new LocalObjectStore(join(dir, 'objects'), join(dir, 'tmp')), randomBytes(32));
}

async function sha256OfStream(it: AsyncIterable<Buffer>): Promise<string> {
  const h = createHash('sha256');
  for await (const b of it) h.update(b);
  return h.digest('hex');
}

/**
 * Each round measures the reference and Bazil back to back, so both meet the
 * disk in the same state; the figures are medians over the rounds (this kind
 * of virtual disk varies a lot from one run to the next).
 */
export async function benchStore(base: string, size = 1024 * MiB, rounds = 3): Promise<void> {
  const src = join(base, 'random.bin');
  writeRandomFile(src, size);
  const devnull = openSync('/dev/null', 'w');
  const copy = join(base, 'copy.bin');
  const times = { copy: [] as number[], put: [] as number[], cat: [] as number[], get: [] as number[] };
  let cold = true;
  for (let round = 0; round < rounds; round++) {
    spawnSync('sync'); // earlier rounds' dirty pages are not this measurement's to pay for
    times.copy.push(
      await timed(() => {
        spawnSync('cp', [src, copy]);
        const fd = openSync(copy, 'r');
        fsyncSync(fd);
        closeSync(fd);
      }),
    );
    rmSync(copy);
    spawnSync('sync');
    const store = newStore(join(base, 'store'));
    let manifest!: ManifestNode;
    times.put.push(
      await timed(async () => {
        manifest = (await store.writeFile(createReadStream(src, { highWaterMark: 4 * MiB }))).manifest;
      }),
    );
    cold = dropCaches() && cold;
    times.cat.push(await timed(() => spawnSync('cat', [src], { stdio: ['ignore', devnull, 'inherit'] })));
    dropCaches();
    times.get.push(
      await timed(async () => {
        for await (const piece of store.reader(manifest).stream()) void piece;
      }),
    );
    if (round === 0) {
      // Not timed: the bytes read back are the bytes written.
      const same = (await sha256OfStream(store.reader(manifest).stream())) === (await sha256OfStream(createReadStream(src)));
      if (!same) throw new Error('read-back differs from the source');
    }
  }
  closeSync(devnull);

  const rate = (secs: number[]) => size / MB / median(secs);
  const cache = cold ? 'cold cache' : 'warm cache: not root, could not drop it';
  printRows(`Store, ${size / MiB} MiB of random data, median of ${rounds} rounds (read-back verified by SHA-256)`, [
    { name: 'ingest: chunk, hash, encrypt, fsync', value: rate(times.put), unit: 'MB/s', reference: { name: 'cp + fsync', value: rate(times.copy) }, target: { value: 250, higher: true } },
    { name: `read back, decrypt, verify (${cache})`, value: rate(times.get), unit: 'MB/s', reference: { name: 'cat >/dev/null', value: rate(times.cat) }, target: { value: 500, higher: true } },
  ]);
  rmSync(join(base, 'store'), { recursive: true, force: true });
  rmSync(src);
}

export async function benchDedup(base: string, size = 256 * MiB): Promise<void> {
  const original = Buffer.concat([...randomPieces(size)]);
  const pieces = async function* (data: Buffer) {
    for (let off = 0; off < data.length; off += 4 * MiB) yield data.subarray(off, off + 4 * MiB);
  };
  const newBytesAfter = async (edited: Buffer) => {
    const store = newStore(join(base, 'dedup-store'));
    await store.writeFile(pieces(original));
    return (await store.writeFile(pieces(edited))).stats.newBytes;
  };
  const inserted = Buffer.concat([Buffer.from([0x42]), original]);
  const overwritten = Buffer.from(original);
  randomBytes(MiB).copy(overwritten, size / 2);
  const pct = (n: number) => (100 * n) / size;
  printRows(`Dedup: bytes newly stored when re-ingesting an edited ${size / MiB} MiB file`, [
    { name: '(a) one byte inserted at the front', value: pct(await newBytesAfter(inserted)), unit: '%', target: { value: 2, higher: false } },
    { name: '(b) 1 MiB overwritten in the middle', value: pct(await newBytesAfter(overwritten)), unit: '%', target: { value: 3, higher: false } },
  ]);
  rmSync(join(base, 'dedup-store'), { recursive: true, force: true });
}
