/**
 * Requests and responses over an authenticated peer connection. A frame's
 * plaintext is a 4-byte JSON header length, the UTF-8 JSON header, and an
 * optional binary body (the rest):
 *
 *   request   {"id":1,"method":"object.get","params":{...}}
 *   response  {"id":1,"result":...}  or  {"id":1,"error":{"code":"NOT_FOUND","message":"..."}}
 *
 * A header with "body":true carries the rest of the frame as its body. Either
 * side may call the other; ids are per direction, so a request and a response
 * with the same id never mix. Handlers run concurrently and answer in any order.
 * A frame that fails to decrypt or parse drops the connection (never the server).
 */
import { connect, type Socket } from 'node:net';
import { BazilError, isBazilError, type ErrorCode } from '../errors.js';
import { errorFromWire, type WireError } from '../control/protocol.js';
import type { Identity } from './identity.js';
import { ByteQueue, FrameOpener, FrameSealer, lengthPrefix, MAX_SEALED, TAG_LENGTH } from './frames.js';
import { clientHandshake, DEFAULT_HANDSHAKE_TIMEOUT_MS, serverHandshake, shortKey, type Session } from './handshake.js';
import { formatAddr } from './listener.js';

/** binding: the connection's channel binding (Session.binding), for proofs tied to this connection. */
export type PeerHandler = (req: {
  peer: Buffer;
  binding: Buffer;
  method: string;
  params: Record<string, unknown>;
  body?: Buffer;
}) => Promise<{ result: unknown; body?: Buffer }>;

export interface PeerConnection {
  /** The other side's Ed25519 public key, proven by the handshake. */
  readonly remoteKey: Buffer;
  /** host:port as seen. */
  readonly remoteAddress: string;
  /** The same 32 bytes on both ends, unique to this connection (Session.binding). */
  readonly binding: Buffer;
  call<T = unknown>(method: string, params?: Record<string, unknown>, body?: Buffer, timeoutMs?: number): Promise<{ result: T; body?: Buffer }>;
  close(): void;
  /** Settles (never rejects) when the connection is gone, whichever side ended it. */
  readonly closed: Promise<void>;
}

export interface DialOptions {
  host: string;
  port: number;
  identity: Identity;
  expectKey: Buffer;
  /** Answers the server's requests on this connection; without it they get an error. */
  handle?: PeerHandler;
  log?: (line: string) => void;
  /** Limit for connecting and the handshake (default 10 s); calls have their own. */
  timeoutMs?: number;
  /** How long part of a frame may wait for its next byte (default STALL_TIMEOUT_MS). */
  stallTimeoutMs?: number;
  /** Gives up connecting (or the handshake) at once, e.g. when the server stops. */
  signal?: AbortSignal;
}

export interface AcceptOptions {
  identity: Identity;
  isKnown(key: Buffer): boolean;
  handle: PeerHandler;
  log(line: string): void;
  /** Where lines about a connection that has not proven its key go (default: log); they may be rate-limited. */
  logUnauthenticated?(line: string): void;
  handshakeTimeoutMs?: number;
  /** How long part of a frame may wait for its next byte (default STALL_TIMEOUT_MS). */
  stallTimeoutMs?: number;
  onConnection?(conn: PeerConnection): void;
}

/** Connects to a peer, proves both keys, and returns the connection once the peer has let us in. */
export async function dialPeer(opts: DialOptions): Promise<PeerConnection> {
  const where = formatAddr(opts.host, opts.port);
  const who = `peer ${shortKey(opts.expectKey)} at ${where}`;
  if (opts.signal?.aborted) throw new BazilError('NOT_FOUND', `did not connect to ${who}: ${abortReason(opts.signal)}`);
  const socket = connect({ host: opts.host, port: opts.port });
  socket.on('error', () => {}); // errors are reported by the steps below, and as the reason a connection closed
  const abort = (): void => void socket.destroy(new Error(abortReason(opts.signal!)));
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    return await dialOn(socket, opts, where, who);
  } finally {
    opts.signal?.removeEventListener('abort', abort);
  }
}

function abortReason(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'aborted');
}

