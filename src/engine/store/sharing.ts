/**
 * Sharing keys: named 32-byte secrets. Content encrypted under a key can be read
 * (and deduplicated) by every peer that holds it. Secrets never leave this module
 * except to build a ContentStore.
 */
import type { Db } from '../db/open.js';
import { BazilError } from '../errors.js';
import { checkName } from '../names.js';

export const DEFAULT_SHARING_KEY = 'default';
export const SHARING_KEY_BYTES = 32;

export function addSharingKey(db: Db, name: string, secret: Uint8Array): void {
  checkName('sharing key', name);
  if (secret.length !== SHARING_KEY_BYTES) {
    throw new BazilError('INVALID_ARGUMENT', `a sharing key is exactly ${SHARING_KEY_BYTES} bytes, got ${secret.length}`);
  }
  const exists = db.prepare('SELECT 1 FROM sharing_keys WHERE name = ?').get(name);
  if (exists) {
    throw new BazilError('ALREADY_EXISTS', `a sharing key named "${name}" already exists; pick another name (see \`bazil sharing list\`)`);
  }
  db.prepare('INSERT INTO sharing_keys (name, secret, created_at) VALUES (?, ?, ?)').run(name, Buffer.from(secret), Date.now());
}

export function listSharingKeys(db: Db): string[] {
  return (db.prepare('SELECT name FROM sharing_keys ORDER BY name').all() as { name: string }[]).map((r) => r.name);
}

export function sharingKeySecret(db: Db, name: string): Buffer {
  const row = db.prepare('SELECT secret FROM sharing_keys WHERE name = ?').get(name) as { secret: Buffer } | undefined;
  if (!row) {
    throw new BazilError(
      'NOT_FOUND',
      `no sharing key named "${name}"; add it with \`bazil sharing add ${name} <KEYFILE\` (see \`bazil sharing list\`)`,
    );
  }
  return row.secret;
}
