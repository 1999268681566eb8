import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chunker, gearTable, type ChunkParams } from '../../../src/engine/store/chunker.js';
import { pseudoRandom } from '../../helpers.js';

const SMALL: ChunkParams = { min: 1024, avg: 4096, max: 16384 };
const gear = gearTable(Buffer.alloc(32, 7));

function chunk(data: Buffer, pieceSizes: number[], params = SMALL): Buffer[] {
  const c = new Chunker(gear, params);
  const out: Buffer[] = [];
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = pieceSizes[i % pieceSizes.length];
    out.push(...c.push(data.subarray(off, off + n)));
    off += n;
  }
  out.push(...c.finish());
  return out;
}

test('chunks concatenate to the input and respect min and max', () => {
  const data = pseudoRandom('chunker-a', 2 << 20);
  const chunks = chunk(data, [1 << 20]);
  assert.deepEqual(Buffer.concat(chunks), data);
  for (const c of chunks.slice(0, -1)) {
    assert.ok(c.length >= SMALL.min && c.length <= SMALL.max, `chunk of ${c.length} bytes`);
  }
  const mean = data.length / chunks.length;
  assert.ok(mean > SMALL.avg / 2 && mean < SMALL.avg * 2, `mean chunk ${mean}`);
});

test('boundaries do not depend on how the input is split into pieces', () => {
  const data = pseudoRandom('chunker-b', 1 << 20);
  const lengths = (cs: Buffer[]) => cs.map((c) => c.length);
  const whole = lengths(chunk(data, [data.length]));
  assert.deepEqual(lengths(chunk(data, [1])), whole);
  assert.deepEqual(lengths(chunk(data, [1000, 3, 77777, 16384])), whole);
});

test('an insert near the start changes only the chunks around it', () => {
  const data = pseudoRandom('chunker-c', 4 << 20);
  const edited = Buffer.concat([data.subarray(0, 5000), Buffer.from('x'), data.subarray(5000)]);
  const before = new Set(chunk(data, [65536]).map((c) => c.toString('base64')));
  const after = chunk(edited, [65536]);
  const changed = after.filter((c) => !before.has(c.toString('base64')));
  const changedBytes = changed.reduce((n, c) => n + c.length, 0);
  assert.ok(changed.length <= 2, `${changed.length} chunks changed`);
  assert.ok(changedBytes <= 2 * SMALL.max);
});

test('a different key gives different boundaries', () => {
  const data = pseudoRandom('chunker-d', 1 << 20);
  const a = new Chunker(gearTable(Buffer.alloc(32, 1)), SMALL);
  const b = new Chunker(gearTable(Buffer.alloc(32, 2)), SMALL);
  const la = [...a.push(data), ...a.finish()].map((c) => c.length);
  const lb = [...b.push(data), ...b.finish()].map((c) => c.length);
  assert.notDeepEqual(la, lb);
});

test('empty input gives no chunks; constant input gives equal chunks', () => {
  assert.deepEqual(chunk(Buffer.alloc(0), [1]), []);
  // Constant input gives a constant hash: every chunk but the last has one length.
  const zeros = chunk(Buffer.alloc(100000), [4096]);
  const lengths = new Set(zeros.slice(0, -1).map((c) => c.length));
  assert.equal(lengths.size, 1);
  const [len] = lengths;
  assert.ok(len >= SMALL.min && len <= SMALL.max, `chunks of ${len}`);
  assert.equal(Buffer.concat(zeros).length, 100000);
});

test('bad parameters are refused', () => {
  assert.throws(() => new Chunker(gear, { min: 10, avg: 1000, max: 5000 }), RangeError);
  assert.throws(() => new Chunker(gear, { min: 4096, avg: 4096, max: 8192 }), RangeError);
});
