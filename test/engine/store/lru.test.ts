import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LruCache } from '../../../src/engine/store/lru.js';

test('the least recently used entries go first when the weight exceeds capacity', () => {
  const cache = new LruCache<string>(10, (v) => v.length);
  cache.set('a', 'aaaa');
  cache.set('b', 'bbbb');
  assert.equal(cache.get('a'), 'aaaa'); // a is now the most recent
  cache.set('c', 'cccc'); // 12 > 10: b goes
  assert.equal(cache.get('b'), undefined);
  assert.equal(cache.get('a'), 'aaaa');
  assert.equal(cache.get('c'), 'cccc');
  cache.set('a', 'aaaaaaa'); // replacing re-weighs: 7 + 4 > 10, c goes
  assert.equal(cache.get('c'), undefined);
  cache.set('huge', 'x'.repeat(11)); // heavier than the whole cache: not kept, nothing evicted
  assert.equal(cache.get('huge'), undefined);
  assert.equal(cache.get('a'), 'aaaaaaa');
});
