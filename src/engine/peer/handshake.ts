/**
 * The handshake that opens a peer connection: each side proves its Ed25519 key,
 * both agree on fresh session keys, and the server says whether it lets the
 * client in.
 *
 *   client → server  "BZP1" [ce]                 ce, se: ephemeral X25519 keys
 *   server → client  [se ‖ S ‖ sigS]             S, C: Ed25519 identity keys
 *   client → server  [C ‖ sigC]
 *   server → client  first sealed frame: {"ok":true} or {"error":{code,message}}
 *
 * [x] is a record (4-byte length, then x). The transcript hash runs over a domain
 * string and every byte above in order: sigS signs it up to S, sigC up to C,
 * and the session keys are HKDF(X25519(ce, se), salt = the hash up to sigC).
 * Because the salt covers both identities, a third party that swaps in its own
 * key leaves the two ends with different keys, and the first frame fails.
 */
import { createHash, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type Hash, type KeyObject } from 'node:crypto';
import type { Socket } from 'node:net';
import { BazilError } from '../errors.js';
import { errorFromWire } from '../control/protocol.js';
import { signWith, verifySignature, type Identity } from './identity.js';
import { ByteQueue, encodeRecord, FrameOpener, FrameSealer, TAG_LENGTH } from './frames.js';

export const MAGIC = Buffer.from('BZP1');
const DOMAIN = 'bazil peer handshake v1';
const KEY_INFO = 'bazil peer session keys v1';
const BINDING_INFO = 'bazil peer channel binding v1';
/** Every handshake message is small; anything longer is not a bazil peer. */
export const MAX_HANDSHAKE_RECORD = 1024;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
const KEY = 32;
const SIG = 64;

/** What a finished handshake hands to the connection. */
export interface Session {
  remoteKey: Buffer;
  sealer: FrameSealer;
  opener: FrameOpener;
  /** Bytes already read past the handshake; the socket is paused until they are taken over. */
  queue: ByteQueue;
  /**
   * 32 bytes both ends derive from this handshake's transcript and no other
   * connection shares: a proof made over it (a MAC under a volume's key, say)
   * cannot be replayed on another connection.
   */
  binding: Buffer;
}

/** A key as people read it in messages: its first 16 hex characters. */
export function shortKey(key: Buffer): string {
  return key.toString('hex').slice(0, 16);
}

export interface ClientHandshakeOptions {
  identity: Identity;
  /** The key of the peer we mean to reach: any other key is refused. */
  expectKey: Buffer;
  /** host:port, for messages. */
  where: string;
  timeoutMs?: number;
}

/**
 * The client's side. Throws UNAUTHORIZED when the server is not the expected
 * peer or refuses our key, CORRUPT when it does not follow the protocol,
 * NOT_FOUND when it does not finish in time or goes away.
 */