async function dialOn(socket: Socket, opts: DialOptions, where: string, who: string): Promise<PeerConnection> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  try {
    await connected(socket, timeoutMs);
  } catch (err) {
    socket.destroy();
    const why = err instanceof Error ? err.message : String(err);
    throw new BazilError('NOT_FOUND', `cannot reach ${who}: ${why}; is its server running? check the location with \`bazil peer list\``);
  }
  let session: Session;
  try {
    session = await clientHandshake(socket, { identity: opts.identity, expectKey: opts.expectKey, where, timeoutMs });
  } catch (err) {
    socket.destroy();
    if (isBazilError(err) && err.code === 'UNAUTHORIZED') throw err; // already says who and what to do
    const code: ErrorCode = isBazilError(err) ? err.code : 'INTERNAL';
    throw new BazilError(code, `the handshake with ${who} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  return new Connection(socket, session, addressOf(socket) ?? where, opts.handle, opts.log ?? (() => {}), opts.stallTimeoutMs);
}

/** Serves a socket a peer opened. Never throws: a failure is logged and the socket destroyed. */
export function acceptPeer(socket: Socket, opts: AcceptOptions): void {
  socket.on('error', () => {}); // a peer that goes away is its own business; the reason is logged where it matters
  const where = addressOf(socket) ?? 'an unknown address';
  const logAnon = opts.logUnauthenticated ?? opts.log;
  const isKnown = (key: Buffer): boolean => {
    try {
      return opts.isKnown(key);
    } catch (err) {
      opts.log(`could not look up peer ${key.toString('hex')}: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  };
  serverHandshake(socket, { identity: opts.identity, isKnown, where, timeoutMs: opts.handshakeTimeoutMs }).then(
    (session) => {
      const conn = new Connection(socket, session, where, opts.handle, opts.log, opts.stallTimeoutMs);
      try {
        opts.onConnection?.(conn);
      } catch (err) {
        opts.log(`internal error taking a connection from peer ${session.remoteKey.toString('hex')}: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    (err: unknown) => {
      const why = err instanceof Error ? err.message : String(err);
      if (isBazilError(err, 'UNAUTHORIZED')) {
        logAnon(why);
        // The refusal was sent with end(); let it reach the client, then cut off one that lingers.
        setTimeout(() => socket.destroy(), 1000).unref();
      } else {
        logAnon(`peer connection from ${where} dropped during the handshake: ${why}`);
        socket.destroy();
      }
    },
  );
}

/*
 * Flow control. A peer is authenticated but not trusted: whatever it sends or
 * fails to read, what the server holds for one connection stays bounded.
 *
 *  - A side keeps at most MAX_OUTSTANDING_CALLS of its own requests unanswered,
 *    and under REQUEST_BYTES_IN_FLIGHT of them (but for a lone request);
 *    further calls wait here, unsent. The other side serves as many at once,
 *    and stops reading the socket (responses included) only when a peer goes
 *    over that: a well-behaved peer never makes it stop, so two peers calling
 *    each other hard cannot block each other.
 *  - Of those, at most MAX_SERVING run at once, and one starts only while the
 *    answers not yet taken by the socket are under WRITE_HIGH_WATER: a peer
 *    that does not read its answers stops getting new ones made, its requests
 *    pile up to the limit, and then the connection stops reading from it.
 *  - A frame begun but not finished must make progress: no byte for
 *    STALL_TIMEOUT_MS and the connection is dropped, freeing the partial frame.
 * Worst case for one connection: a partial frame (MAX_SEALED), the requests in
 * flight (REQUEST_BYTES_IN_FLIGHT and one frame more), and the answers
 * (WRITE_HIGH_WATER plus MAX_SERVING frames).
 */
/** Requests a side may have unanswered on one connection: enough to keep a fast link busy with 1 MiB objects. */
export const MAX_OUTSTANDING_CALLS = 16;
/** Requests served at once per connection: reading objects is disk-bound, more would only hold more answers. */
export const MAX_SERVING = 4;
/** Bytes of answers the socket may hold unsent before no new request is started. */
export const WRITE_HIGH_WATER = 2 * 1024 * 1024;
/** Request bytes (params and bodies) held by requests in flight before the connection stops reading. */
export const REQUEST_BYTES_IN_FLIGHT = 16 * 1024 * 1024;
/** How long a partial frame may wait for its next byte; a 4 MiB object over a slow link still gets bytes every second. */
export const STALL_TIMEOUT_MS = 30_000;

interface Call {
  method: string;
  params: Record<string, unknown>;
  body?: Buffer;
  resolve(value: { result: unknown; body?: Buffer }): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
  /** Set once sent. */
  id?: number;
  /** At least the bytes of its frame's plaintext, as the other side counts them. */
  size: number;
}

type Request = { kind: 'request'; id: number; method: string; params: Record<string, unknown>; body?: Buffer; size: number };
type Message = Request | { kind: 'response'; id: number; result: unknown; error?: BazilError; body?: Buffer };

class Connection implements PeerConnection {
  readonly remoteKey: Buffer;
  readonly binding: Buffer;
  readonly closed: Promise<void>;
  private readonly sealer: FrameSealer;
  private readonly opener: FrameOpener;
  private readonly queue: ByteQueue;
  /** Our calls sent and not answered, by id. */
  private readonly pending = new Map<number, Call>();
  /** Our calls waiting for a free slot (MAX_OUTSTANDING_CALLS). */
  private readonly unsent: Call[] = [];
  /** Calls that timed out, by id, with their size: their slot is taken until the late answer comes. */
  private readonly abandoned = new Map<number, number>();
  /** Sizes of the calls pending and abandoned. */
  private outstandingBytes = 0;
  private nextId = 1;
  /** The peer's requests read and not yet answered, and their bytes. */
  private inFlight = 0;
  private inFlightBytes = 0;
  /** Of those, the ones not started yet. */
  private readonly waiting: Request[] = [];
  private serving = 0;
  private awaitingDrain = false;
  private readingPaused = false;
  /** Running while part of a frame waits for the rest (STALL_TIMEOUT_MS). */
  private stallTimer: NodeJS.Timeout | undefined;
  private ended = false;
  private closeReason: string | undefined;

  constructor(
    private readonly socket: Socket,
    session: Session,
    readonly remoteAddress: string,
    private readonly handle: PeerHandler | undefined,
    private readonly log: (line: string) => void,
    private readonly stallTimeoutMs = STALL_TIMEOUT_MS,
  ) {
    this.remoteKey = session.remoteKey;
    this.binding = session.binding;
    this.sealer = session.sealer;
    this.opener = session.opener;
    this.queue = session.queue;
    this.closed = new Promise<void>((resolve) => {
      const done = (): void => {
        this.onClose();
        resolve();
      };
      if (socket.closed) done();
      else socket.once('close', done);
    });
    socket.on('error', (err) => (this.closeReason ??= err.message));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.queue.push(chunk);
      this.drain();
    });
    this.drain(); // frames that came with the end of the handshake
    if (!this.readingPaused) socket.resume(); // the handshake paused it to hand over
  }

  call<T = unknown>(method: string, params: Record<string, unknown> = {}, body?: Buffer, timeoutMs?: number): Promise<{ result: T; body?: Buffer }> {
    if (this.ended || this.socket.destroyed) return Promise.reject(this.closedError());
    return new Promise<{ result: T; body?: Buffer }>((resolve, reject) => {
      // The header as sent, with the longest id there can be.
      const size = 4 + Buffer.byteLength(JSON.stringify({ id: Number.MAX_SAFE_INTEGER, method, params, body: true })) + (body?.length ?? 0);
      const call: Call = { method, params, ...(body ? { body } : {}), resolve: resolve as Call['resolve'], reject, size };
      if (timeoutMs !== undefined) {
        call.timer = setTimeout(() => {
          if (call.id === undefined) this.unsent.splice(this.unsent.indexOf(call), 1);
          else {
            this.pending.delete(call.id);
            this.abandoned.set(call.id, call.size);
          }
          reject(new BazilError('NOT_FOUND', `peer ${shortKey(this.remoteKey)} at ${this.remoteAddress} did not answer "${method}" within ${timeoutMs} ms; try again later`));
        }, timeoutMs);
      }
      this.unsent.push(call);
      this.sendCalls();
    });
  }

  close(): void {
    this.closeReason ??= 'closed on this side';
    this.socket.destroy();
  }

  /** Sends waiting calls, in order, while the other side's limits leave room for them. */
  private sendCalls(): void {
    while (this.unsent.length > 0 && !this.ended) {
      const outstanding = this.pending.size + this.abandoned.size;
      const next = this.unsent[0]!;
      if (outstanding >= MAX_OUTSTANDING_CALLS) return;
      if (outstanding > 0 && this.outstandingBytes + next.size >= REQUEST_BYTES_IN_FLIGHT) return;
      const call = this.unsent.shift()!;
      const id = this.nextId++;
      try {
        this.send({ id, method: call.method, params: call.params }, call.body);
      } catch (err) {
        clearTimeout(call.timer);
        call.reject(isBazilError(err) ? err : new BazilError('INVALID_ARGUMENT', `the request "${call.method}" cannot be sent: ${(err as Error).message}`));
        continue;
      }
      call.id = id;
      this.pending.set(id, call);
      this.outstandingBytes += call.size;
    }
  }

  /** Reads every whole frame in the queue, unless the peer is at its limits; anything wrong in one drops the connection. */
  private drain(): void {
    while (!this.socket.destroyed) {
      if (this.inFlight >= MAX_OUTSTANDING_CALLS || this.inFlightBytes >= REQUEST_BYTES_IN_FLIGHT) {
        // Over what a well-behaved peer sends: read nothing more until answers go out.
        this.readingPaused = true;
        this.socket.pause();
        this.watchStall(false);
        return;
      }
      let message: Message;
      try {
        const sealed = this.queue.nextRecord(MAX_SEALED, TAG_LENGTH);
        if (sealed === undefined) break;
        message = parseMessage(this.opener.open(sealed));
      } catch (err) {
        this.drop(err instanceof Error ? err.message : String(err));
        return;
      }
      if (message.kind === 'request') {
        this.inFlight += 1;
        this.inFlightBytes += message.size;
        this.waiting.push(message);
        this.startServing();
      } else {
        this.settle(message);
      }
    }
    // A frame begun must go on arriving; an empty queue waits as long as it likes.
    this.watchStall(this.queue.size > 0);
  }

  /** Starts (or restarts, after a byte came) the stall timer, or stops it. */
  private watchStall(on: boolean): void {
    if (!on) {
      clearTimeout(this.stallTimer);
      this.stallTimer = undefined;
    } else if (this.stallTimer) {
      this.stallTimer.refresh();
    } else {
      this.stallTimer = setTimeout(() => this.drop(`it sent part of a frame, then nothing for ${this.stallTimeoutMs / 1000} s`), this.stallTimeoutMs);
      this.stallTimer.unref();
    }
  }

  /** Starts waiting requests while few run and the socket takes our answers. */
  private startServing(): void {
    while (this.waiting.length > 0 && this.serving < MAX_SERVING && !this.socket.destroyed) {
      if (this.socket.writableLength >= WRITE_HIGH_WATER) {
        if (!this.awaitingDrain) {
          this.awaitingDrain = true;
          this.socket.once('drain', () => {
            this.awaitingDrain = false;
            this.startServing();
          });
        }
        return;
      }
      const req = this.waiting.shift()!;
      this.serving += 1;
      void this.serve(req).finally(() => {
        this.serving -= 1;
        this.inFlight -= 1;
        this.inFlightBytes -= req.size;
        this.startServing();
        if (this.readingPaused && !this.socket.destroyed) {
          this.readingPaused = false;
          this.socket.resume();
          this.drain();
        }
      });
    }
  }

  private drop(reason: string): void {
    if (this.socket.destroyed) return;
    this.log(`dropped the connection with peer ${this.remoteKey.toString('hex')} at ${this.remoteAddress}: ${reason}`);
    this.closeReason ??= reason;
    this.socket.destroy();
  }

  private async serve(req: Request): Promise<void> {
    let header: Record<string, unknown>;
    let body: Buffer | undefined;
    try {
      if (!this.handle) throw new BazilError('INVALID_ARGUMENT', `this side of the connection answers no requests (asked for "${req.method}")`);
      const out = await this.handle({ peer: this.remoteKey, binding: this.binding, method: req.method, params: req.params, ...(req.body ? { body: req.body } : {}) });
      header = { id: req.id, result: out.result ?? null }; // undefined would vanish from the JSON
      body = out.body;
    } catch (err) {
      header = { id: req.id, error: this.errorForPeer(err, req.method) };
    }
    if (this.ended || this.socket.destroyed) return;
    try {
      this.send(header, body);
    } catch (err) {
      // The answer could not be encoded or is over the frame limit: say so instead.
      const why = new BazilError('INTERNAL', `the answer to "${req.method}" could not be sent: ${err instanceof Error ? err.message : String(err)}`);
      this.send({ id: req.id, error: this.errorForPeer(why, req.method) });
    }
  }

  /** What the other side is told: a BazilError as it is; anything else only as INTERNAL, the details stay in our log. */
  private errorForPeer(err: unknown, method: string): WireError {
    if (isBazilError(err) && err.code !== 'INTERNAL') return { code: err.code, message: err.message };
    this.log(
      `internal error answering "${method}" for peer ${this.remoteKey.toString('hex')}: ${err instanceof Error ? (process.env.BAZIL_DEBUG ? err.stack : err.message) : String(err)}`,
    );
    if (isBazilError(err)) return { code: err.code, message: err.message };
    return { code: 'INTERNAL', message: `the peer hit an internal error answering "${method}"; its server log has the details` };
  }

  private settle(res: Extract<Message, { kind: 'response' }>): void {
    const call = this.pending.get(res.id);
    if (call) {
      this.pending.delete(res.id);
      this.outstandingBytes -= call.size;
      clearTimeout(call.timer);
      if (res.error) call.reject(res.error);
      else call.resolve(res.body ? { result: res.result, body: res.body } : { result: res.result });
    } else {
      const size = this.abandoned.get(res.id);
      if (size === undefined) return; // an answer to nothing we asked
      this.abandoned.delete(res.id);
      this.outstandingBytes -= size;
    }
    this.sendCalls();
  }

  /** Seals and writes one message; throws (writing nothing) when it cannot be encoded or is too large. */
  private send(header: Record<string, unknown>, body?: Buffer): void {
    const json = Buffer.from(JSON.stringify(body ? { ...header, body: true } : header));
    const parts = body ? [lengthPrefix(json.length), json, body] : [lengthPrefix(json.length), json];
    const sealed = this.sealer.seal(parts);
    // Written at once, in sealing order: the nonce counters on both sides must agree.
    this.socket.cork();
    for (const b of sealed) this.socket.write(b);
    this.socket.uncork();
  }

  private onClose(): void {
    this.ended = true;
    this.watchStall(false);
    const err = this.closedError();
    for (const call of [...this.pending.values(), ...this.unsent]) {
      clearTimeout(call.timer);
      call.reject(err);
    }
    this.pending.clear();
    this.unsent.length = 0;
    this.waiting.length = 0;
  }

  private closedError(): BazilError {
    const reason = this.closeReason ? ` (${this.closeReason})` : '';
    return new BazilError(
      'NOT_FOUND',
      `connection to peer ${shortKey(this.remoteKey)} at ${this.remoteAddress} closed${reason}; try again once the peer is reachable`,
    );
  }
}

/** Parses a frame's plaintext; throws with the reason when it is not a well-formed message. */
function parseMessage(plain: Buffer): Message {
  if (plain.length < 4) throw new Error(`a message of ${plain.length} bytes is too short to hold its header length`);
  const headerLength = plain.readUInt32BE(0);
  if (headerLength > plain.length - 4) throw new Error(`a message header claims ${headerLength} bytes but the frame holds ${plain.length - 4}`);
  let header: unknown;
  try {
    header = JSON.parse(plain.toString('utf8', 4, 4 + headerLength));
  } catch {
    throw new Error('a message header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error('a message header is not a JSON object');
  const h = header as Record<string, unknown>;
  const { id } = h;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw new Error('a message header has no valid "id"');
  const rest = plain.subarray(4 + headerLength);
  if (h.body !== undefined && h.body !== true) throw new Error('a message header has a "body" that is not true');
  if (h.body !== true && rest.length > 0) throw new Error('a message has bytes after its header but no "body":true');
  const body = h.body === true ? { body: rest } : {};

  if ('method' in h) {
    if (typeof h.method !== 'string') throw new Error('a request has a "method" that is not a string');
    const { params } = h;
    if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
      throw new Error('a request has "params" that are not a JSON object');
    }
    return { kind: 'request', id, method: h.method, params: (params ?? {}) as Record<string, unknown>, ...body, size: plain.length };
  }
  if ('error' in h) {
    const e = h.error;
    if (typeof e !== 'object' || e === null || typeof (e as WireError).code !== 'string' || typeof (e as WireError).message !== 'string') {
      throw new Error('an error response has no "code" and "message"');
    }
    return { kind: 'response', id, result: undefined, error: errorFromWire(e), ...body };
  }
  if ('result' in h) return { kind: 'response', id, result: h.result, ...body };
  throw new Error('a message header is neither a request ("method") nor a response ("result" or "error")');
}

function connected(socket: Socket, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function addressOf(socket: Socket): string | undefined {
  const { remoteAddress: host, remotePort: port } = socket;
  return host === undefined || port === undefined ? undefined : formatAddr(host, port);
}
