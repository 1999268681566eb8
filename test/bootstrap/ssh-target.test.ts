/** `bazil pair`'s destination: [user@]host[:port], completed by ~/.ssh/config as ssh does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseTarget, resolveTarget } from '../../src/bootstrap/ssh-target.js';
import { isBazilError } from '../../src/engine/errors.js';
import { tempDir } from '../helpers.js';

test('[user@]host[:port] as typed', () => {
  assert.deepEqual(parseTarget('white.local'), { user: undefined, host: 'white.local', port: undefined });
  assert.deepEqual(parseTarget('me@192.0.2.7:2222'), { user: 'me', host: '192.0.2.7', port: 2222 });
  assert.deepEqual(parseTarget('me@[2001:db8::7]:2222'), { user: 'me', host: '2001:db8::7', port: 2222 });
  assert.deepEqual(parseTarget('2001:db8::7'), { user: undefined, host: '2001:db8::7', port: undefined });
  for (const bad of ['@host', 'host:http', 'host:0', 'me@']) assert.throws(() => parseTarget(bad), (err) => isBazilError(err, 'INVALID_ARGUMENT'), bad);
});

test('~/.ssh/config: aliases, HostName, User, Port, IdentityFile; what is typed wins', (t) => {
  const home = tempDir(t, 'bzssh-');
  mkdirSync(join(home, '.ssh'));
  writeFileSync(join(home, '.ssh', 'config'), 'Host white\n  HostName 192.0.2.7\n  User alice\n  Port 2200\n  IdentityFile ~/.ssh/work_key\n\nHost *\n  User bob\n');
  assert.deepEqual(resolveTarget('white', home), { alias: 'white', host: '192.0.2.7', port: 2200, user: 'alice', identityFiles: [join(home, '.ssh/work_key')] });
  assert.deepEqual(resolveTarget('carol@white:22', home), { alias: 'white', host: '192.0.2.7', port: 22, user: 'carol', identityFiles: [join(home, '.ssh/work_key')] });
  const other = resolveTarget('black', home);
  assert.equal(other.user, 'bob');
  assert.deepEqual(other.identityFiles, ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(home, '.ssh', f)));
  assert.equal(resolveTarget('x', tempDir(t, 'bzssh-')).user, userInfo().username, 'no config: the local user');
});
