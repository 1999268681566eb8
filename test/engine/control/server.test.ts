/**
 * The control socket's event stream, on a real unix socket in this process:
 * resuming with `since`, telling a restart apart, and a subscriber that never
 * reads, which must be dropped without holding anyone else up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { once } from 'node:events';
import { connectControl, type ControlClient } from '../../../src/engine/control/client.js';
import { ControlServer, SUBSCRIBER_BACKLOG, type ServerMethods } from '../../../src/engine/control/server.js';
import { controlSocketPath } from '../../../src/engine/control/protocol.js';
import { EventLog, type SequencedEvent } from '../../../src/engine/events.js';
import { tempDir } from '../../helpers.js';

async function serve(t: import('node:test').TestContext, events: EventLog, instance = 'test-1') {
  const dir = tempDir(t, 'bzc-');
  const methods = { ping: () => ({ pid: process.pid, peerAddress: '-', dataDir: dir }) } as unknown as ServerMethods;
  const server = await ControlServer.listen(dir, methods, () => {}, { log: events, instance });
  t.after(() => server.close());
  return { dir, server };
}

async function client(t: import('node:test').TestContext, dir: string): Promise<ControlClient> {
  const c = await connectControl(dir);
  assert.ok(c);
  t.after(() => c.close());
  return c;
}

/** Subscribes and collects events until `n` have come. */
async function collect(c: ControlClient, params: { since?: number; instance?: string }, n: number) {
  const got: SequencedEvent[] = [];
  let enough!: () => void;
  const done = new Promise<void>((resolve) => (enough = resolve));
  const sub = await c.subscribe(params, { event: (e) => (got.push(e), got.length >= n && enough()), end: () => enough() });
  if (n > 0) await done;
  return { sub, got };
}

test('a subscriber gets the kept events after since, then new ones, in order, each once', async (t) => {
  const events = new EventLog();
  const { dir } = await serve(t, events);
  for (let i = 0; i < 3; i++) events.emit({ type: 'mount.added', volume: `v${i}`, dir: '/m' });
  const c = await client(t, dir);
  const pending = collect(c, { since: 1 }, 3);
  await new Promise((r) => setTimeout(r, 50));
  events.emit({ type: 'server.stopping' });
  const { sub, got } = await pending;
  assert.deepEqual(sub, { instance: 'test-1', last: 3, missed: false });
  assert.deepEqual(got.map((e) => [e.seq, e.event.type]), [
    [2, 'mount.added'],
    [3, 'mount.added'],
    [4, 'server.stopping'],
  ]);
});

test('without since, a subscriber gets only what comes next', async (t) => {
  const events = new EventLog();
  const { dir } = await serve(t, events);
  events.emit({ type: 'mount.added', volume: 'old', dir: '/m' });
  const c = await client(t, dir);
  const got: SequencedEvent[] = [];
  const sub = await c.subscribe({}, { event: (e) => got.push(e), end: () => {} });
  assert.deepEqual(sub, { instance: 'test-1', last: 1, missed: false });
  events.emit({ type: 'mount.removed', volume: 'new', dir: '/m' });
  await c.call('ping', {}); // answered after the event was written: the stream is in order with answers
  assert.deepEqual(got.map((e) => e.seq), [2]);
});

test('a subscriber of another server process is told it missed some, and gets what is kept from the start', async (t) => {
  const events = new EventLog();
  const { dir } = await serve(t, events, 'test-2');
  events.emit({ type: 'mount.added', volume: 'v', dir: '/m' });
  const c = await client(t, dir);
  const { sub, got } = await collect(c, { since: 40, instance: 'test-1' }, 1);
  assert.equal(sub.missed, true);
  assert.equal(sub.instance, 'test-2');
  assert.deepEqual(got.map((e) => e.seq), [1]);
});

test('a subscriber that never reads is dropped, and told so; the others are answered meanwhile', async (t) => {
  const events = new EventLog(10);
  const { dir } = await serve(t, events);
  const slow = createConnection(controlSocketPath(dir));
  await once(slow, 'connect');
  slow.write(JSON.stringify({ id: 1, method: 'events.subscribe', params: { since: 0 } }) + '\n');
  await new Promise((r) => setTimeout(r, 50));
  slow.pause();
  // Well past what the server keeps for it, and the kernel's socket buffers.
  const big = 'x'.repeat(1000);
  const n = Math.ceil((3 * SUBSCRIBER_BACKLOG) / big.length);
  for (let i = 0; i < n; i++) events.emit({ type: 'peer.refused', what: big });
  const other = await client(t, dir);
  assert.equal((await other.call('ping', {})).dataDir, dir);

  // Now read what the slow one was sent: its answer, events in order from 1, then `dropped`, then the end.
  slow.setEncoding('utf8');
  let text = '';
  slow.on('data', (s: string) => (text += s));
  slow.resume();
  await once(slow, 'end');
  const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as { id?: number; event?: SequencedEvent; dropped?: { code: string } });
  assert.equal(lines[0].id, 1);
  const seqs = lines.slice(1, -1).map((l) => l.event!.seq);
  assert.ok(seqs.length > 0 && seqs.length < n, `${seqs.length} of ${n} events were sent before the drop`);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'no gap before the drop');
  assert.equal(lines.at(-1)!.dropped!.code, 'UNAVAILABLE');
  slow.destroy();
});

test('a connection subscribes once: a second subscribe is refused, the first goes on', async (t) => {
  const events = new EventLog();
  const { dir } = await serve(t, events);
  const c = await client(t, dir);
  const got: SequencedEvent[] = [];
  await c.subscribe({}, { event: (e) => got.push(e), end: () => {} });
  await assert.rejects(c.call('events.subscribe', {}), /subscribed already/);
  events.emit({ type: 'server.stopping' });
  await c.call('ping', {});
  assert.deepEqual(got.map((e) => e.seq), [1], 'each event once');
});
