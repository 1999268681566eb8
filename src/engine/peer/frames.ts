/**
 * Records on a peer connection. Every record on the wire is a 4-byte big-endian
 * length, then that many bytes. During the handshake the bytes are plain; after
 * it, each record is AES-256-GCM ciphertext with its 16-byte tag appended, the
 * nonce being a per-direction counter (each direction has its own key, so a
 * nonce never repeats under one key).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { BazilError } from '../errors.js';

/** Largest plaintext of one frame: an object (up to 4 MiB) twice over, plus room for headers. */
export const MAX_FRAME = 8 * 1024 * 1024 + 64 * 1024;
export const TAG_LENGTH = 16;
/** Largest record after the handshake: a frame's ciphertext and its tag. */
export const MAX_SEALED = MAX_FRAME + TAG_LENGTH;
const LENGTH_BYTES = 4;
const NONCE_BYTES = 12;

/**
 * The bytes read from a socket and not consumed yet. Chunks are kept as they
 * came and joined once, when a whole record is there: a 4 MiB frame that
 * arrives in a hundred pieces is copied once, not a hundred times.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private length = 0;

  get size(): number {
    return this.length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The first n bytes, removed from the queue; undefined until n bytes are there. */
  take(n: number): Buffer | undefined {
    if (this.length < n) return undefined;
    this.length -= n;
    const first = this.chunks[0];
    if (first && first.length >= n) {
      // The common case for small records: no copy at all.
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const want = n - filled;
      if (chunk.length <= want) {
        chunk.copy(out, filled);
        filled += chunk.length;
        this.chunks.shift();
      } else {
        chunk.copy(out, filled, 0, want);
        filled += want;
        this.chunks[0] = chunk.subarray(want);
      }
    }
    return out;
  }

  /**
   * The next length-prefixed record's body, removed from the queue; undefined
   * until all of it is there. A length above max throws at once, as soon as the
   * 4 length bytes are in: the body is never waited for, let alone buffered.
   */
  nextRecord(max: number, min = 0): Buffer | undefined {
    if (this.length < LENGTH_BYTES) return undefined;
    const n = this.peekLength();
    if (n > max) throw new BazilError('CORRUPT', `a record of ${n} bytes is over the limit of ${max}`);
    if (n < min) throw new BazilError('CORRUPT', `a record of ${n} bytes is under the minimum of ${min}`);
    if (this.length < LENGTH_BYTES + n) return undefined;
    this.take(LENGTH_BYTES);
    return this.take(n);
  }

  private peekLength(): number {
    let n = 0;
    let got = 0;
    for (const chunk of this.chunks) {
      for (let i = 0; i < chunk.length && got < LENGTH_BYTES; i++, got++) n = n * 256 + chunk[i]!;
      if (got === LENGTH_BYTES) break;
    }
    return n;
  }
}

/** The 4-byte big-endian length that starts every record. */
export function lengthPrefix(n: number): Buffer {
  const b = Buffer.allocUnsafe(LENGTH_BYTES);
  b.writeUInt32BE(n);
  return b;
}

/** A plain record (the handshake's): length, then the bytes. */
export function encodeRecord(body: Buffer): Buffer {
  return Buffer.concat([lengthPrefix(body.length), body]);
}

function nonce(counter: number): Buffer {
  // 4 zero bytes, then the counter in 8 bytes big-endian.
  const n = Buffer.alloc(NONCE_BYTES);
  n.writeBigUInt64BE(BigInt(counter), 4);
  return n;
}

function nextCounter(counter: number): number {
  // Never reached in practice (2^53 frames), but a nonce must never repeat.
  if (counter >= Number.MAX_SAFE_INTEGER) throw new BazilError('INTERNAL', 'a peer connection ran out of nonces; reconnect');
  return counter + 1;
}

/** Encrypts frames for one direction of a connection. */
export class FrameSealer {
  private counter = 0;

  constructor(private readonly key: Buffer) {}

  /**
   * The record for a plaintext given in parts (they are encrypted one after
   * another, never joined): buffers to write in order. The length is also
   * authenticated data, so a changed length fails the tag, not just the framing.
   */
  seal(parts: readonly Buffer[]): Buffer[] {
    const plainLength = parts.reduce((sum, p) => sum + p.length, 0);
    if (plainLength > MAX_FRAME) {
      throw new BazilError('INVALID_ARGUMENT', `a peer message of ${plainLength} bytes is over the limit of ${MAX_FRAME}`);
    }
    const prefix = lengthPrefix(plainLength + TAG_LENGTH);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce(this.counter), { authTagLength: TAG_LENGTH });
    this.counter = nextCounter(this.counter);
    cipher.setAAD(prefix);
    const out = [prefix];
    for (const part of parts) out.push(cipher.update(part));
    out.push(cipher.final(), cipher.getAuthTag());
    return out;
  }
}

/** Decrypts frames of one direction of a connection, in the order they were sealed. */
export class FrameOpener {
  private counter = 0;

  constructor(private readonly key: Buffer) {}

  /** The plaintext of a record's body (as nextRecord returns it); throws CORRUPT when the tag does not verify. */
  open(sealed: Buffer): Buffer {
    if (sealed.length < TAG_LENGTH) throw new BazilError('CORRUPT', `a frame of ${sealed.length} bytes is too short to hold its tag`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonce(this.counter), { authTagLength: TAG_LENGTH });
    this.counter = nextCounter(this.counter);
    decipher.setAAD(lengthPrefix(sealed.length));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
    const body = decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH));
    try {
      decipher.final();
    } catch {
      throw new BazilError('CORRUPT', 'a frame failed authentication (its tag does not verify)');
    }
    return body;
  }
}
