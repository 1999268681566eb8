/** Invite codes as typed and pasted, the words from bytes, and --expires durations (pure functions). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codeSecret, formatCode, formatLongCode, parseCode, randomWords, wordsFromBytes } from '../../src/bootstrap/invite-code.js';
import { parseDuration } from '../../src/cli/invite.js';
import { isBazilError } from '../../src/engine/errors.js';

test('a code reads back as written, in either form, however it was typed', () => {
  const words = randomWords();
  assert.equal(words.length, 3);
  const code = formatCode(7, words);
  assert.deepEqual(parseCode(code), { id: 7, words, addresses: [] });
  assert.deepEqual(parseCode(`  ${code.toUpperCase().replace(/-/g, ' ')} \n`), { id: 7, words, addresses: [] });
  const long = formatLongCode(7, words, ['192.0.2.7:40123', '[2001:db8::7]:40123']);
  assert.equal(long, `${code}@192.0.2.7:40123,[2001:db8::7]:40123`);
  assert.deepEqual(parseCode(long), { id: 7, words, addresses: ['192.0.2.7:40123', '[2001:db8::7]:40123'] });
  assert.equal(codeSecret(words).toString(), words.join('-'));
});

test('a malformed code is refused before anything is sent, saying what is wrong', () => {
  const refused = (text: string, message: RegExp) =>
    assert.throws(() => parseCode(text), (err: unknown) => isBazilError(err, 'INVALID_ARGUMENT') && message.test(err.message));
  refused('apple-river-stone', /starts with the invite's number/);
  refused('7-apple-river', /a number and 3 words .* this one has 2 words/);
  refused('7-apple-rivr-stone', /"rivr" is not a word of invite codes: check the spelling \(nothing was sent, the invite is still open\)/);
  refused('7-apple-river-stone@nowhere', /"nowhere" after the @ of the code is not HOST:PORT/);
});

test('words from bytes: 11 bits each, the same bytes the same words', () => {
  assert.deepEqual(wordsFromBytes(Buffer.alloc(6), 4), ['abandon', 'abandon', 'abandon', 'abandon']);
  // 0xffe00000...: the first 11 bits set, the last word of the list.
  assert.deepEqual(wordsFromBytes(Buffer.from('ffe000000000', 'hex'), 4), ['zoo', 'abandon', 'abandon', 'abandon']);
  assert.throws(() => wordsFromBytes(Buffer.alloc(5), 4));
});

test('--expires takes 90s, 10m, 2h (a bare number is seconds)', () => {
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('10m'), 600_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('30'), 30_000);
  assert.throws(() => parseDuration('ten minutes'), /is not a duration: write e\.g\. 90s, 10m or 2h/);
});
