/**
 * The control protocol between `bazil` clients (CLI, TUI) and the server of a
 * data dir: newline-delimited JSON over the unix socket DATADIR/control.sock.
 *
 *   request   {"id":1,"method":"volume.list","params":{}}
 *   response  {"id":1,"result":[...]}
 *         or  {"id":1,"error":{"code":"NOT_FOUND","message":"..."}}
 *
 * `code` is a BazilError code, so a client rethrows the server's error as if it
 * were its own. Responses may come in any order; the id pairs them up. A line
 * the server cannot read gets an error response with id null.
 *
 * The methods and their shapes are in api.ts.
 *
 * Events: after {"method":"events.subscribe","params":{"since":N}} is answered,
 * the connection also carries messages without an id, in order:
 *
 *   {"event":{"seq":7,"at":1700000000000,"event":{"type":"sync.started",...}}}
 *   {"dropped":{"code":"UNAVAILABLE","message":"..."}}   (fell behind; the server hangs up)
 *
 * A client that reconnects subscribes with the last seq it saw and the
 * `instance` it was answered: a different server process starts again at 1,
 * and says some were missed.
 */
import { join } from 'node:path';
import { BazilError, type ErrorCode } from '../errors.js';

export type RequestId = number;

export interface Request {
  id: RequestId;
  method: string;
  params: Record<string, unknown>;
}

export interface WireError {
  code: ErrorCode;
  message: string;
}

export type Response = { id: RequestId | null; result: unknown } | { id: RequestId | null; error: WireError };

/** Longest line either side accepts: a request or response is small; a longer one is a mistake or an attack. */
export const MAX_LINE = 1 << 20;

const SOCKET_NAME = 'control.sock';
/** sun_path holds 108 bytes with the terminating NUL; a longer path would be silently cut. */
const MAX_SOCKET_PATH = 107;

/** The control socket of a data dir (an absolute path). */
export function controlSocketPath(dataDir: string): string {
  return join(dataDir, SOCKET_NAME);
}

/** False when the path is too long for a unix socket: sun_path would silently cut it. */
export function socketPathFits(path: string): boolean {
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH;
}

/** Throws a clear error when a data dir's path is too long for its control socket. */
export function checkSocketPath(path: string): void {
  if (!socketPathFits(path)) {
    throw new BazilError(
      'INVALID_ARGUMENT',
      `the control socket path ${path} is too long (unix sockets allow ${MAX_SOCKET_PATH} bytes); use a data dir with a shorter path`,
    );
  }
}

/** Every code, so that a code from the wire is known to be one (the compiler keeps this list whole). */
const CODES: Record<ErrorCode, true> = {
  NOT_FOUND: true,
  ALREADY_EXISTS: true,
  INVALID_ARGUMENT: true,
  CORRUPT: true,
  CONFLICT: true,
  UNAUTHORIZED: true,
  LOCKED: true,
  INTERNAL: true,
  NOT_EMPTY: true,
  NOT_A_DIRECTORY: true,
  IS_A_DIRECTORY: true,
  NAME_TOO_LONG: true,
  READ_ONLY: true,
  FILE_TOO_BIG: true,
  UNAVAILABLE: true,
};

/** What a client is told about a failure: a BazilError as it is, anything else as INTERNAL. */
export function errorToWire(err: unknown): WireError {
  if (err instanceof BazilError) return { code: err.code, message: err.message };
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/** The server's error, rebuilt on the client side. */
export function errorFromWire(wire: unknown): BazilError {
  const w = (typeof wire === 'object' && wire !== null ? wire : {}) as Partial<Record<keyof WireError, unknown>>;
  const code = typeof w.code === 'string' && Object.hasOwn(CODES, w.code) ? (w.code as ErrorCode) : 'INTERNAL';
  const message = typeof w.message === 'string' ? w.message : 'the bazil server sent an error without a message';
  return new BazilError(code, message);
}
