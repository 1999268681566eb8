import { BazilError } from './errors.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Checks a user-chosen name (volume, sharing key): letters, digits, . _ -, at most 64. */
export function checkName(kind: string, name: string): string {
  if (!NAME.test(name)) {
    throw new BazilError(
      'INVALID_ARGUMENT',
      `"${name}" is not a valid ${kind} name: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return name;
}

// ---- file names as bytes ------------------------------------------------------
//
// A file name is any bytes but '/' and NUL, as Linux has it: programs may give
// names that are not UTF-8 (Latin-1 'caf\xe9', bytes from a binary). The engine
// keeps a name as a JavaScript string that maps one to one onto its bytes: each
// run of valid UTF-8 is its text, and each byte that is not part of valid UTF-8
// is the lone surrogate U+DC80 + (byte - 0x80), which valid text never contains
// (PEP 383's "surrogateescape", the form Python's os.fsdecode gives too). So a
// name compares, joins into paths and keys maps as text, and two names that
// differ in any byte stay two names. Bytes are made of it only where names
// leave the engine: the FUSE edge (the kernel's bytes), the database (BLOB
// columns), the wire (JSON, where such a surrogate is written \udcNN), and
// showName for people.

/** How many bytes at `i` form one well-formed UTF-8 sequence (Unicode's table 3-7), or 0. */
function sequenceAt(b: Uint8Array, i: number): number {
  const x = b[i];
  if (x < 0x80) return 1;
  const cont = (j: number, lo = 0x80, hi = 0xbf) => i + j < b.length && b[i + j] >= lo && b[i + j] <= hi;
  if (x >= 0xc2 && x <= 0xdf) return cont(1) ? 2 : 0;
  if (x >= 0xe0 && x <= 0xef) {
    const [lo, hi] = x === 0xe0 ? [0xa0, 0xbf] : x === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (x >= 0xf0 && x <= 0xf4) {
    const [lo, hi] = x === 0xf0 ? [0x90, 0xbf] : x === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** The engine's string for a name's (or a path's, or a symlink target's) bytes: see above. */
export function nameFromBytes(bytes: Uint8Array): string {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const text = buf.toString('utf8');
  // The decoder turns every ill-formed sequence into U+FFFD: without one, the bytes were UTF-8.
  if (!text.includes('\ufffd')) return text;
  let out = '';
  for (let i = 0, run = 0; i <= buf.length; ) {
    const n = i < buf.length ? sequenceAt(buf, i) : 0;
    if (n > 0) {
      i += n;
      continue;
    }
    out += buf.toString('utf8', run, i);
    if (i < buf.length) out += String.fromCharCode(0xdc00 + buf[i]);
    run = ++i;
  }
  return out;
}

/** An escaped byte: a surrogate no UTF-8 decoder makes (u: pairs are one code point, so only lone ones match). */
const ESCAPED_BYTE = /[\udc80-\udcff]/u;
const ESCAPED_BYTES = /([\udc80-\udcff])/u;

/** The bytes of a name in the engine's string form (the inverse of nameFromBytes). */
export function nameBytes(name: string): Buffer {
  if (!ESCAPED_BYTE.test(name)) return Buffer.from(name, 'utf8');
  // split with a group: the escaped bytes are at the odd indices.
  const parts = name.split(ESCAPED_BYTES);
  return Buffer.concat(parts.map((p, i) => (i % 2 === 1 ? Buffer.of(p.charCodeAt(0) - 0xdc00) : Buffer.from(p, 'utf8'))));
}

/**
 * True when `s` is the engine's form of some bytes, and the only one: no lone
 * surrogate but escaped bytes, and no escaped bytes that together are valid
 * UTF-8 (which would spell a name that is already spelled as text).
 */
export function isNameString(s: string): boolean {
  return nameFromBytes(nameBytes(s)) === s;
}

/**
 * What showName escapes: escaped bytes; characters a terminal acts on or that
 * break a line (C0 and C1 controls, DEL, the line and paragraph separators,
 * the bidirectional overrides and isolates, as the log sink escapes them);
 * and the backslash itself, so that the spelling reads back one way.
 */
const SHOWN_ESCAPED = /[\udc80-\udcff\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]/gu;

/**
 * A name (or a path, or a symlink target) for people: CLI output, logs, error
 * messages. Each byte that is not part of valid UTF-8, and each byte of an
 * unsafe character, shows as \xNN; a backslash as \\; everything else as it is.
 * One spelling everywhere; what is stored keeps the bytes. (JSON output carries
 * the engine's form instead: \udcNN there is the byte 0xNN, as Python's
 * os.fsencode reads it.)
 */
export function showName(name: string): string {
  return name.replace(SHOWN_ESCAPED, (c) => {
    if (c === '\\') return '\\\\';
    return [...nameBytes(c)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
  });
}

/**
 * What a shown spelling stands for (the inverse of showName), for names typed
 * as they were shown: \xNN is the byte 0xNN, \\ a backslash, the rest as typed.
 * A command line cannot carry bytes that are not UTF-8 (Node decodes argv as
 * text), so this is how a user names such a file to the CLI.
 */
export function readShownName(shown: string): string {
  if (!shown.includes('\\')) return shown;
  const parts: Buffer[] = [];
  let from = 0;
  for (const m of shown.matchAll(/\\(\\|x[0-9a-fA-F]{2})/g)) {
    parts.push(nameBytes(shown.slice(from, m.index)), m[1] === '\\' ? Buffer.from('\\') : Buffer.of(parseInt(m[1].slice(1), 16)));
    from = m.index! + m[0].length;
  }
  parts.push(nameBytes(shown.slice(from)));
  return nameFromBytes(Buffer.concat(parts));
}
