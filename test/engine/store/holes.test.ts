/** Holes in manifests: sparse content that is neither stored nor read, and chunks reused across versions. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ContentStore, HOLE_MIN, type Piece } from '../../../src/engine/store/content.js';
import { LocalObjectStore } from '../../../src/engine/store/objects.js';
import { decodeNode, encodeNode, encodedSizes, holeEntry, manifestSize, manifestStored } from '../../../src/engine/store/manifest.js';
import { isBazilError } from '../../../src/engine/errors.js';
import { pseudoRandom, tempDir } from '../../helpers.js';

const TiB = 2 ** 40;

/** A local object store that counts the objects read from it. */
class CountingStore extends LocalObjectStore {
  gets = 0;
  override get(id: Uint8Array): Promise<Buffer> {
    this.gets++;
    return super.get(id);
  }
}

function store(t: TestContext, options?: ConstructorParameters<typeof ContentStore>[2]): ContentStore {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'tmp'));
  return new ContentStore(new CountingStore(join(dir, 'objects'), join(dir, 'tmp')), Buffer.alloc(32, 7), options);
}

test('a 1 TiB file of holes and a few pieces of data stores only the data, and reads back zeros in the holes', async (t) => {
  const s = store(t);
  const a = pseudoRandom('a', 100_000);
  const b = pseudoRandom('b', 5);
  const { manifest, size, stats } = await s.writeFile([a, { hole: 2 ** 39 }, b, { hole: TiB - 2 ** 39 - a.length - b.length }]);
  assert.equal(size, TiB);
  assert.equal(stats.bytes, a.length + b.length);
  assert.equal(manifestStored(manifest), a.length + b.length);
  assert.deepEqual(encodedSizes(encodeNode(manifest), 'x'), { size: TiB, stored: a.length + b.length });
  const r = s.reader(manifest);
  assert.equal(r.size, TiB);
  assert.ok((await r.read(0, a.length)).equals(a));
  assert.ok((await r.read(a.length + 2 ** 39, 5)).equals(b));
  // Across the edges of a hole, and deep inside one.
  const edge = await r.read(a.length - 3, 10);
  assert.ok(edge.equals(Buffer.concat([a.subarray(-3), Buffer.alloc(7)])));
  assert.ok((await r.read(TiB - 128 * 1024, 1 << 20)).equals(Buffer.alloc(128 * 1024)));
  let streamed = 0;
  for await (const piece of r.stream(a.length - 10, a.length + (3 << 20))) {
    assert.ok(piece.length <= 1 << 20);
    streamed += piece.length;
  }
  assert.equal(streamed, 10 + (3 << 20));
});

test('a file without holes keeps the BZM1 encoding; holes make BZM2, which decodes losslessly', async (t) => {
  const s = store(t);
  const plain = (await s.writeFile([pseudoRandom('p', 1000)])).manifest;
  assert.equal(encodeNode(plain).subarray(0, 4).toString(), 'BZM1');
  const sparse = (await s.writeFile([{ hole: HOLE_MIN }, pseudoRandom('p', 1000), { hole: HOLE_MIN + 1 }])).manifest;
  const bytes = encodeNode(sparse);
  assert.equal(bytes.subarray(0, 4).toString(), 'BZM2');
  assert.deepEqual(decodeNode(bytes, 'x'), sparse);
  assert.equal(manifestSize(sparse), 2 * HOLE_MIN + 1001);
  // An empty file and an all-hole file.
  assert.equal((await s.writeFile([])).size, 0);
  const holes = (await s.writeFile([{ hole: HOLE_MIN }, { hole: 6 }])).manifest;
  assert.deepEqual(holes, { level: 0, entries: [holeEntry(HOLE_MIN + 6)] });
  assert.ok((await s.reader(holes).read(0, 1 << 20)).equals(Buffer.alloc(HOLE_MIN + 6)));
  // Short holes are zeros: a byte every 4 KiB (posix_fallocate's fallback) makes no tiny chunks.
  const dotted: Piece[] = [];
  for (let i = 0; i < 1000; i++) dotted.push(Buffer.alloc(1), { hole: 4095 });
  const { manifest: zeros, stats } = await s.writeFile(dotted);
  assert.equal(manifestSize(zeros), 4096 * 1000);
  assert.equal(manifestStored(zeros), 4096 * 1000);
  assert.ok(stats.chunks <= 2, `${stats.chunks} chunks`);
});

test('BZM2 nodes that claim impossible stored counts are CORRUPT', () => {
  const h = pseudoRandom('h', 32);
  const bad = [
    // A data entry at level 0 that claims to store less than its span.
    { level: 0, entries: [{ h, span: 100, stored: 50 }] },
    // A hole entry with a hash: it would point at an object.
    { level: 0, entries: [{ h, span: 100, stored: 0 }] },
  ];
  for (const node of bad) assert.throws(() => decodeNode(encodeNode(node), 'object abc'), (err) => isBazilError(err, 'CORRUPT'));
  const more = encodeNode({ level: 1, entries: [{ h, span: 100, stored: 50 }] });
  more.writeBigUInt64LE(101n, more.length - 8); // stored > span
  assert.throws(() => decodeNode(more, 'object abc'), (err) => isBazilError(err, 'CORRUPT'));
});

