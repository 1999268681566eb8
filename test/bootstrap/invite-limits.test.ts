/**
 * What a stranger on the network can make an inviting server do before the
 * code is proven, against a real server on loopback: junk and oversized
 * messages end their connection and leave the invite open; one session holds
 * the invite at a time (another is told it is busy); connections at once are
 * capped. And the invite's life from the CLI: listed, cancelled by Ctrl-C.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import test from 'node:test';
import { connectControl } from '../../src/engine/control/client.js';
import { INVITE_MAGIC } from '../../src/bootstrap/invite-session.js';
import { MAX_CONNECTIONS_PER_INVITE } from '../../src/bootstrap/invite-host.js';
import { BAZIL } from '../helpers.js';
import { eventually, makeHost } from '../sync/hosts.js';

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.on('error', reject);
  });
}

/** Everything the socket receives until it closes (or ms pass: then 'open'). */
function untilClosed(s: Socket, ms = 5_000): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    s.on('data', (b: Buffer) => chunks.push(b));
    const timer = setTimeout(() => resolve({ data: Buffer.concat(chunks), closed: false }), ms);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), closed: true });
    });
    s.on('error', () => {});
  });
}

const record = (o: unknown) => {
  const body = Buffer.from(JSON.stringify(o));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
};

test('strangers at an invite port: junk, oversized messages, a held slot and a crowd are bounded, and the invite stays open for its joiner', async (t) => {
  const white = await makeHost(t, 'white');
  await white.start();
  const control = (await connectControl(white.dataDir))!;
  t.after(() => control.close());
  const created = await control.call('invite.create', {});
  const port = Number(created.longCode.split(':').at(-1));

  // Not a joiner: dropped, nothing said.
  let s = await open(port);
  s.write('GET / HTTP/1.1\r\n\r\n');
  let got = await untilClosed(s);
  assert.deepEqual(got, { data: Buffer.alloc(0), closed: true });
  // A record announcing 4 GiB: dropped as soon as its length is read.
  s = await open(port);
  s.write(Buffer.concat([INVITE_MAGIC, Buffer.from([0xff, 0xff, 0xff, 0xff])]));
  got = await untilClosed(s);
  assert.equal(got.closed, true);

  // One session holds the invite; another is told it is busy, in words.
  const holder = await open(port);
  holder.write(Buffer.concat([INVITE_MAGIC, record({ id: created.id, nonce: '00'.repeat(16) })]));
  const held = untilClosed(holder, 2_000);
  await new Promise((r) => setTimeout(r, 200));
  s = await open(port);
  s.write(Buffer.concat([INVITE_MAGIC, record({ id: created.id, nonce: '11'.repeat(16) })]));
  got = await untilClosed(s);
  assert.match(got.data.toString(), /another device is joining with invite \d+ right now/);
  // The wrong number: told which invite this is.
  s = await open(port);
  s.write(Buffer.concat([INVITE_MAGIC, record({ id: created.id + 1, nonce: '11'.repeat(16) })]));
  got = await untilClosed(s);
  assert.match(got.data.toString(), new RegExp(`this address holds invite ${created.id}, not invite ${created.id + 1}`));

  // A crowd: past the cap, connections are dropped at once.
  const crowd = await Promise.all(Array.from({ length: MAX_CONNECTIONS_PER_INVITE + 2 }, () => open(port)));
  const ends = await Promise.all(crowd.map((c) => untilClosed(c, 1_000)));
  assert.ok(ends.filter((e) => e.closed).length >= 2, 'the connections past the cap are closed');
  for (const c of crowd) c.destroy();
  holder.destroy();
  await held;

  // Through all that the invite stayed open (no code was tried).
  await eventually(async () => (await white.ok('bazil invite --list')).startsWith(`${created.id}\t`), 5_000, 'the invite still listed');
});

test('bazil invite: listed while it waits, and Ctrl-C cancels it', async (t) => {
  const white = await makeHost(t, 'white');
  await white.start();
  const child = spawn(process.execPath, [BAZIL, `-data-dir=${white.dataDir}`, 'invite', '--expires', '5m'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => void (child.exitCode === null && child.kill('SIGKILL')));
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (x: string) => (out += x));
  child.stderr.setEncoding('utf8').on('data', (x: string) => (err += x));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await eventually(() => /Waiting for the other machine to join/.test(err), 10_000, 'the invite printed');
  const id = /^Invite (\d+) is open until/m.exec(out)![1];
  assert.match(await white.ok('bazil invite --list'), new RegExp(`^${id}\tuntil \\d\\d:\\d\\d UTC\t-$`, 'm'));
  child.kill('SIGINT');
  assert.notEqual(await exited, 0);
  assert.match(err, new RegExp(`invite ${id} cancelled \\(the command was stopped\\); run \`bazil invite\` again for a new code`));
  assert.equal(await white.ok('bazil invite --list'), '');
  const r = await white.sh(`bazil invite --cancel ${id}`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, new RegExp(`no open invite ${id} here`));
});
