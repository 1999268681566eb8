/** Command-line words before meow sees them. */
import { BazilError } from '../engine/errors.js';

/**
 * Accepts the Go-style spelling of the 2015 walkthrough: `-data-dir=PATH` and
 * `-sharing=friends` become `--data-dir=PATH` and `--sharing=friends`. A single
 * dash followed by one letter stays a short flag; `--` ends flag parsing.
 */
export function normalizeFlags(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    out.push(/^-[A-Za-z][A-Za-z0-9-]+(=.*)?$/s.test(a) ? `-${a}` : a === '-h' ? '--help' : a);
  }
  return out;
}

/** Takes --data-dir (anywhere before `--`) out of the words, returning its value. */
export function extractDataDir(argv: string[]): { dataDir?: string; rest: string[] } {
  const rest: string[] = [];
  let dataDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--data-dir' || a.startsWith('--data-dir=')) {
      const value = a === '--data-dir' ? argv[++i] : a.slice('--data-dir='.length);
      if (value === undefined || value === '') {
        throw new BazilError('INVALID_ARGUMENT', '--data-dir needs a path, e.g. --data-dir=/path/to/dir');
      }
      dataDir = value;
      continue;
    }
    rest.push(a);
  }
  return { dataDir, rest };
}
