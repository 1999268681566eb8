/**
 * A log file that stays small: lines are appended with a timestamp, and once
 * the file passes its cap it is renamed to FILE.1 (replacing the older one)
 * and a new one begins. So a server that runs for months keeps at most twice
 * the cap on disk, and the recent lines are always in FILE.
 */
import { appendFileSync, renameSync, statSync } from 'node:fs';

export const LOG_CAP_BYTES = 1 << 20;

/** Moves the log to FILE.1 (replacing the older one) if it has reached the cap; true if it did. */
export function rotateIfFull(path: string, cap = LOG_CAP_BYTES): boolean {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return false;
  }
  if (size < cap) return false;
  try {
    renameSync(path, `${path}.1`);
  } catch {
    // gone already: a new one begins all the same
  }
  return true;
}

export class LogFile {
  private size: number;

  constructor(
    readonly path: string,
    private readonly cap = LOG_CAP_BYTES,
  ) {
    try {
      this.size = statSync(path).size;
    } catch {
      this.size = 0;
    }
  }

  write(line: string): void {
    if (this.size >= this.cap) {
      rotateIfFull(this.path, this.cap);
      this.size = 0;
    }
    const text = `${new Date().toISOString()} ${line}\n`;
    try {
      appendFileSync(this.path, text, { mode: 0o600 });
      this.size += Buffer.byteLength(text);
    } catch {
      // A full or vanished disk must not take the server down over a log line.
    }
  }
}
