/**
 * CPace over ristretto255 with SHA-512 (draft-irtf-cfrg-cpace, cipher suite
 * CPACE-RISTR255-SHA512), initiator-responder mode, with the explicit key
 * confirmation its section 10.4 suggests. A short code becomes a strong
 * shared key: each run lets a party who does not know the code test one guess,
 * and only by talking to us (no offline dictionary attack).
 *
 * Pure functions of their inputs (the scalar is an input too, so the draft's
 * test vectors check every step); the group and its element derivation are
 * @noble/curves' ristretto255 (RFC 9496).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';

type Point = InstanceType<typeof ristretto255.Point>;

export const DSI = Buffer.from('CPaceRistretto255');
const DSI_ISK = Buffer.concat([DSI, Buffer.from('_ISK')]);
/** SHA-512's input block size: the zero padding fills the first block after DSI and PRS. */
const S_IN_BYTES = 128;
const GROUP_SIZE_BITS = 252n;
const SHARE_BYTES = 32;

const sha512 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** The LEB128 length of data, then data. */
export function prependLen(data: Uint8Array): Buffer {
  const len: number[] = [];
  let n = data.length;
  do {
    len.push((n & 0x7f) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.concat([Buffer.from(len), data]);
}

export function lvCat(...parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts.map(prependLen));
}

export function generatorString(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Buffer {
  const zpad = Math.max(0, S_IN_BYTES - 1 - prependLen(prs).length - prependLen(DSI).length);
  return lvCat(DSI, prs, Buffer.alloc(zpad), ci, sid);
}

/** The session's secret generator: the element derived from the hash of PRS, CI and sid. */
export function calculateGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Point {
  return ristretto255_hasher.deriveToCurve!(sha512(generatorString(prs, ci, sid)));
}

/** A fresh secret scalar: 32 random bytes, the bits above 252 cleared, little-endian (below the group order, as the draft recommends). */
export function sampleScalar(): bigint {
  let y = 0n;
  do y = bytesToNumberLE(randomBytes(32)) & ((1n << GROUP_SIZE_BITS) - 1n);
  while (y === 0n); // 2^-252: never, but a zero scalar must not be used
  return y;
}

/** The public share y·g, encoded. */
export function scalarMult(y: bigint, g: Point): Buffer {
  return Buffer.from(g.multiply(y).toBytes());
}

/** y·X for an encoded X; undefined (the draft's G.I) when X does not decode or the result is the identity. */
export function scalarMultVfy(y: bigint, encoded: Uint8Array): Buffer | undefined {
  if (encoded.length !== SHARE_BYTES) return undefined;
  let x: Point;
  try {
    x = ristretto255.Point.fromBytes(encoded);
  } catch {
    return undefined;
  }
  if (x.is0()) return undefined;
  const k = x.multiply(y);
  return k.is0() ? undefined : Buffer.from(k.toBytes());
}

export function transcriptIr(ya: Uint8Array, ada: Uint8Array, yb: Uint8Array, adb: Uint8Array): Buffer {
  return Buffer.concat([lvCat(ya, ada), lvCat(yb, adb)]);
}

/** ISK = H(lv_cat(DSI_ISK, sid, K) ‖ transcript_ir(Ya, ADa, Yb, ADb)). */
export function intermediateSessionKey(sid: Uint8Array, k: Uint8Array, ya: Uint8Array, ada: Uint8Array, yb: Uint8Array, adb: Uint8Array): Buffer {
  return sha512(lvCat(DSI_ISK, sid, k), transcriptIr(ya, ada, yb, adb));
}

/** Section 10.4: mac_key = H("CPaceMac" ‖ sid ‖ ISK); each side's tag is a MAC over lv_cat(its share, its AD). */
export function confirmationTag(isk: Uint8Array, sid: Uint8Array, share: Uint8Array, ad: Uint8Array): Buffer {
  const macKey = sha512(Buffer.from('CPaceMac'), sid, isk);
  return createHmac('sha512', macKey).update(lvCat(share, ad)).digest();
}

export interface CPaceInputs {
  /** The password-related string: the code's secret words. */
  prs: Uint8Array;
  /** Channel identifier: the protocol, the invite and the roles. */
  ci: Uint8Array;
  /** Session id, fresh for each run (both sides' nonces). */
  sid: Uint8Array;
  /** This side's associated data (ADa for the initiator, ADb for the responder). */
  ad: Uint8Array;
}

/** What a finished run gives: the key, and the tags to confirm it both ways. */
export interface CPaceResult {
  isk: Buffer;
  /** The tag this side sends. */
  ownTag: Buffer;
  /** Whether the other side's tag proves it has the same key (constant time). */
  checkTheirTag(tag: Uint8Array): boolean;
}

/**
 * One party's run. share: what to send; finish(theirShare, theirAd) gives the
 * result, or undefined when their share is invalid (the run must stop).
 */
export function cpace(role: 'initiator' | 'responder', inputs: CPaceInputs, y: bigint = sampleScalar()) {
  const share = scalarMult(y, calculateGenerator(inputs.prs, inputs.ci, inputs.sid));
  return {
    share,
    finish(theirShare: Uint8Array, theirAd: Uint8Array): CPaceResult | undefined {
      const k = scalarMultVfy(y, theirShare);
      if (!k) return undefined;
      const [ya, ada, yb, adb] = role === 'initiator' ? [share, inputs.ad, theirShare, theirAd] : [theirShare, theirAd, share, inputs.ad];
      const isk = intermediateSessionKey(inputs.sid, k, ya, ada, yb, adb);
      const theirs = confirmationTag(isk, inputs.sid, theirShare, theirAd);
      return {
        isk,
        ownTag: confirmationTag(isk, inputs.sid, share, inputs.ad),
        checkTheirTag: (tag) => tag.length === theirs.length && timingSafeEqual(tag, theirs),
      };
    },
  };
}

function bytesToNumberLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** A scalar from its little-endian bytes (the draft's test vectors give them so). */
export function scalarFromBytes(bytes: Uint8Array): bigint {
  return bytesToNumberLE(bytes);
}
