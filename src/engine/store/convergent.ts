/**
 * Convergent encryption under a sharing key S. For a chunk with plaintext hash
 * h = SHA-256(chunk):
 *   object id = HMAC-SHA256(S, "id"  ‖ h)   (where the object is stored)
 *   chunk key = HMAC-SHA256(S, "key" ‖ h)   (what encrypts it)
 * Each key encrypts exactly one plaintext, so AES-256-GCM with a fixed nonce is
 * safe. Holders of S derive the same id for the same content and so dedup each
 * other's data; a store without S sees only opaque ids and sizes.
 *
 * Object format, version 1:  0x01 ‖ AES-256-GCM ciphertext ‖ 16-byte tag.
 */
import { createHmac, webcrypto } from 'node:crypto';
import { BazilError } from '../errors.js';

export const HASH_BYTES = 32;
const VERSION = 1;
const TAG_BYTES = 16;
const GCM = { name: 'AES-GCM', iv: new Uint8Array(12), tagLength: TAG_BYTES * 8 }; // fixed nonce: one plaintext per key

// Bulk hashing and encryption go through WebCrypto: it runs on libuv's thread
// pool, so chunks are hashed and encrypted on both cores while the main thread
// keeps cutting the next ones. HMACs of 32-byte inputs stay synchronous.
const subtle = webcrypto.subtle;

/** SHA-256, computed off the main thread. */
export async function sha256Async(data: Uint8Array): Promise<Buffer> {
  return Buffer.from(await subtle.digest('SHA-256', data));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export class ConvergentKey {
  private readonly secret: Buffer;

  constructor(secret: Uint8Array) {
    if (secret.length !== 32) throw new RangeError('a sharing key is 32 bytes');
    this.secret = Buffer.from(secret);
  }

  objectId(h: Uint8Array): Buffer {
    return createHmac('sha256', this.secret).update('id').update(h).digest();
  }

  private chunkKey(h: Uint8Array, use: 'encrypt' | 'decrypt'): Promise<webcrypto.CryptoKey> {
    const raw = createHmac('sha256', this.secret).update('key').update(h).digest();
    return subtle.importKey('raw', raw, 'AES-GCM', false, [use]);
  }

  /** Encrypts a chunk whose hash is h; returns the object as pieces to write in order. */
  async seal(plain: Uint8Array, h: Uint8Array): Promise<Buffer[]> {
    const sealed = await subtle.encrypt(GCM, await this.chunkKey(h, 'encrypt'), plain);
    return [Buffer.of(VERSION), Buffer.from(sealed)];
  }

  /**
   * Decrypts and verifies an object that should hold the chunk with hash h.
   * Throws CORRUPT (naming the object) when the bytes are not exactly that chunk.
   */
  async open(object: Buffer, h: Uint8Array): Promise<Buffer> {
    const corrupt = (why: string) => new BazilError('CORRUPT', `object ${toHex(this.objectId(h))} is corrupt: ${why}`);
    if (object.length < 1 + TAG_BYTES || object[0] !== VERSION) {
      throw corrupt(`bad header or too short (${object.length} bytes)`);
    }
    let plain: Buffer;
    try {
      plain = Buffer.from(await subtle.decrypt(GCM, await this.chunkKey(h, 'decrypt'), object.subarray(1)));
    } catch {
      throw corrupt('authentication failed');
    }
    if (!(await sha256Async(plain)).equals(h)) throw corrupt('content does not match its hash');
    return plain;
  }
}
