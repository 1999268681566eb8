/**
 * mDNS between two network namespaces joined by a veth pair (real multicast):
 * a server's announcement is heard on the other side with its fingerprint and
 * address, an invite is found by its number, close sends goodbyes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import test from 'node:test';
import { keyFingerprint } from '../../src/bootstrap/mdns.js';
import { makeLan, netnsExists } from '../helpers/netns.js';
import { fixture } from './fixture-process.js';

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
