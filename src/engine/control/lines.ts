/** Newline framing for the control socket, with a cap on the length of a line. */
import type { Socket } from 'node:net';
import { MAX_LINE } from './protocol.js';

/**
 * Calls onLine for each complete line read from the socket (without the
 * newline). A line longer than MAX_LINE calls onTooLong once and stops reading:
 * the rest of the stream cannot be trusted to be framed.
 */
export function readLines(socket: Socket, onLine: (line: string) => void, onTooLong: () => void): void {
  socket.setEncoding('utf8');
  let pending = '';
  let stopped = false;
  socket.on('data', (chunk: string) => {
    if (stopped) return;
    pending += chunk;
    for (;;) {
      const nl = pending.indexOf('\n');
      if ((nl < 0 ? pending.length : nl) > MAX_LINE) {
        stopped = true;
        pending = '';
        onTooLong();
        return;
      }
      if (nl < 0 || socket.destroyed) return;
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      onLine(line);
    }
  });
}
