import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContentStore, type ContentStoreOptions } from '../../../src/engine/store/content.js';
import { LocalObjectStore } from '../../../src/engine/store/objects.js';
import { isBazilError } from '../../../src/engine/errors.js';
import { inPieces, pseudoRandom, sha256hex, tempDir } from '../../helpers.js';

const KEY_A = Buffer.alloc(32, 0xa1);
const KEY_B = Buffer.alloc(32, 0xb2);

function objectStore(t: TestContext): LocalObjectStore {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'tmp'));
  return new LocalObjectStore(join(dir, 'objects'), join(dir, 'tmp'));
}

function objectFiles(objects: LocalObjectStore): string[] {
  let fanouts: string[];
  try {
    fanouts = readdirSync(objects.dir);
  } catch {
    return [];
  }
  return fanouts.flatMap((d) => readdirSync(join(objects.dir, d)).map((f) => join(objects.dir, d, f))).sort();
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

function store(objects: LocalObjectStore, key = KEY_A, options?: ContentStoreOptions): ContentStore {
  return new ContentStore(objects, key, options);
}

for (const size of [0, 1, 10 << 20]) {
  test(`round trip of ${size} bytes, whole and streamed`, async (t) => {
    const s = store(objectStore(t));
    const data = pseudoRandom(`rt-${size}`, size);
    const { manifest, size: written } = await s.writeFile(inPieces(data));
    assert.equal(written, size);
    const reader = s.reader(manifest);
    assert.equal(reader.size, size);
    assert.ok((await reader.read(0, size + 10)).equals(data));
    assert.equal(sha256hex(await collect(reader.stream())), sha256hex(data));
    // Through a stored root, as `bazil debug cas get` reads it.
    const ref = await s.putManifest(manifest);
    assert.ok((await s.reader(await s.getManifest(ref)).read(0, size)).equals(data));
  });
}

test('random byte ranges read back exactly, including across chunk and node boundaries', async (t) => {
  // Small chunks and nodes so that 3 MiB makes a tree several levels deep.
  const s = store(objectStore(t), KEY_A, { chunk: { min: 1024, avg: 4096, max: 16384 }, fanout: { avg: 4, max: 8 } });
  const data = pseudoRandom('ranges', 3 << 20);
  const { manifest } = await s.writeFile(inPieces(data));
  assert.ok(manifest.level >= 2, `tree of level ${manifest.level}`);
  const reader = s.reader(manifest);
  let seed = 12345;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let i = 0; i < 300; i++) {
    const offset = rand(data.length + 100);
    const length = rand(i % 10 === 0 ? 200000 : 5000);
    const want = data.subarray(offset, offset + length);
    assert.ok((await reader.read(offset, length)).equals(want), `read(${offset}, ${length})`);
    if (i % 30 === 0) assert.ok((await collect(reader.stream(offset, offset + length))).equals(want), `stream(${offset}, +${length})`);
  }
  assert.equal((await reader.read(data.length, 10)).length, 0);
});

test('identical content is stored once', async (t) => {
  const objects = objectStore(t);
  const s = store(objects);
  const data = pseudoRandom('dedup', 5 << 20);
  const first = await s.writeFile(inPieces(data));
  assert.ok(first.stats.newBytes >= data.length);
  const files = objectFiles(objects);
  const second = await store(objects).writeFile(inPieces(data, [333333]));
  assert.equal(second.stats.newObjects, 0);
  assert.equal(second.stats.newBytes, 0);
  assert.deepEqual(objectFiles(objects), files);
});

test('one byte inserted near the start of a 64 MiB file re-stores under 5% of it', async (t) => {
  const s = store(objectStore(t));
  const data = pseudoRandom('insert', 64 << 20);
  await s.writeFile(inPieces(data, [4 << 20]));
  const edited = Buffer.concat([data.subarray(0, 1000), Buffer.from([42]), data.subarray(1000)]);
  const { stats, manifest } = await s.writeFile(inPieces(edited, [4 << 20]));
  assert.ok(stats.newBytes < 0.05 * data.length, `re-stored ${stats.newBytes} bytes`);
  assert.equal(sha256hex(await collect(s.reader(manifest).stream())), sha256hex(edited));
});

