/**
 * One joining, on one TCP connection from the joiner's server to the
 * inviter's: CPace over the code, key confirmation, then the introduction of
 * `bazil pair` both ways inside an encrypted channel.
 *
 *   joiner  → inviter  "BZI1" [hello: invite id, nonce]
 *   inviter → joiner   [nonce] or [error: wrong id, busy, used, closed]
 *   joiner  → inviter  [Ya]                     CPace shares over ristretto255;
 *   inviter → joiner   [Yb]                     sid = both nonces
 *   joiner  → inviter  [Ta]                     the joiner proves the key first:
 *   inviter → joiner   [Tb] or [error]          a wrong Ta is a wrong code, and kills the invite
 *   ---- AES-256-GCM frames, keys from HKDF(ISK) ----
 *   joiner  → inviter  {key, hostname, peerAddress}
 *   inviter → joiner   {key, hostname, peerAddress, volumes with their sharing keys}
 *   joiner  → inviter  {name, did, reached}     after its introduction and handshake to the inviter
 *   inviter → joiner   {name, did, reached}     after its handshake to the joiner
 *
 * [x] is a JSON record (4-byte length, at most 1 KiB before the channel). The
 * joiner confirming first means an impostor learns nothing from a session it
 * drops: only a tag made with the key tests a guess, and the inviter answers a
 * wrong one by closing the invite. The sharing keys travel only inside the
 * channel, and are never logged.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { ControlApi } from '../engine/control/api.js';
import { errorFromWire, errorToWire } from '../engine/control/protocol.js';
import { BazilError, isBazilError } from '../engine/errors.js';
import { ByteQueue, encodeRecord, FrameOpener, FrameSealer, MAX_SEALED } from '../engine/peer/frames.js';
import { cpace } from './cpace.js';
import { introduce, locationOf } from './introduce.js';
import { codeSecret, wordsFromBytes } from './invite-code.js';
import { answerIntroduction, PAIR_PROTOCOL, type SharedVolume } from './remote-side.js';

export const INVITE_MAGIC = Buffer.from('BZI1');
/** Every message before the channel is small; a longer one is not a joiner. */
export const MAX_PLAIN_RECORD = 1024;
/** A message in the channel: the introduction, a few volumes. */
export const MAX_CHANNEL_RECORD = 64 * 1024;
/** How long the exchange up to the confirmed key may take: a stranger holds an invite's one slot no longer. */
export const PAKE_TIMEOUT_MS = 10_000;
/** How long the introduction may take once the key is confirmed (it connects volumes and dials both ways). */
export const INTRODUCTION_TIMEOUT_MS = 60_000;
/** Volumes one invite may carry. */
export const MAX_INVITE_VOLUMES = 32;
const NONCE = 16;
const AD_JOINER = Buffer.from('joiner');
const AD_INVITER = Buffer.from('inviter');

/** This server, as the other side learns it. */
export interface SelfInfo {
  key: string;
  hostname: string;
  /** Where its peer listener is bound, as printed ([::]:34211). */
  peerAddress: string;
}

/** What decides whether a joiner may try the code: the invite's state, kept by its host. */
export interface InviteGate {
  /** Reserves the invite for this session, or says why not (busy, used, closed). */
  admit(): BazilError | undefined;
  /** The code was tried: right (the invite is used) or wrong (it is closed). */
  guessed(right: boolean): void;
  /** The session ended before a guess: the invite is open again. */
  abandoned(): void;
}

/** What a joining gave the inviter. */
export interface Joined {
  key: string;
  /** What the inviter calls the joiner. */
  name: string;
  verification: string;
  did: string[];
}

/** The channel identifier: the protocol, the invite and the two roles (the draft's advice for party identities). */
function channelId(id: number): Buffer {
  return Buffer.from(`bazil invite 1\ninvite ${id}\njoiner\ninviter`);
}

function sessionKeys(isk: Buffer, sid: Buffer) {
  const okm = Buffer.from(hkdfSync('sha256', isk, sid, 'bazil invite channel v1', 64));
  const verification = Buffer.from(hkdfSync('sha256', isk, sid, 'bazil invite verification v1', 6));
  return { joinerToInviter: okm.subarray(0, 32), inviterToJoiner: okm.subarray(32), verification: wordsFromBytes(verification).join(' ') };
}

