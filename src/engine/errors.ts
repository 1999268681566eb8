/**
 * The one error type of the engine. The code says what kind of failure it is;
 * the CLI maps it to an exit code, the FUSE adapter to an errno.
 * Messages are for people: they say what went wrong and what to do next.
 */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'INVALID_ARGUMENT'
  | 'CORRUPT'
  | 'CONFLICT'
  | 'UNAUTHORIZED'
  | 'LOCKED'
  | 'INTERNAL'
  /** Content that is elsewhere (on a peer) and cannot be had now. */
  | 'UNAVAILABLE'
  // File system errors, each one errno at the FUSE edge.
  | 'NOT_EMPTY'
  | 'NOT_A_DIRECTORY'
  | 'IS_A_DIRECTORY'
  | 'NAME_TOO_LONG'
  | 'READ_ONLY'
  /** A file would grow past the largest size Bazil stores (EFBIG). */
  | 'FILE_TOO_BIG';

export class BazilError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BazilError';
    this.code = code;
  }
}

export function isBazilError(err: unknown, code?: ErrorCode): err is BazilError {
  return err instanceof BazilError && (code === undefined || err.code === code);
}

/** True for a Node.js system error with the given errno code (ENOENT, EEXIST, ...). */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}
