/** How `bazil` chooses between the terminal UI and text: only a terminal gets the UI. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bazil, tempDir } from '../helpers.js';

test('`bazil tui` without a terminal says what to use instead (exit 2); plain `bazil` in a pipe prints the status', async (t) => {
  const r = await bazil(['tui'], { stdin: 'ignore' });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'bazil: the terminal UI needs a terminal on standard input and output; in a script, use `bazil status` or `bazil events`\n');
  const home = tempDir(t, 'bazil-tui-cli-');
  const plain = await bazil([], { env: { XDG_DATA_HOME: home, HOME: home } });
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stdout, /^Welcome to bazil\. Created a new data dir in /);
  assert.match(plain.stdout, /Server: +not running/);
});