export async function clientHandshake(socket: Socket, opts: ClientHandshakeOptions): Promise<Session> {
  const { identity, expectKey, where } = opts;
  const reader = new Reader(socket);
  return withDeadline(reader, opts.timeoutMs, `the peer at ${where} did not finish the handshake`, async () => {
    const eph = ephemeral();
    socket.write(Buffer.concat([MAGIC, encodeRecord(eph.publicRaw)]));
    const t = new Transcript().add(MAGIC, eph.publicRaw);

    const m2 = await reader.read((q) => q.nextRecord(MAX_HANDSHAKE_RECORD));
    if (m2.length !== KEY + KEY + SIG) throw notBazil(`the server at ${where}`, m2.length);
    const serverEph = m2.subarray(0, KEY);
    const serverKey = Buffer.from(m2.subarray(KEY, 2 * KEY));
    const sigS = m2.subarray(2 * KEY);
    if (!serverKey.equals(expectKey)) {
      throw new BazilError(
        'UNAUTHORIZED',
        `the server at ${where} is peer ${shortKey(serverKey)}, which is not the peer you meant to reach (${shortKey(expectKey)}); ` +
          'another machine may have taken that address: check the location with `bazil peer list`',
      );
    }
    t.add(serverEph, serverKey);
    if (!verifySignature(serverKey, t.digest(), sigS)) {
      throw new BazilError(
        'UNAUTHORIZED',
        `the server at ${where} could not prove it holds the key of peer ${shortKey(serverKey)}; something may be intercepting the connection`,
      );
    }

    t.add(sigS, identity.publicKey);
    const sigC = signWith(identity, t.digest());
    socket.write(encodeRecord(Buffer.concat([identity.publicKey, sigC])));
    t.add(sigC);
    const keys = sessionKeys(eph.privateKey, serverEph, t.digest());
    const binding = channelBinding(t.digest());
    const sealer = new FrameSealer(keys.clientToServer);
    const opener = new FrameOpener(keys.serverToClient);

    const sealed = await reader.read((q) => q.nextRecord(MAX_HANDSHAKE_RECORD, TAG_LENGTH));
    const verdict = parseVerdict(opener.open(sealed));
    if (verdict !== true) {
      const err = errorFromWire(verdict);
      throw new BazilError(err.code, `peer ${shortKey(serverKey)} at ${where} refused the connection: ${err.message}`);
    }
    return { remoteKey: serverKey, sealer, opener, queue: reader.handOver(), binding };
  });
}

export interface ServerHandshakeOptions {
  identity: Identity;
  isKnown(key: Buffer): boolean;
  /** host:port of the client, for log lines. */
  where: string;
  timeoutMs?: number;
}

/**
 * The server's side. A client whose key is not known is told so, the socket is
 * ended, and this throws UNAUTHORIZED with the line to log. Any other failure
 * throws with the reason; the caller logs it and destroys the socket.
 */
export async function serverHandshake(socket: Socket, opts: ServerHandshakeOptions): Promise<Session> {
  const { identity, where } = opts;
  const reader = new Reader(socket);
  return withDeadline(reader, opts.timeoutMs, 'the handshake did not finish', async () => {
    const magic = await reader.read((q) => q.take(MAGIC.length));
    if (!magic.equals(MAGIC)) {
      // The bytes are shown in hex: they come from anyone and must not garble the log.
      throw new BazilError('CORRUPT', `it does not speak the bazil peer protocol (it began with 0x${magic.toString('hex')}, not "BZP1")`);
    }
    const clientEph = await reader.read((q) => q.nextRecord(MAX_HANDSHAKE_RECORD));
    if (clientEph.length !== KEY) throw notBazil('the client', clientEph.length);

    const eph = ephemeral();
    const t = new Transcript().add(MAGIC, clientEph, eph.publicRaw, identity.publicKey);
    const sigS = signWith(identity, t.digest());
    socket.write(encodeRecord(Buffer.concat([eph.publicRaw, identity.publicKey, sigS])));
    t.add(sigS);

    const m3 = await reader.read((q) => q.nextRecord(MAX_HANDSHAKE_RECORD));
    if (m3.length !== KEY + SIG) throw notBazil('the client', m3.length);
    const clientKey = Buffer.from(m3.subarray(0, KEY));
    const sigC = m3.subarray(KEY);
    t.add(clientKey);
    if (!verifySignature(clientKey, t.digest(), sigC)) {
      throw new BazilError('CORRUPT', `it could not prove it holds the key it claims (${clientKey.toString('hex')})`);
    }
    t.add(sigC);
    const keys = sessionKeys(eph.privateKey, clientEph, t.digest());
    const binding = channelBinding(t.digest());
    const sealer = new FrameSealer(keys.serverToClient);
    const opener = new FrameOpener(keys.clientToServer);

    const hex = clientKey.toString('hex');
    if (!opts.isKnown(clientKey)) {
      const refusal = { error: { code: 'UNAUTHORIZED', message: `it does not know this data dir's key; add it there with \`bazil peer add ${hex}\`` } };
      socket.end(Buffer.concat(sealer.seal([Buffer.from(JSON.stringify(refusal))])));
      throw new BazilError('UNAUTHORIZED', `refused a peer connection from ${hex} at ${where}: unknown key; add it with \`bazil peer add ${hex}\``);
    }
    socket.write(Buffer.concat(sealer.seal([Buffer.from(JSON.stringify({ ok: true }))])));
    return { remoteKey: clientKey, sealer, opener, queue: reader.handOver(), binding };
  });
}

