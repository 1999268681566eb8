/**
 * Checking a server's host key against known_hosts the way `ssh` does: plain
 * and hashed (|1|salt|hash: HMAC-SHA1 of the host under the salt) host
 * patterns, [host]:port for a port other than 22, wildcards and negations,
 * @revoked keys. A key is never accepted unchecked: unknown and changed are
 * for the caller to ask about or refuse.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type HostKeyStatus = { status: 'known' } | { status: 'unknown' } | { status: 'changed'; line: number } | { status: 'revoked'; line: number };

/** The host as known_hosts names it: host, or [host]:port when the port is not 22. */
export const hostEntryName = (host: string, port: number) => (port === 22 ? host : `[${host}]:${port}`);

/** The key's algorithm name, from the SSH wire form of a public key (a length-prefixed string first). */
export function keyType(raw: Buffer): string {
  const length = raw.readUInt32BE(0);
  return raw.subarray(4, 4 + length).toString('latin1');
}

/** As `ssh` prints it: SHA256:base64 without padding. */
export const fingerprint = (raw: Buffer) => `SHA256:${createHash('sha256').update(raw).digest('base64').replace(/=+$/, '')}`;

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

/** Whether a known_hosts host field (comma-separated patterns, or one hashed name) names the host. */
function hostsMatch(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (globMatch(pattern.slice(1), name)) return false;
    } else if (globMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** What known_hosts (its text) says of this key for the host (as hostEntryName gives it). */
export function checkHostKey(text: string, name: string, raw: Buffer): HostKeyStatus {
  const type = keyType(raw);
  const key = raw.toString('base64');
  let changed: number | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fields = lines[i].trim().split(/\s+/);
    if (fields[0] === '' || fields[0].startsWith('#')) continue;
    const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
    const [hosts, lineType, lineKey] = fields;
    if (marker === '@cert-authority' || !hosts || !lineKey) continue;
    if (marker === '@revoked') {
      if (lineKey === key) return { status: 'revoked', line: i + 1 };
      continue;
    }
    if (!hostsMatch(hosts, name)) continue;
    if (lineType === type && lineKey === key) return { status: 'known' };
    if (lineType === type) changed ??= i + 1;
  }
  return changed === undefined ? { status: 'unknown' } : { status: 'changed', line: changed };
}

export function readKnownHosts(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** Adds an accepted key, as `ssh` does on "yes". */
export function addKnownHost(path: string, name: string, raw: Buffer): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const text = readKnownHosts(path);
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  appendFileSync(path, `${sep}${name} ${keyType(raw)} ${raw.toString('base64')}\n`, { mode: 0o600 });
}
