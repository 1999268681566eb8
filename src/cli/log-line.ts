/**
 * Log lines carry text that peers chose (volume and file names, error
 * messages). Written raw, a newline in one forges a second line, and an escape
 * sequence rewrites the terminal. The server's log sink passes every line
 * through here, so one call is always one visible line, whatever it quotes.
 */
import { showName } from '../engine/names.js';

/**
 * C0 controls but tab, DEL, C1 controls, the Unicode line and paragraph
 * separators, and the bidirectional overrides and isolates (which make text
 * display in another order than it is written).
 */
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r' };

/** A byte of a file name that is not UTF-8 (engine/names.ts): shown as names are, \xNN. */
const NAME_BYTE = /[\udc80-\udcff]/gu;

/** The line with each unsafe character written as an escape: \n, \r, \xHH, \uHHHH (and a name's byte as \xNN). */
export function escapeLogLine(line: string): string {
  return line.replace(NAME_BYTE, showName).replace(UNSAFE, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * Text for the terminal that may span lines (a usage message after an error):
 * each line escaped as a log line, so quoted text cannot restyle the terminal.
 */
export function escapeForTerminal(text: string): string {
  return text.split('\n').map(escapeLogLine).join('\n');
}
