/** npm install applies patches/ to fuse-native and builds it from that source, not its prebuilt binary. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

test('fuse-native is the patched build', () => {
  assert.equal(require('fuse-native').BAZIL_PATCH, true, 'fuse-native loads a binary without the patch: run npm install');
  const dir = dirname(require.resolve('fuse-native/package.json'));
  const loaded: string = createRequire(`${dir}/index.js`)('node-gyp-build').path(dir); // as fuse-native loads it
  assert.equal(loaded, `${dir}/build/Release/fuse.node`);
});
