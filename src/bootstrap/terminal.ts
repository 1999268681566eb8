/**
 * Asking the person at the terminal, as `ssh` does: a question, or a secret
 * typed without echo. Reads the controlling terminal (/dev/tty), so standard
 * input and output stay free; without one, there is nobody to ask.
 */
import { openSync, closeSync } from 'node:fs';
import { ReadStream, WriteStream } from 'node:tty';

export interface Terminal {
  ask(question: string, secret?: boolean): Promise<string>;
}

/** The controlling terminal, or undefined when there is none (a script, a test, a service). */
export function openTerminal(): Terminal | undefined {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return undefined;
  }
  closeSync(fd);
  return {
    ask: (question, secret = false) =>
      new Promise((resolve, reject) => {
        const rfd = openSync('/dev/tty', 'r');
        const wfd = openSync('/dev/tty', 'w');
        const input = new ReadStream(rfd);
        const output = new WriteStream(wfd);
        output.write(question);
        input.setRawMode(true);
        let typed = '';
        const done = (err?: Error) => {
          input.setRawMode(false);
          input.destroy();
          output.write('\n');
          output.destroy();
          if (err) reject(err);
          else resolve(typed);
        };
        input.setEncoding('utf8').on('data', (chunk: string) => {
          for (const ch of chunk) {
            if (ch === '\r' || ch === '\n') return done();
            if (ch === '\u0003') return done(new Error('interrupted'));
            if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
            else {
              typed += ch;
              if (!secret) output.write(ch);
            }
          }
        });
      }),
  };
}
