import { BazilError } from '../engine/errors.js';
import { SHARING_KEY_BYTES } from '../engine/store/sharing.js';
import { JSON_OPTION, type Command } from './command.js';
import { printJson } from './format.js';
import { withControl } from './use-datadir.js';

const MAKE_KEY = `dd if=/dev/urandom of=KEYFILE bs=${SHARING_KEY_BYTES} count=1`;

/** Reads exactly SHARING_KEY_BYTES from standard input, which must not be a terminal. */
async function readKeyFromStdin(): Promise<Buffer> {
  if (process.stdin.isTTY) {
    throw new BazilError(
      'INVALID_ARGUMENT',
      `refusing to read a sharing key from a terminal; redirect it from a file: bazil sharing add NAME <KEYFILE (make one with \`${MAKE_KEY}\`)`,
    );
  }
  const parts: Buffer[] = [];
  let n = 0;
  for await (const piece of process.stdin as AsyncIterable<Buffer>) {
    parts.push(piece);
    n += piece.length;
    if (n > SHARING_KEY_BYTES) break; // no need to read the rest of a wrong input
  }
  if (n !== SHARING_KEY_BYTES) {
    const got = n === 0 ? 'nothing' : n > SHARING_KEY_BYTES ? `more than ${SHARING_KEY_BYTES} bytes` : `${n} bytes`;
    throw new BazilError(
      'INVALID_ARGUMENT',
      `a sharing key is exactly ${SHARING_KEY_BYTES} bytes, but standard input had ${got}; nothing was added. Make a key with \`${MAKE_KEY}\``,
    );
  }
  return Buffer.concat(parts, n);
}

export const sharingCommands: Command[] = [
  {
    path: ['sharing', 'add'],
    summary: 'Add a named sharing key, read from standard input (exactly 32 bytes)',
    usage: 'NAME <KEYFILE',
    details: 'Peers that hold the same sharing key can read and dedup each other\'s data. Copy the key file to them by a safe channel.',
    examples: [MAKE_KEY.replace('KEYFILE', 'sekrit'), 'bazil sharing add friends <sekrit'],
    args: [1, 1],
    async run({ dataDir, args }) {
      const [name, secret] = [args[0], await readKeyFromStdin()];
      await withControl(dataDir, true, (api) => api.call('sharing.add', { name, secret: secret.toString('base64') }));
      process.stdout.write(`Added sharing key ${name}.\n`);
    },
  },
  {
    path: ['sharing', 'list'],
    summary: 'List sharing key names (never the secrets)',
    usage: '[--json]',
    options: [JSON_OPTION],
    examples: ['bazil sharing list', 'bazil sharing list --json'],
    args: [0, 0],
    async run({ dataDir, flags }) {
      const names = await withControl(dataDir, false, (api) => api.call('sharing.list', {}));
      if (flags.json === true) return printJson(names);
      for (const name of names) process.stdout.write(`${name}\n`);
    },
  },
];
