/**
 * A data dir's Ed25519 identity: a 32-byte seed kept in the database, and the
 * public key that names this peer everywhere (64 hex characters). Signing and
 * verifying use node:crypto (OpenSSL): a handshake costs tens of microseconds,
 * not the milliseconds of a pure-JS implementation, which matters because
 * anyone who can reach the port can ask for one.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';

export interface Identity {
  /** The raw 32-byte public key. */
  publicKey: Buffer;
  /** The signing key, made once from the seed. */
  privateKey: KeyObject;
}

/** DER prefixes that wrap a raw Ed25519 key: PKCS#8 for a seed, SubjectPublicKeyInfo for a public key (RFC 8410). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const KEY_BYTES = 32;

export function newSeed(): Buffer {
  return randomBytes(KEY_BYTES);
}

export function identityFromSeed(seed: Uint8Array): Identity {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const raw = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
  return { publicKey: Buffer.from(raw), privateKey };
}

/** An Ed25519 signature of message by the identity. */
export function signWith(identity: Identity, message: Buffer): Buffer {
  return sign(null, message, identity.privateKey);
}

/** Whether signature is publicKey's (raw, 32 bytes) over message; a malformed key or signature is simply false. */
export function verifySignature(publicKey: Buffer, message: Buffer, signature: Buffer): boolean {
  if (publicKey.length !== KEY_BYTES) return false;
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}