test('holes deep in a manifest tree: stored counts add up through the levels', async (t) => {
  const s = store(t, { chunk: { min: 256, avg: 1024, max: 4096 }, fanout: { avg: 4, max: 8 } });
  const pieces: Piece[] = [];
  const data: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    const d = pseudoRandom(`d${i}`, 3000);
    data.push(d);
    pieces.push(d, { hole: 1 << 30 });
  }
  const { manifest } = await s.writeFile(pieces);
  assert.ok(manifest.level >= 1, `level ${manifest.level}`);
  assert.equal(manifestStored(manifest), 40 * 3000);
  const r = s.reader(manifest);
  for (let i = 0; i < 40; i += 7) assert.ok((await r.read(i * (3000 + (1 << 30)), 3000)).equals(data[i]));
});

test('a new version written from the old one reuses its chunks: an append or an edit stores little', async (t) => {
  // No chunk cache: every chunk the new version needs from the old is read from the object store.
  const s = store(t, { cacheBytes: 0 });
  const objects = s.objects as CountingStore;
  const old = pseudoRandom('old', 40 << 20);
  const v1 = (await s.writeFile([old])).manifest;
  const r1 = s.reader(v1);

  // An edit of 10 bytes in the middle: chunks before and after it are reused, not re-stored.
  const edit = Buffer.alloc(10, 0x55);
  const mid = 20 << 20;
  const v2 = await s.writeFile(
    (async function* () {
      yield* r1.pieces(0, mid, false);
      yield edit;
      yield* r1.pieces(mid + 10, old.length, true);
    })(),
  );
  assert.ok(objects.gets <= 4, `an edit read ${objects.gets} of the old version's chunks`);
  const expected = Buffer.from(old);
  edit.copy(expected, mid);
  assert.ok((await s.reader(v2.manifest).read(0, expected.length)).equals(expected));
  assert.ok(v2.stats.newBytes < 10 << 20, `an edit re-stored ${v2.stats.newBytes} bytes`);
  // The same as writing the new content in one go: the cut points lined up again.
  const direct = await s.writeFile([expected]);
  assert.deepEqual(direct.manifest, v2.manifest);

  // An append: the old last chunk (cut by the end of the file) is re-chunked with the new bytes.
  const tail = pseudoRandom('tail', 3 << 20);
  const v3 = await s.writeFile(
    (async function* () {
      yield* r1.pieces(0, old.length, false);
      yield tail;
    })(),
  );
  assert.deepEqual(v3.manifest, (await s.writeFile([old, tail])).manifest);
});

test('nextData and nextHole find where data and holes begin, through a manifest tree of several levels', async (t) => {
  // A small fanout: the entries are spread over many nodes, mixed ones and ones that are all holes.
  const s = store(t, { fanout: { avg: 2, max: 3 } });
  const pieces: Piece[] = [];
  const data: [number, number][] = [];
  let at = 0;
  for (let i = 0; i < 40; i++) {
    const hole = i % 3 === 0 ? 2 ** 30 + i : HOLE_MIN + i * 7;
    const runs = i % 5 === 0 ? 3 : 1; // holes one after another
    for (let k = 0; k < runs; k++) pieces.push({ hole }), (at += hole);
    const bytes = pseudoRandom(`d${i}`, 100 + i * 31);
    pieces.push(bytes);
    data.push([at, at + bytes.length]);
    at += bytes.length;
  }
  pieces.push({ hole: TiB });
  const size = at + TiB;
  const { manifest } = await s.writeFile(pieces);
  assert.ok(manifest.level >= 2, `a tree of ${manifest.level + 1} levels`);
  const r = s.reader(manifest);
  assert.equal(r.size, size);
  const expectData = (off: number) => {
    const next = data.find(([, e]) => e > off);
    return next && Math.max(off, next[0]);
  };
  const expectHole = (off: number) => data.find(([b, e]) => b <= off && off < e)?.[1] ?? off;
  const offsets = [0, 1, size - 1, ...data.flatMap(([b, e]) => [b - 1, b, b + 1, e - 1, e, e + 1])];
  for (const off of offsets) {
    assert.equal(await r.nextData(off), expectData(off), `SEEK_DATA from ${off}`);
    assert.equal(await r.nextHole(off), expectHole(off), `SEEK_HOLE from ${off}`);
  }
  // Without holes, everything is data up to the end.
  const plain = s.reader((await s.writeFile([pseudoRandom('p', 300_000)])).manifest);
  assert.equal(await plain.nextData(1000), 1000);
  assert.equal(await plain.nextHole(1000), 300_000);
});