test('a flipped byte in an object is reported as corrupt, naming it, and nothing else is touched', async (t) => {
  const objects = objectStore(t);
  const s = store(objects);
  const data = pseudoRandom('corrupt', 4 << 20);
  const { manifest } = await s.writeFile(inPieces(data));
  const other = pseudoRandom('other', 100000);
  const otherWrite = await s.writeFile(inPieces(other));
  const victimH = manifest.entries[1].h;
  const victim = objects.pathOf(s.objectId(victimH));
  const bytes = readFileSync(victim);
  bytes[bytes.length >> 1] ^= 0x40;
  writeFileSync(victim, bytes);
  const before = new Map(objectFiles(objects).map((f) => [f, sha256hex(readFileSync(f))]));

  const reader = s.reader(manifest);
  const id = s.objectId(victimH).toString('hex');
  const isCorrupt = (err: unknown) => isBazilError(err, 'CORRUPT') && err.message.includes(id);
  await assert.rejects(reader.read(0, data.length), isCorrupt);
  await assert.rejects(collect(reader.stream()), isCorrupt);
  // Chunk 0 is intact and still reads; so does the other file.
  const first = manifest.entries[0].span;
  assert.ok((await reader.read(0, first)).equals(data.subarray(0, first)));
  assert.ok((await s.reader(otherWrite.manifest).read(0, other.length)).equals(other));
  // Reading changed no stored byte.
  const after = new Map(objectFiles(objects).map((f) => [f, sha256hex(readFileSync(f))]));
  assert.deepEqual(after, before);
});

test('a missing object is NOT_FOUND, naming it', async (t) => {
  const objects = objectStore(t);
  const s = store(objects);
  const { manifest } = await s.writeFile(inPieces(pseudoRandom('missing', 3 << 20)));
  const h = manifest.entries[0].h;
  const { rmSync } = await import('node:fs');
  rmSync(objects.pathOf(s.objectId(h)));
  await assert.rejects(s.reader(manifest).read(0, 10), (err) => isBazilError(err, 'NOT_FOUND') && err.message.includes(s.objectId(h).toString('hex')));
});

test('objects on disk do not contain the plaintext', async (t) => {
  const objects = objectStore(t);
  const s = store(objects);
  const text = Buffer.from('Bazil keeps this sentence secret; no object may show it in the clear. '.repeat(30000));
  await s.putManifest((await s.writeFile(inPieces(text))).manifest);
  const needle = text.subarray(0, 24);
  const files = objectFiles(objects);
  assert.ok(files.length > 0);
  for (const f of files) assert.equal(readFileSync(f).indexOf(needle), -1, `${f} holds plaintext`);
});

test('two sharing keys give different object ids for the same content', async (t) => {
  const objects = objectStore(t);
  const data = pseudoRandom('keys', 2 << 20);
  const a = await store(objects, KEY_A).writeFile(inPieces(data));
  const filesA = new Set(objectFiles(objects));
  const b = await store(objects, KEY_B).writeFile(inPieces(data));
  assert.ok(b.stats.newBytes >= data.length, 'nothing deduplicated across keys');
  const filesB = objectFiles(objects).filter((f) => !filesA.has(f));
  assert.equal(filesB.length, filesA.size);
  // And a store under the wrong key cannot read the other's content.
  await assert.rejects(store(objects, KEY_B).reader(a.manifest).read(0, 10), (err) => isBazilError(err, 'NOT_FOUND'));
});

test('a source that fails mid-stream leaves no temp files and only complete objects', async (t) => {
  const objects = objectStore(t);
  const s = store(objects);
  const data = pseudoRandom('fail', 6 << 20);
  async function* failing() {
    yield data.subarray(0, 3 << 20);
    throw new Error('disk unplugged');
  }
  await assert.rejects(s.writeFile(failing()), /disk unplugged/);
  assert.deepEqual(readdirSync(join(objects.dir, '..', 'tmp')), []);
  // Every object that landed is complete: the full write now finds and reuses them.
  const { manifest } = await s.writeFile(inPieces(data));
  assert.ok((await s.reader(manifest).read(0, data.length)).equals(data));
});
