/**
 * Invite codes, as people read them aloud and paste them: the invite's number
 * and three words of the BIP-39 English list (2048 words, each unique in its
 * first four letters), e.g. `7-apple-river-stone`. The number is public (it
 * names the invite); the words are the secret the PAKE turns into a key:
 * 33 bits, and an invite dies at the first wrong guess.
 *
 * The long form adds where the inviter waits, for use across networks:
 * `7-apple-river-stone@192.0.2.7:40123,[2001:db8::7]:40123`.
 *
 * The verification string both sides show is four words derived from the
 * session key: equal on both screens means no one sat in the middle.
 */
import { randomInt } from 'node:crypto';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { BazilError } from '../engine/errors.js';

export const CODE_WORDS = 3;
export const VERIFICATION_WORDS = 4;
const BITS_PER_WORD = 11;
const WORDS = new Set(wordlist);

export interface InviteCode {
  id: number;
  words: string[];
  /** HOST:PORT where the inviter waits; empty for the short form (found on the LAN). */
  addresses: string[];
}

export function randomWords(n = CODE_WORDS): string[] {
  return Array.from({ length: n }, () => wordlist[randomInt(wordlist.length)]!);
}

/** Words from bytes, 11 bits each (bytes must hold n × 11 bits). */
export function wordsFromBytes(bytes: Uint8Array, n = VERIFICATION_WORDS): string[] {
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  const spare = BigInt(bytes.length * 8 - n * BITS_PER_WORD);
  if (spare < 0n) throw new BazilError('INTERNAL', `${bytes.length} bytes cannot make ${n} words`);
  bits >>= spare;
  const out: string[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(wordlist[Number((bits >> BigInt(i * BITS_PER_WORD)) & 0x7ffn)]!);
  return out;
}

export function formatCode(id: number, words: string[]): string {
  return [String(id), ...words].join('-');
}

export function formatLongCode(id: number, words: string[], addresses: string[]): string {
  return `${formatCode(id, words)}@${addresses.join(',')}`;
}

/** The PAKE's password: the words, normalized, as the inviter made them. */
export function codeSecret(words: string[]): Buffer {
  return Buffer.from(words.join('-'), 'utf8');
}

const ADDRESS = /^(?:\[[0-9a-f:.]+(?:%[\w.-]+)?\]|[a-z0-9.-]+):\d{1,5}$/i;

/**
 * Reads a code as typed or pasted: spaces or dashes between the parts, any
 * case. A misspelt word is refused here, before anything is sent: a typo must
 * not cost the invite.
 */
export function parseCode(text: string): InviteCode {
  const typed = text.trim().toLowerCase();
  const at = typed.indexOf('@');
  const short = at < 0 ? typed : typed.slice(0, at);
  const addresses = at < 0 ? [] : typed.slice(at + 1).split(',').map((a) => a.trim()).filter(Boolean);
  const parts = short.split(/[\s-]+/).filter(Boolean);
  const example = 'e.g. 7-apple-river-stone, or its long form with @addresses';
  if (parts.length === 0 || !/^\d{1,6}$/.test(parts[0]!)) {
    throw new BazilError('INVALID_ARGUMENT', `an invite code starts with the invite's number (${example}); check what you copied`);
  }
  const words = parts.slice(1);
  if (words.length !== CODE_WORDS) {
    throw new BazilError('INVALID_ARGUMENT', `an invite code has a number and ${CODE_WORDS} words (${example}); this one has ${words.length} word${words.length === 1 ? '' : 's'}`);
  }
  const unknown = words.filter((w) => !WORDS.has(w));
  if (unknown.length) {
    throw new BazilError(
      'INVALID_ARGUMENT',
      `${unknown.map((w) => `"${w}"`).join(', ')} ${unknown.length === 1 ? 'is not a word' : 'are not words'} of invite codes: check the spelling (nothing was sent, the invite is still open)`,
    );
  }
  for (const a of addresses) {
    if (!ADDRESS.test(a)) throw new BazilError('INVALID_ARGUMENT', `"${a}" after the @ of the code is not HOST:PORT; copy the whole long code again`);
  }
  return { id: Number(parts[0]), words, addresses };
}
