/** known_hosts as `ssh` reads it: plain, [host]:port, wildcard, negated and hashed entries; a changed key; @revoked. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { checkHostKey, fingerprint, hostEntryName, keyType } from '../../src/bootstrap/known-hosts.js';
import { pseudoRandom } from '../helpers.js';

/** A public key in SSH wire form: string "ssh-ed25519", string 32 bytes. */
function wireKey(seed: string): Buffer {
  const type = Buffer.from('ssh-ed25519');
  const key = pseudoRandom(seed, 32);
  const len = (n: number) => Buffer.from([0, 0, 0, n]);
  return Buffer.concat([len(type.length), type, len(key.length), key]);
}

function hashed(name: string, salt: Buffer): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

test('known, unknown, changed and revoked host keys', () => {
  const key = wireKey('host');
  const other = wireKey('other');
  const line = (hosts: string, k: Buffer) => `${hosts} ${keyType(k)} ${k.toString('base64')}`;
  assert.equal(keyType(key), 'ssh-ed25519');
  assert.match(fingerprint(key), /^SHA256:[A-Za-z0-9+/]{43}$/);
  assert.equal(hostEntryName('white.local', 22), 'white.local');
  assert.equal(hostEntryName('127.0.0.1', 2222), '[127.0.0.1]:2222');

  assert.deepEqual(checkHostKey('', 'white.local', key), { status: 'unknown' });
  assert.deepEqual(checkHostKey(`# comment\n${line('black,white.local', key)}\n`, 'white.local', key), { status: 'known' });
  assert.deepEqual(checkHostKey(line('*.local', key), 'white.local', key), { status: 'known' });
  assert.deepEqual(checkHostKey(line('*.local,!white.local', key), 'white.local', key), { status: 'unknown' });
  assert.deepEqual(checkHostKey(line('white.local', key), '[white.local]:2222', key), { status: 'unknown' }, 'another port is another host');
  assert.deepEqual(checkHostKey(line(hashed('[127.0.0.1]:2222', pseudoRandom('salt', 20)), key), '[127.0.0.1]:2222', key), { status: 'known' });
  assert.deepEqual(checkHostKey(line(hashed('other', pseudoRandom('salt', 20)), key), '[127.0.0.1]:2222', key), { status: 'unknown' });
  assert.deepEqual(checkHostKey(`${line('x', other)}\n${line(hashed('white.local', pseudoRandom('s', 20)), other)}\n`, 'white.local', key), { status: 'changed', line: 2 });
  assert.deepEqual(checkHostKey(`@revoked * ${keyType(key)} ${key.toString('base64')}\n${line('white.local', key)}`, 'white.local', key), { status: 'revoked', line: 1 });
});
