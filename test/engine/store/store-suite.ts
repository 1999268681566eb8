/**
 * The one test suite every remote store passes (dir:, sftp://), run by one
 * test file per kind against a real instance. A kind gives a fresh store and
 * its own ways to interrupt a put half way, find the file of a stored object,
 * and unplug the store.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ContentStore } from '../../../src/engine/store/content.js';
import { LocalObjectStore } from '../../../src/engine/store/objects.js';
import { MAX_OBJECT_BYTES, storeSource, type RemoteStore } from '../../../src/engine/store/remote.js';
import { isBazilError } from '../../../src/engine/errors.js';
import { pseudoRandom, tempDir } from '../../helpers.js';

export interface StoreUnderTest {
  store: RemoteStore;
  /** Starts a put of the object and kills it half way (as a crash or a dropped connection would). */
  interruptPut(id: Buffer, bytes: Buffer): Promise<void>;
  /** The file that holds a stored object, to change it behind the store's back. */
  objectFile(id: Buffer): string;
  /** Makes the store unreachable (a disk unplugged, a server stopped); `store` must then fail UNAVAILABLE. */
  unplug(): Promise<void>;
}

export interface StoreKind {
  /** Why the kind cannot be tested here, or undefined. */
  cannotRun(): string | undefined;
  /** A fresh, empty store, torn down when the test ends. */
  make(t: TestContext): Promise<StoreUnderTest>;
  /** How long an unplugged store may take to say UNAVAILABLE (its timeout, plus slack for a loaded machine). */
  unavailableWithinMs: number;
}

const id = () => randomBytes(32);

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isBazilError(err), `expected a BazilError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

function localStore(t: TestContext): LocalObjectStore {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'tmp'));
  return new LocalObjectStore(join(dir, 'objects'), join(dir, 'tmp'));
}

export function storeSuite(kindName: string, kind: StoreKind): void {
  const skip = kind.cannotRun();
  const it = (name: string, fn: (t: TestContext) => Promise<void>) => test(`${kindName}: ${name}`, skip ? { skip } : {}, fn);

  it('put, get, has, list, delete', async (t) => {
    const { store } = await kind.make(t);
    const a = id();
    const b = id();
    const bytes = pseudoRandom('a', 300_000);
    assert.equal(await store.has(a), false);
    await rejectsWith(store.get(a), 'NOT_FOUND');
    assert.equal(await store.put(a, bytes), true);
    assert.equal(await store.put(a, bytes), false, 'a second put of the same object is a no-op');
    assert.equal(await store.put(b, Buffer.alloc(0)), true);
    assert.equal(await store.has(a), true);
    assert.deepEqual(await store.get(a), bytes);
    assert.deepEqual(await store.get(b), Buffer.alloc(0));
    assert.deepEqual((await store.list()).map((x) => x.toString('hex')).sort(), [a, b].map((x) => x.toString('hex')).sort());
    await store.delete(a);
    await store.delete(a); // absent is fine
    assert.equal(await store.has(a), false);
    await rejectsWith(store.get(a), 'NOT_FOUND');
    assert.deepEqual((await store.list()).map((x) => x.toString('hex')), [b.toString('hex')]);
  });

  it('concurrent puts of the same object store it once, whole', async (t) => {
    const { store } = await kind.make(t);
    const a = id();
    const bytes = pseudoRandom('same', 2 << 20);
    const results = await Promise.all(Array.from({ length: 6 }, () => store.put(a, bytes)));
    assert.ok(results.includes(true), 'some put stored it');
    assert.deepEqual(await store.get(a), bytes);
    assert.equal((await store.list()).length, 1);
  });

  it('a put interrupted half way leaves nothing visible', async (t) => {
    const under = await kind.make(t);
    const a = id();
    const bytes = pseudoRandom('big', 64 << 20);
    await under.interruptPut(a, bytes);
    assert.equal(await under.store.has(a), false);
    await rejectsWith(under.store.get(a), 'NOT_FOUND');
    assert.deepEqual(await under.store.list(), []);
    assert.equal(await under.store.put(a, bytes.subarray(0, 1000)), true, 'the object can be put again');
  });

  it('a corrupt object fails the read CORRUPT through the content store, and is not kept locally', async (t) => {
    const under = await kind.make(t);
    const key = randomBytes(32);
    const writer = new ContentStore(localStore(t), key);
    const data = pseudoRandom('file', 3 << 20);
    const { manifest } = await writer.writeFile([data], undefined);
    // Upload every object of the file (what `bazil store push` does).
    const ids = manifest.entries.map((e) => writer.objectId(e.h));
    for (const oid of ids) await under.store.put(oid, await writer.objects.get(oid));
    const fresh = () => {
      const local = localStore(t);
      return { local, content: new ContentStore(local, key, { sources: () => [storeSource(under.store)] }) };
    };
    const good = fresh();
    assert.deepEqual(await good.content.reader(manifest).read(0, data.length), data);
    const bytes = readFileSync(under.objectFile(ids[0]));
    bytes[bytes.length >> 1] ^= 0x01;
    writeFileSync(under.objectFile(ids[0]), bytes);
    const bad = fresh();
    await rejectsWith(bad.content.reader(manifest).read(0, 1000), 'CORRUPT');
    assert.equal(await bad.local.has(ids[0]), false, 'bad bytes are never stored locally');
  });

  it('a file too big to be an object is refused CORRUPT, not read whole', async (t) => {
    const under = await kind.make(t);
    const a = id();
    await under.store.put(a, Buffer.from('x'));
    truncateSync(under.objectFile(a), MAX_OBJECT_BYTES + 1); // sparse: no disk used
    await rejectsWith(under.store.get(a), 'CORRUPT');
  });

  it('an unplugged store answers UNAVAILABLE, within its timeout', async (t) => {
    const under = await kind.make(t);
    const a = id();
    await under.store.put(a, Buffer.from('x'));
    await under.unplug();
    const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${kind.unavailableWithinMs} ms`)), kind.unavailableWithinMs).unref());
    for (const op of [() => under.store.get(a), () => under.store.get(id()), () => under.store.has(a), () => under.store.put(id(), Buffer.from('y')), () => under.store.list()]) {
      await Promise.race([rejectsWith(op(), 'UNAVAILABLE'), deadline]);
    }
  });
}
