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
