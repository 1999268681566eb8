import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { BazilError } from '../engine/errors.js';
import type { Command } from './command.js';
import { formatBytes, progressLine } from './format.js';
import { withDataDir } from './use-datadir.js';

function parseRef(text: string): Buffer {
  if (!/^[0-9a-f]{64}$/i.test(text)) {
    throw new BazilError('INVALID_ARGUMENT', `"${text}" is not a content reference: expected the 64 hex characters printed by \`bazil debug cas put\``);
  }
  return Buffer.from(text, 'hex');
}

function nonNegative(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new BazilError('INVALID_ARGUMENT', `--${name} must be a whole number of bytes, 0 or more`);
  }
  return value;
}

async function writeAll(out: Writable, data: Buffer): Promise<void> {
  if (!out.write(data)) await once(out, 'drain');
}

export const debugCommands: Command[] = [
  {
    path: ['debug', 'pubkey'],
    summary: "Print this data dir's public key (64 hex characters)",
    usage: '',
    examples: ['bazil debug pubkey', 'BLACK="$(bazil -data-dir=path/to/black debug pubkey)"'],
    args: [0, 0],
    run: ({ dataDir }) =>
      withDataDir(dataDir, false, (dir) => {
        process.stdout.write(`${dir.publicKey().toString('hex')}\n`);
      }),
  },
  {
    path: ['debug', 'cas', 'put'],
    summary: "Store a file (or standard input) in a volume's encrypted store; prints its reference",
    usage: 'VOLUME [FILE]',
    details: 'The file is chunked, encrypted under the volume\'s sharing key and deduplicated. The printed reference reads it back with `bazil debug cas get`.',
    examples: ['bazil debug cas put photos ./cat.jpg', 'tar c docs | bazil debug cas put photos'],
    args: [1, 2],
    run: ({ dataDir, args }) =>
      withDataDir(dataDir, true, async (dir) => {
        const store = dir.volumeContent(args[0]);
        const file = args[1] && args[1] !== '-' ? args[1] : undefined;
        const progress = progressLine('storing', file ? statSync(file).size : undefined); // stat first: a missing file fails here
        const source = file ? createReadStream(file, { highWaterMark: 4 << 20 }) : process.stdin;
        const { manifest, stats } = await store.writeFile(source, progress.update);
        progress.end();
        const ref = await store.putManifest(manifest);
        process.stdout.write(`${ref.toString('hex')}\n`);
        process.stderr.write(
          `stored ${formatBytes(stats.bytes)} in ${stats.chunks} chunks; ${formatBytes(stats.newBytes)} was new (${stats.newObjects} objects)\n`,
        );
      }),
  },
  {
    path: ['debug', 'cas', 'get'],
    summary: "Read back content stored with `bazil debug cas put`, or a byte range of it",
    usage: 'VOLUME REF [--offset=N] [--length=N] [--output=FILE]',
    options: [
      { name: 'offset', type: 'number', value: 'N', help: 'first byte to read', default: 0 },
      { name: 'length', type: 'number', value: 'N', help: 'how many bytes to read (default: to the end)' },
      { name: 'output', type: 'string', value: 'FILE', help: 'write to FILE instead of standard output', short: 'o' },
    ],
    examples: ['bazil debug cas get photos 3f2a…e1 >cat.jpg', 'bazil debug cas get photos 3f2a…e1 --offset=1048576 --length=100'],
    args: [2, 2],
    run({ dataDir, args, flags }) {
      const ref = parseRef(args[1]);
      const start = nonNegative('offset', flags.offset) ?? 0;
      const length = nonNegative('length', flags.length);
      return withDataDir(dataDir, false, async (dir) => {
        const store = dir.volumeContent(args[0]);
        const reader = store.reader(await store.getManifest(ref));
        const end = length === undefined ? reader.size : Math.min(reader.size, start + length);
        const out: Writable = flags.output ? createWriteStream(flags.output as string) : process.stdout;
        for await (const piece of reader.stream(start, end)) await writeAll(out, piece);
        if (out !== process.stdout) {
          out.end();
          await once(out, 'finish');
        }
      });
    },
  },
];
