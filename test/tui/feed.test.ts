/**
 * The TUI's feed against a fake server link (a unit test of its logic; the
 * real socket is used end to end in tui-e2e.test.ts): connecting and
 * reconnecting, resuming the event stream where it stopped, and asking the
 * list methods again after the events that change them, once per burst.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventHandler } from '../../src/engine/control/client.js';
import { BazilError } from '../../src/engine/errors.js';
import { Feed, type ServerLink } from '../../src/tui/feed.js';
import { Model } from '../../src/tui/model.js';
import { fakeApi, KEY_A, status } from './fake.js';

/** Waits until check() holds (polling; the feed's timers are short here). */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
const linkState = (m: Model) => m.link.state; // read fresh (not narrowed by an earlier assert)

test('the feed connects when a server appears, resumes the stream after a restart, and refreshes once per burst', async (t) => {
  const { api, calls } = fakeApi({
    ping: () => ({ pid: 1, peerAddress: '127.0.0.1:1', dataDir: '/d' }),
    status: () => status(),
    'conflicts.list': () => [],
    'cache.show': () => {
      throw new BazilError('NOT_FOUND', 'no cache here');
    },
    'pin.list': () => [],
  });
  let running = false;
  let handler: EventHandler | undefined;
  const subscribed: unknown[] = [];
  const link: ServerLink = {
    api,
    subscribe: async (params, h) => {
      subscribed.push(params);
      handler = h;
      return { instance: 'i1', last: 0, missed: false };
    },
    close: () => {},
  };
  const model = new Model();
  const feed = new Feed(model, async () => (running ? link : undefined), { debounceMs: 20, retryMs: 20, pollMs: 60_000 });
  t.after(() => feed.stop());

  await feed.start();
  assert.deepEqual(model.link, { state: 'down', why: 'not running' });
  await assert.rejects(feed.api.call('status', {}), /not running: press S to start it/);

  running = true;
  await until(() => linkState(model) === 'up', 'connecting once the server runs');
  assert.deepEqual(subscribed, [{ since: 0 }]);
  await until(() => model.status.value !== undefined && model.nearby.error !== undefined && model.cache.error !== undefined, 'everything asked once connected');
  assert.equal(model.cache.error, 'no cache here', "an answer's error is kept, in words");
  assert.equal(model.nearby.error, 'this server cannot do that yet: update bazil');

  calls.length = 0;
  for (let seq = 1; seq <= 500; seq++) handler!.event({ seq, at: Date.now(), event: { type: 'conflict.found', volume: 'v', path: `/f${seq}`, peer: KEY_A } });
  await until(() => calls.length >= 2, 'the refresh after the burst');
  await new Promise((r) => setTimeout(r, 100)); // and nothing more
  assert.deepEqual(calls.map(([m]) => m).sort(), ['conflicts.list', 'status'], 'a burst of 500 events: one refresh of what they change');
  assert.equal(model.activity.length, 500);

  handler!.end(new BazilError('INTERNAL', 'the bazil server closed the connection'));
  assert.equal(linkState(model), 'down');
  await until(() => linkState(model) === 'up', 'reconnecting by itself once the server answers again');
  assert.deepEqual(subscribed.at(-1), { since: 500, instance: 'i1' }, 'the stream resumes after the last event seen');
});
