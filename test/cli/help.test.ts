/** Unknown commands get one line with the closest command; `bazil help [COMMAND]` shows help. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bazil } from '../helpers.js';

test('an unknown command gets one line: the closest command, and how to list them (exit 2)', async () => {
  const cases: [string[], string][] = [
    [['mount'], 'unknown command `bazil mount`; did you mean `bazil volume mount`? `bazil help` lists the commands'],
    [['pear'], 'unknown command `bazil pear`; did you mean `bazil peer`? `bazil help` lists the commands'], // `bazil pair` exists now
    [['frobnicate'], 'unknown command `bazil frobnicate`; `bazil help` lists the commands'], // `bazil tui` exists now
    [['volum', 'list'], 'unknown command `bazil volum`; did you mean `bazil volume`? `bazil help` lists the commands'],
    [['volume', 'mnt'], 'unknown command `bazil volume mnt`; did you mean `bazil volume mount` or `bazil volume unmount`? `bazil help volume` lists the commands'],
    [['snap'], 'unknown command `bazil snap`; did you mean `bazil volume snapshot`? `bazil help` lists the commands'],
    [['help', 'frob'], 'unknown command `bazil frob`; `bazil help` lists the commands'],
  ];
  for (const [args, line] of cases) {
    const r = await bazil(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stderr, `bazil: ${line}\n`, args.join(' '));
    assert.equal(r.stdout, '');
  }
});

test('bazil help, bazil help GROUP and bazil help COMMAND print what --help prints', async () => {
  for (const [help, same] of [[['help'], ['--help']], [['help', 'volume'], ['volume', '--help']], [['help', 'volume', 'mount'], ['volume', 'mount', '--help']]]) {
    const a = await bazil(help);
    const b = await bazil(same);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
  }
  assert.match((await bazil(['help'])).stdout, /^ {2}bazil help +Show the commands/m);
});
