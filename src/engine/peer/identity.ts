/**
 * A data dir's Ed25519 identity: a 32-byte seed kept in the database, and the
 * public key that names this peer everywhere (64 hex characters).
 */
import nacl from 'tweetnacl';
import { randomBytes } from 'node:crypto';

export interface Identity {
  publicKey: Buffer;
  /** tweetnacl's 64-byte signing key (seed ‖ public key). */
  secretKey: Uint8Array;
}

export function newSeed(): Buffer {
  return randomBytes(32);
}

export function identityFromSeed(seed: Uint8Array): Identity {
  const pair = nacl.sign.keyPair.fromSeed(seed);
  return { publicKey: Buffer.from(pair.publicKey), secretKey: pair.secretKey };
}
