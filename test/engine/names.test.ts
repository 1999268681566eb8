/**
 * File names as bytes (engine/names.ts): the engine's string of a name maps one
 * to one onto its bytes, as Python's surrogateescape does; showName spells it
 * for people and readShownName reads that spelling back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { isNameString, nameBytes, nameFromBytes, readShownName, showName } from '../../src/engine/names.js';

/** Random byte strings, biased towards UTF-8 lead and continuation bytes so that valid, broken and overlong sequences all occur. */
function randomNames(n: number): Buffer[] {
  const pick = [0x61, 0x2e, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xc3, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
  return Array.from({ length: n }, () => {
    const b = Buffer.alloc(randomInt(0, 12));
    for (let i = 0; i < b.length; i++) b[i] = randomInt(3) === 0 ? randomBytes(1)[0] : pick[randomInt(pick.length)];
    return b;
  });
}

test('any bytes round-trip, and names differing in any byte stay different', () => {
  const names = randomNames(5000);
  const seen = new Map<string, string>();
  for (const b of names) {
    const s = nameFromBytes(b);
    assert.ok(nameBytes(s).equals(b), b.toString('hex'));
    assert.ok(isNameString(s));
    const hex = seen.get(s);
    assert.ok(hex === undefined || hex === b.toString('hex'), `${hex} and ${b.toString('hex')} have one string`);
    seen.set(s, b.toString('hex'));
  }
  // Valid UTF-8 is its text, unchanged.
  for (const text of ['café', '日本語', '\u{1F600}', '\ufffd', '']) assert.equal(nameFromBytes(Buffer.from(text)), text);
});

test("the strings are Python's os.fsdecode of the same bytes", { skip: spawnable() }, () => {
  const names = randomNames(2000);
  const out = execFileSync(
    'python3',
    ['-c', 'import sys, json; print(json.dumps([bytes.fromhex(h).decode("utf-8", "surrogateescape") for h in sys.stdin.read().split()]))'],
    { input: names.map((b) => b.toString('hex') || '').join('\n') },
  ).toString();
  // An empty name reads as no line: compare the non-empty ones.
  const ours = names.filter((b) => b.length > 0).map(nameFromBytes);
  assert.deepEqual(JSON.parse(out), ours);
});

function spawnable(): string | false {
  try {
    execFileSync('python3', ['-c', '']);
    return false;
  } catch {
    return 'python3 is not installed';
  }
}

test('strings that are not the one spelling of some bytes are told apart', () => {
  for (const s of ['\ud800', 'a\udc00b', '\udc7f', '\udcc3\udca9', '\udce2\udc82\udcac']) assert.equal(isNameString(s), false, JSON.stringify(s));
  for (const s of ['\udce9', 'caf\udce9.txt', '\udcc3(', '\udcff\udcfe', '\u{10080}']) assert.equal(isNameString(s), true, JSON.stringify(s));
});

test('names are shown with an escape for each byte that is not UTF-8 or unsafe on a terminal, and read back from that spelling', () => {
  const shown: [Buffer, string][] = [
    [Buffer.from('café.txt'), 'café.txt'],
    [Buffer.from('caf\xe9.txt', 'latin1'), 'caf\\xe9.txt'],
    [Buffer.from([0xff, 0xfe]), '\\xff\\xfe'],
    [Buffer.from('new\nline'), 'new\\x0aline'],
    [Buffer.from('esc\x1b[31m'), 'esc\\x1b[31m'],
    [Buffer.from('a\\b'), 'a\\\\b'],
    [Buffer.from('\u202egnp.exe'), '\\xe2\\x80\\xaegnp.exe'],
    [Buffer.from('c1\u0085'), 'c1\\xc2\\x85'],
  ];
  for (const [bytes, spelled] of shown) {
    assert.equal(showName(nameFromBytes(bytes)), spelled);
    assert.ok(nameBytes(readShownName(spelled)).equals(bytes), spelled);
  }
  for (const b of randomNames(2000)) assert.ok(nameBytes(readShownName(showName(nameFromBytes(b)))).equals(b), b.toString('hex'));
  // A backslash that starts no escape is itself.
  assert.equal(readShownName('a\\b\\x4'), 'a\\b\\x4');
});
