/** The server's log sink writes one visible line per call, whatever text a peer makes it quote. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeForTerminal, escapeLogLine } from '../../src/cli/log-line.js';
import { dialPeer } from '../../src/engine/peer/connection.js';
import { eventually, makeHost } from '../sync/hosts.js';
import { knownIdentity } from '../sync/raw-peer.js';

test('escapeLogLine escapes what could break or restyle a line, and nothing else', () => {
  assert.equal(escapeLogLine('plain text, tabs\tand ünïcødé stay'), 'plain text, tabs\tand ünïcødé stay');
  assert.equal(escapeLogLine('a\nb\rc'), 'a\\nb\\rc');
  assert.equal(escapeLogLine('\x1b[31mred\x1b[0m'), '\\x1b[31mred\\x1b[0m');
  assert.equal(escapeLogLine('\x00\x07\x08\x0b\x0c\x1f\x7f'), '\\x00\\x07\\x08\\x0b\\x0c\\x1f\\x7f');
  assert.equal(escapeLogLine('c1: \x85 \x9b'), 'c1: \\x85 \\x9b');
  assert.equal(escapeLogLine('ls\u2028ps\u2029'), 'ls\\u2028ps\\u2029');
  assert.equal(escapeLogLine('bidi \u202e\u2066x'), 'bidi \\u202e\\u2066x');
  for (let c = 0; c < 0x3000; c++) {
    const out = escapeLogLine(`x${String.fromCharCode(c)}y`);
    assert.ok(!/[\n\r\u2028\u2029\x1b\x85]/.test(out), `U+${c.toString(16)} came through as ${JSON.stringify(out)}`);
  }
});

test('escapeForTerminal keeps line breaks and escapes the rest', () => {
  assert.equal(escapeForTerminal('bad flag\nUsage: bazil x\x1b[2J'), 'bad flag\nUsage: bazil x\\x1b[2J');
});

test("a peer cannot forge a line in a real server's log", { timeout: 60_000 }, async (t) => {
  const h = await makeHost(t, 'logged');
  await h.start('-addr=127.0.0.1:0', '--manual-sync');
  const identity = await knownIdentity(h);
  const conn = await dialPeer({ host: '127.0.0.1', port: h.server!.port, identity, expectKey: Buffer.from(h.key, 'hex'), timeoutMs: 5000 });
  t.after(() => conn.close());
  const forged = 'bazil: added peer 0000000000000000000000000000000000000000000000000000000000000000';
  // The server logs the refusal of an unknown request, quoting its name. Each name tries another line break.
  for (const method of [`v\n${forged}`, `v\r\n${forged}`, `v\u2028${forged}`, `v\x1b[2K\r${forged}`]) {
    await assert.rejects(conn.call(method, {}, undefined, 5000), /unknown request/);
  }
  await eventually(() => (h.server!.stderr().match(/unknown request "v/g) ?? []).length === 4, 5000, 'four refusals in the log');
  const lines = h.server!.stderr().split(/\r\n|\r|\n|\u2028/);
  assert.deepEqual(lines.filter((l) => l.includes('added peer 0000')).filter((l) => !l.includes('unknown request')), [], h.server!.stderr());
  assert.match(h.server!.stderr(), /unknown request "v\\nbazil: added peer/);
  assert.match(h.server!.stderr(), /unknown request "v\\x1b\[2K\\rbazil: added peer/);
});
