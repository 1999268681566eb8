import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog, type SequencedEvent } from '../../src/engine/events.js';

test('events get increasing numbers; a listener sees each new one; a failing listener harms no one', () => {
  const log = new EventLog();
  const seen: SequencedEvent[] = [];
  log.subscribe(() => {
    throw new Error('a broken client');
  });
  const stop = log.subscribe((e) => seen.push(e));
  log.emit({ type: 'server.stopping' });
  log.emit({ type: 'mount.added', volume: 'v', dir: '/mnt' });
  stop();
  log.emit({ type: 'mount.removed', volume: 'v', dir: '/mnt' });
  assert.deepEqual(seen.map((e) => [e.seq, e.event.type]), [
    [1, 'server.stopping'],
    [2, 'mount.added'],
  ]);
  assert.equal(log.last, 3);
});

test('a client that comes back gets exactly what it missed, or is told that some are gone', () => {
  const log = new EventLog(3);
  assert.deepEqual(log.after(0), { events: [], missed: false });
  for (let i = 0; i < 5; i++) log.emit({ type: 'peer.connected', peer: String(i), address: 'a' });
  assert.deepEqual(log.after(3).events.map((e) => e.seq), [4, 5]);
  assert.equal(log.after(3).missed, false);
  assert.equal(log.after(2).missed, false, 'event 3 is still kept');
  assert.equal(log.after(1).missed, true, 'event 2 is gone');
  assert.deepEqual(log.after(1).events.map((e) => e.seq), [3, 4, 5]);
  assert.deepEqual(log.after(5), { events: [], missed: false });
});