function notBazil(who: string, length: number): BazilError {
  return new BazilError('CORRUPT', `${who} does not speak the bazil peer protocol (a handshake message of ${length} bytes)`);
}

/** true for {"ok":true}, the error object for {"error":...}; CORRUPT for anything else. */
function parseVerdict(plain: Buffer): unknown {
  let value: unknown;
  try {
    value = JSON.parse(plain.toString('utf8'));
  } catch {
    value = undefined;
  }
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, unknown>;
    if (v.ok === true) return true;
    if (typeof v.error === 'object' && v.error !== null) return v.error;
  }
  throw new BazilError('CORRUPT', 'the last handshake message is not the answer expected');
}

function ephemeral(): { publicRaw: Buffer; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const x = publicKey.export({ format: 'jwk' }).x;
  if (x === undefined) throw new BazilError('INTERNAL', 'node:crypto exported an X25519 key without its "x"');
  return { publicRaw: Buffer.from(x, 'base64url'), privateKey };
}

function sessionKeys(privateKey: KeyObject, peerRaw: Buffer, salt: Buffer): { clientToServer: Buffer; serverToClient: Buffer } {
  let shared: Buffer;
  try {
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: peerRaw.toString('base64url') }, format: 'jwk' });
    shared = diffieHellman({ privateKey, publicKey });
  } catch {
    // OpenSSL refuses low-order points (an all-zero shared secret).
    throw new BazilError('CORRUPT', 'the other side sent an unusable ephemeral key');
  }
  const okm = Buffer.from(hkdfSync('sha256', shared, salt, KEY_INFO, 2 * KEY));
  return { clientToServer: okm.subarray(0, KEY), serverToClient: okm.subarray(KEY) };
}

/** Public, unlike the session keys: it only names this connection. */
function channelBinding(transcript: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', transcript, Buffer.alloc(0), BINDING_INFO, KEY));
}

/** A running SHA-256 over the domain string and the handshake so far. */
class Transcript {
  private readonly hash: Hash = createHash('sha256').update(DOMAIN);

  add(...parts: Buffer[]): this {
    for (const p of parts) this.hash.update(p);
    return this;
  }

  digest(): Buffer {
    return this.hash.copy().digest();
  }
}

/** Runs a handshake step by step with one deadline for all of it. */
async function withDeadline<T>(reader: Reader, timeoutMs: number | undefined, what: string, run: () => Promise<T>): Promise<T> {
  const ms = timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const timer = setTimeout(() => reader.fail(new BazilError('NOT_FOUND', `${what} within ${ms} ms`)), ms);
  timer.unref(); // the socket keeps the process alive while it matters
  try {
    return await run();
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the handshake's records off a socket, and hands what is left to the connection. */
class Reader {
  private readonly queue = new ByteQueue();
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  private readonly onData = (chunk: Buffer): void => {
    this.queue.push(chunk);
    this.poke();
  };
  private readonly onEnd = (): void => this.fail(new BazilError('NOT_FOUND', 'the connection closed in the middle of the handshake'));
  private readonly onError = (err: Error): void =>
    this.fail(new BazilError('NOT_FOUND', `the connection failed in the middle of the handshake: ${err.message}`));

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.poke();
  }

  /** Waits until take finds what it wants in the queue (take may throw, e.g. on a record too long). */
  async read<T>(take: (queue: ByteQueue) => T | undefined): Promise<T> {
    for (;;) {
      // What arrived before an end is still read: a refusal comes just before the close.
      const value = take(this.queue);
      if (value !== undefined) return value;
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Stops reading (the socket is paused: nothing is lost) and gives up what is queued. */
  handOver(): ByteQueue {
    this.socket.pause();
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    return this.queue;
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
