/** BazilError codes and system errors, as the errno a FUSE reply carries (negative). */
import { constants } from 'node:os';
import { isBazilError, type ErrorCode } from '../engine/errors.js';

const E = constants.errno;

const ERRNO: Record<ErrorCode, number> = {
  NOT_FOUND: E.ENOENT,
  ALREADY_EXISTS: E.EEXIST,
  INVALID_ARGUMENT: E.EINVAL,
  CORRUPT: E.EIO,
  CONFLICT: E.EBUSY,
  UNAUTHORIZED: E.EACCES,
  LOCKED: E.EBUSY,
  INTERNAL: E.EIO,
  UNAVAILABLE: E.EIO,
  NOT_EMPTY: E.ENOTEMPTY,
  NOT_A_DIRECTORY: E.ENOTDIR,
  IS_A_DIRECTORY: E.EISDIR,
  NAME_TOO_LONG: E.ENAMETOOLONG,
  READ_ONLY: E.EROFS,
  FILE_TOO_BIG: E.EFBIG,
};

/** The negative errno for err; `expected` is false when it is worth a log line. */
export function errnoOf(err: unknown): { errno: number; expected: boolean } {
  if (isBazilError(err)) return { errno: -ERRNO[err.code], expected: !['CORRUPT', 'INTERNAL', 'UNAVAILABLE', 'UNAUTHORIZED'].includes(err.code) };
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && code in E) return { errno: -E[code as keyof typeof E], expected: false };
  return { errno: -E.EIO, expected: false };
}

export { E as ERRNO };
