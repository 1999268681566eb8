/** Exit codes: one per error code, so scripts can tell failures apart. */
import type { ErrorCode } from '../engine/errors.js';

export const EXIT_CODES: Record<ErrorCode, number> = {
  INTERNAL: 1,
  INVALID_ARGUMENT: 2,
  NOT_FOUND: 3,
  ALREADY_EXISTS: 4,
  LOCKED: 5,
  CORRUPT: 6,
  UNAUTHORIZED: 7,
  CONFLICT: 8,
  UNAVAILABLE: 10,
  NOT_EMPTY: 9,
  NOT_A_DIRECTORY: 9,
  IS_A_DIRECTORY: 9,
  NAME_TOO_LONG: 9,
  READ_ONLY: 9,
  FILE_TOO_BIG: 9,
};
