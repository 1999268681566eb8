/**
 * mDNS between two network namespaces joined by a veth pair (real multicast):
 * a server's announcement is heard on the other side with its fingerprint and
 * address, an invite is found by its number, close sends goodbyes.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import test, { type TestContext } from 'node:test';
import { keyFingerprint } from '../../src/bootstrap/mdns.js';
import { makeLan, netnsExists, type Netns } from '../helpers/netns.js';

const FIXTURE = fileURLToPath(new URL('./mdns-fixture.js', import.meta.url));

/** Starts the fixture in a namespace; lines() gives the JSON lines printed so far; killed at the end. */
function fixture(t: TestContext, ns: Netns, args: string[]) {
  const child: ChildProcess = ns.spawn(process.execPath, [FIXTURE, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const waitFor = async <T>(pick: (line: Record<string, unknown>) => T | undefined, what: string, ms = 15_000): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      for (const line of lines()) {
        const found = pick(line);
        if (found !== undefined) return found;
      }
      if (Date.now() > deadline) throw new Error(`no ${what} within ${ms / 1000} s; printed:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, lines, waitFor, exited, end: () => child.stdin!.end() };
}

test('the namespaces are removed when the test that made them ends, even if it fails', async (t) => {
  let names: string[] = [];
  let skip: string | undefined;
  await t.test('inner', { todo: 'fails on purpose' }, async (st) => {
    const lan = await makeLan(st, 3);
    if ('skip' in lan) {
      skip = lan.skip;
      return;
    }
    names = lan.namespaces.map((n) => n.name);
    assert.ok(names.every(netnsExists));
    throw new Error('a failing test');
  });
  if (skip) return t.skip(skip);
  assert.equal(names.length, 3);
  assert.deepEqual(names.filter(netnsExists), []);
});

test('a server announced in one namespace is heard in the other, an invite is found by its number, close says goodbye', async (t) => {
  const lan = await makeLan(t);
  if ('skip' in lan) return t.skip(lan.skip);
  const [a, b] = lan.namespaces;
  const key = randomBytes(32);
  const fp = keyFingerprint(key);

  const browser = fixture(t, b, ['browse']);
  await browser.waitFor((l) => l.ready, 'browser ready');
  const announcer = fixture(t, a, ['announce', key.toString('hex'), '34999', '417', '35001']);
  await announcer.waitFor((l) => l.ready, 'announcer ready');

  const heard = await browser.waitFor((l) => {
    const h = l.heard as { fingerprint: string } | undefined;
    return h?.fingerprint === fp ? h : undefined;
  }, 'announcement heard');
  assert.deepEqual(heard, { fingerprint: fp, hostname: 'fixture-host', addresses: [`${a.address}:34999`], version: 1 });

  // The joiner's side: a one-shot search from the other namespace.
  const wrong = fixture(t, b, ['find-invite', '418', '1500']);
  const found = fixture(t, b, ['find-invite', '417', '10000']);
  assert.deepEqual(await found.waitFor((l) => (Array.isArray(l) ? l : undefined), 'invite search result'), [`${a.address}:35001`]);
  assert.deepEqual(await wrong.waitFor((l) => (Array.isArray(l) ? l : undefined), 'invite search result'), []);

  announcer.end();
  assert.equal(await announcer.exited, 0);
  assert.equal(await browser.waitFor((l) => (l.gone === fp ? fp : undefined), 'goodbye'), fp);
  browser.end();
  assert.equal(await browser.exited, 0);
});