/** Records off a socket, one at a time, with a bound on what may wait unread. */
class Records {
  private readonly queue = new ByteQueue();
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private sealer?: FrameSealer;
  private opener?: FrameOpener;

  constructor(
    private readonly socket: Socket,
    private readonly other: string,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      // Nothing legitimate sends ahead this much: one channel message at most.
      if (this.queue.size > MAX_SEALED) this.fail(new BazilError('CORRUPT', `${other} sent more than it may before an answer`));
      this.poke();
    });
    const gone = () => this.fail(new BazilError('UNAVAILABLE', `${other} closed the connection`));
    socket.on('end', gone);
    socket.on('close', gone);
    socket.on('error', (err) => this.fail(new BazilError('UNAVAILABLE', `the connection to ${other} failed: ${err.message}`)));
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.poke();
  }

  /** From now on, records are sealed with these keys. */
  encrypt(send: Buffer, receive: Buffer): void {
    this.sealer = new FrameSealer(send);
    this.opener = new FrameOpener(receive);
  }

  async magic(): Promise<Buffer> {
    return this.next((q) => q.take(INVITE_MAGIC.length));
  }

  send(message: unknown): void {
    const body = Buffer.from(JSON.stringify(message));
    this.socket.write(this.sealer ? Buffer.concat(this.sealer.seal([body])) : encodeRecord(body));
  }

  /** Sends an error as the last message, then ends the connection. */
  refuse(err: unknown): void {
    if (this.socket.writable) {
      this.send({ error: errorToWire(err) });
      this.socket.end();
    }
  }

  /** The next message: a JSON object; an {error} message from the other side is thrown as the error it names. */
  async receive(): Promise<Record<string, unknown>> {
    const max = this.opener ? MAX_CHANNEL_RECORD : MAX_PLAIN_RECORD;
    const record = await this.next((q) => q.nextRecord(max));
    const body = this.opener ? this.opener.open(record) : record;
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      value = undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BazilError('CORRUPT', `${this.other} sent something other than an invite message`);
    const message = value as Record<string, unknown>;
    if ('error' in message) throw errorFromWire(message.error);
    return message;
  }

  private async next<T>(take: (q: ByteQueue) => T | undefined): Promise<T> {
    for (;;) {
      // What arrived before a close is still read: a refusal is sent just before the end.
      const value = take(this.queue);
      if (value !== undefined) return value;
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** Fails the records' reader after ms (so every await on the socket ends); returns the cancel. */
function deadline(records: Records, ms: number, what: string): () => void {
  const timer = setTimeout(() => records.fail(new BazilError('UNAVAILABLE', `${what} did not finish within ${ms / 1000} s`)), ms);
  timer.unref();
  return () => clearTimeout(timer);
}

function bytesField(m: Record<string, unknown>, name: string, length: number, who: string): Buffer {
  const v = m[name];
  if (typeof v !== 'string' || v.length !== 2 * length || !/^[0-9a-f]+$/.test(v)) throw new BazilError('CORRUPT', `${who} sent a malformed "${name}"`);
  return Buffer.from(v, 'hex');
}

function textField(m: Record<string, unknown>, name: string, who: string, max = 255): string {
  const v = m[name];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new BazilError('CORRUPT', `${who} sent a malformed "${name}"`);
  return v;
}

function stringsField(m: Record<string, unknown>, name: string, who: string): string[] {
  const v = m[name];
  if (!Array.isArray(v) || v.length > 100 || !v.every((x) => typeof x === 'string' && x.length <= 1000)) throw new BazilError('CORRUPT', `${who} sent a malformed "${name}"`);
  return v as string[];
}

function selfFields(m: Record<string, unknown>, who: string): SelfInfo {
  const key = bytesField(m, 'key', 32, who).toString('hex');
  return { key, hostname: textField(m, 'hostname', who), peerAddress: textField(m, 'peerAddress', who) };
}

function volumesField(m: Record<string, unknown>, who: string): SharedVolume[] {
  const v = m.volumes;
  if (!Array.isArray(v) || v.length > MAX_INVITE_VOLUMES) throw new BazilError('CORRUPT', `${who} sent a malformed "volumes"`);
  return v.map((x: unknown) => {
    const o = (typeof x === 'object' && x !== null ? x : {}) as Record<string, unknown>;
    const secret = textField(o, 'secret', who, 64);
    if (Buffer.from(secret, 'base64').length !== 32) throw new BazilError('CORRUPT', `${who} sent a sharing key that is not 32 bytes`);
    return { name: textField(o, 'name', who), sharing: textField(o, 'sharing', who), secret };
  });
}

/** Ends a connection after a failure: at once, unless a refusal is on its way out (then soon, to bound it). */
function close(socket: Socket): void {
  if (!socket.writableEnded) socket.destroy();
  else setTimeout(() => socket.destroy(), 5_000).unref();
}

/** The joiner's address as the inviter's server can dial it: where it connected from. */
function remoteHost(socket: Socket): string {
  const a = socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice('::ffff:'.length) : a;
}

export interface InviterSession {
  id: number;
  words: string[];
  volumes: string[];
  gate: InviteGate;
  api: ControlApi;
  self: SelfInfo;
}

/**
 * The inviter's side of one connection. Resolves with the joining when it
 * completed, undefined when the session ended before the code was tried (the
 * connection is closed either way); throws when it failed after (a wrong
 * code, a failed introduction): the invite is over then.
 */
export async function serveJoiner(socket: Socket, s: InviterSession): Promise<Joined | undefined> {
  const where = `${remoteHost(socket)}:${socket.remotePort}`;
  const records = new Records(socket, `the joiner at ${where}`);
  let cancel = deadline(records, PAKE_TIMEOUT_MS, 'the code exchange');
  let admitted = false;
  let tried = false;
  try {
    const magic = await records.magic();
    if (!magic.equals(INVITE_MAGIC)) {
      socket.destroy();
      return undefined; // not a bazil joiner: nothing to say to it
    }
    const hello = await records.receive();
    const nonceJ = bytesField(hello, 'nonce', NONCE, 'the joiner');
    if (hello.id !== s.id) {
      records.refuse(new BazilError('NOT_FOUND', `this address holds invite ${s.id}, not invite ${String(hello.id)}: check the number at the start of the code`));
      return undefined;
    }
    const refusal = s.gate.admit();
    if (refusal) {
      records.refuse(refusal);
      return undefined;
    }
    admitted = true;
    const nonceI = randomBytes(NONCE);
    records.send({ nonce: nonceI.toString('hex') });
    const sid = Buffer.concat([nonceJ, nonceI]);
    const run = cpace('responder', { prs: codeSecret(s.words), ci: channelId(s.id), sid, ad: AD_INVITER });
    const ya = bytesField(await records.receive(), 'share', 32, 'the joiner');
    records.send({ share: run.share.toString('hex') });
    const result = run.finish(ya, AD_JOINER);
    if (!result) throw new BazilError('CORRUPT', 'the joiner sent an invalid CPace share');
    const tag = bytesField(await records.receive(), 'tag', 64, 'the joiner');
    tried = true;
    if (!result.checkTheirTag(tag)) {
      s.gate.guessed(false);
      const wrong = new BazilError('UNAUTHORIZED', `wrong code for invite ${s.id}: the invite is now closed (one wrong guess closes it); ask for a new invite`);
      records.refuse(wrong);
      throw new BazilError('UNAUTHORIZED', `a wrong code was tried from ${where}; the invite is closed`);
    }
    s.gate.guessed(true);
    records.send({ tag: result.ownTag.toString('hex') });
    cancel();
    cancel = deadline(records, INTRODUCTION_TIMEOUT_MS, 'the introduction');

    const keys = sessionKeys(result.isk, sid);
    records.encrypt(keys.inviterToJoiner, keys.joinerToInviter);
    try {
      const joiner = selfFields(await records.receive(), 'the joiner');
      if (joiner.key === s.self.key) throw new BazilError('INVALID_ARGUMENT', 'the joiner is this same data dir (the same key); join from another data dir');
      const here = await introduce(s.api, { key: joiner.key, hostname: joiner.hostname, location: locationOf(remoteHost(socket), joiner.peerAddress), volumes: s.volumes });
      const volumes: SharedVolume[] = [];
      for (const name of s.volumes) volumes.push({ name, ...(await s.api.call('pair.volumeSecret', { volume: name })) });
      records.send({ protocol: PAIR_PROTOCOL, ...s.self, volumes });
      const there = await records.receive();
      textField(there, 'name', 'the joiner');
      const theirDid = stringsField(there, 'did', 'the joiner');
      // The proof, this way: this server completes an authenticated handshake with the joiner's.
      const reached = await s.api.call('peer.connect', { key: joiner.key });
      records.send({ name: here.name, did: here.did, reached: reached.address });
      socket.end();
      return { key: joiner.key, name: here.name, verification: keys.verification, did: [...here.did, ...theirDid.map((d) => `on ${here.name}: ${d}`)] };
    } catch (err) {
      records.refuse(err);
      throw err;
    }
  } catch (err) {
    close(socket);
    if (admitted && !tried) {
      s.gate.abandoned();
      return undefined;
    }
    throw err;
  } finally {
    cancel();
  }
}

export interface JoinerSession {
  id: number;
  words: string[];
  api: ControlApi;
  self: SelfInfo;
  /** The host the joiner's server dialled, for the inviter's location. */
  host: string;
}

/** What the joiner's side did, for JoinResult. */
export interface JoinedAs {
  key: string;
  name: string;
  volumes: string[];
  verification: string;
  did: string[];
}

/** The joiner's side, on a connected socket. Throws what went wrong, in words for the user. */
export async function joinInviter(socket: Socket, j: JoinerSession): Promise<JoinedAs> {
  const who = `the inviter at ${j.host}`;
  const records = new Records(socket, who);
  let cancel = deadline(records, PAKE_TIMEOUT_MS, 'the code exchange');
  try {
    const nonceJ = randomBytes(NONCE);
    socket.write(INVITE_MAGIC);
    records.send({ id: j.id, nonce: nonceJ.toString('hex') });
    const nonceI = bytesField(await records.receive(), 'nonce', NONCE, who);
    const sid = Buffer.concat([nonceJ, nonceI]);
    const run = cpace('initiator', { prs: codeSecret(j.words), ci: channelId(j.id), sid, ad: AD_JOINER });
    records.send({ share: run.share.toString('hex') });
    const result = run.finish(bytesField(await records.receive(), 'share', 32, who), AD_INVITER);
    if (!result) throw new BazilError('CORRUPT', `${who} sent an invalid CPace share`);
    records.send({ tag: result.ownTag.toString('hex') });
    const tag = bytesField(await records.receive(), 'tag', 64, who);
    if (!result.checkTheirTag(tag)) {
      throw new BazilError('UNAUTHORIZED', `${who} did not prove it knows the code: something may be in the middle; ask for a new invite`);
    }
    cancel();
    cancel = deadline(records, INTRODUCTION_TIMEOUT_MS, 'the introduction');

    const keys = sessionKeys(result.isk, sid);
    records.encrypt(keys.joinerToInviter, keys.inviterToJoiner);
    records.send(j.self);
    const m = await records.receive();
    const inviter = selfFields(m, who);
    const volumes = volumesField(m, who);
    if (m.protocol !== PAIR_PROTOCOL) throw new BazilError('INVALID_ARGUMENT', `${who} speaks pairing protocol ${String(m.protocol)}, this bazil ${PAIR_PROTOCOL}; install the same version on both`);
    let answer;
    try {
      answer = await answerIntroduction(j.api, { protocol: PAIR_PROTOCOL, ...inviter, location: locationOf(j.host, inviter.peerAddress), volumes });
    } catch (err) {
      records.refuse(err);
      throw err;
    }
    records.send({ name: answer.name, did: answer.did, reached: answer.reached });
    const last = await records.receive();
    const theirDid = stringsField(last, 'did', who);
    textField(last, 'reached', who);
    socket.end();
    return {
      key: inviter.key,
      name: answer.name,
      volumes: volumes.map((v) => v.name),
      verification: keys.verification,
      did: [...answer.did, ...theirDid.map((d) => `on ${answer.name}: ${d}`)],
    };
  } catch (err) {
    close(socket);
    throw isBazilError(err) ? err : new BazilError('INTERNAL', err instanceof Error ? err.message : String(err));
  } finally {
    cancel();
  }
}
