/**
 * The server end of the control socket: listens on DATADIR/control.sock (0600),
 * reads requests line by line and answers each from a table of methods (typed
 * by api.ts). A bad request gets an error response; it never takes the server
 * down. `events.subscribe` is answered here: the connection then also gets
 * every new event, through a bounded queue (a subscriber that falls behind is
 * told and dropped, so it never slows the server).
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { BazilError, isBazilError } from '../errors.js';
import { readLines } from './lines.js';
import type { EventLog, SequencedEvent } from '../events.js';
import type { MethodName, MethodTable, Subscription } from './api.js';
import { checkSocketPath, controlSocketPath, errorToWire, MAX_LINE, type Request, type RequestId, type Response } from './protocol.js';

/** Every method but events.subscribe, which the control server answers itself. */
export type ServerMethods = MethodTable<Exclude<MethodName, 'events.subscribe'>>;

/** The server's event stream, and which server process numbers it. */
export interface EventSource {
  log: EventLog;
  instance: string;
}

/** Bytes of events a subscriber may leave unread before it is dropped. */
export const SUBSCRIBER_BACKLOG = 4 << 20;

export class ControlServer {
  private readonly connections = new Set<Socket>();
  private readonly subscribed = new WeakSet<Socket>();
  private accepting = true;

  private constructor(
    readonly path: string,
    private readonly server: Server,
    private readonly methods: ServerMethods,
    private readonly log: (line: string) => void,
    private readonly events?: EventSource,
  ) {
    server.on('connection', (socket) => this.serve(socket));
  }

  /**
   * Listens on the data dir's control socket. The caller must hold the data
   * dir's lock: any socket file already there was left by a server that died,
   * and is removed.
   */
  static async listen(dataDir: string, methods: ServerMethods, log: (line: string) => void, events?: EventSource): Promise<ControlServer> {
    const path = controlSocketPath(dataDir);
    checkSocketPath(path);
    rmSync(path, { force: true });
    const server = createServer();
    const control = new ControlServer(path, server, methods, log, events);
    // The socket is created by bind(2), synchronously inside listen(): with this
    // umask it is born 0600, never reachable by another user, not even briefly.
    const umask = process.umask(0o177);
    try {
      server.listen(path);
    } finally {
      process.umask(umask);
    }
    await once(server, 'listening');
    chmodSync(path, 0o600);
    return control;
  }

  /** Refuses new connections and new requests; requests under way still get their answer. */
  stopAccepting(): void {
    if (!this.accepting) return;
    this.accepting = false;
    this.server.close();
  }

  /** Stops accepting, ends every connection once its answers are written, and removes the socket file. */
  async close(): Promise<void> {
    this.stopAccepting();
    const closed = new Promise<void>((resolve) => (this.connections.size === 0 ? resolve() : this.server.once('close', () => resolve())));
    for (const socket of this.connections) socket.end();
    // A client that never reads its answers must not hold the shutdown up.
    const timer = setTimeout(() => this.connections.forEach((s) => s.destroy()), 2000);
    await closed;
    clearTimeout(timer);
    rmSync(this.path, { force: true });
  }

  private serve(socket: Socket): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => {}); // a client that goes away mid-answer is its own business
    readLines(
      socket,
      (line) => void this.answer(socket, line),
      () => {
        const tooLong = new BazilError('INVALID_ARGUMENT', `a control request is at most ${MAX_LINE} bytes; closing the connection`);
        socket.end(JSON.stringify({ id: null, error: errorToWire(tooLong) }) + '\n');
        setTimeout(() => socket.destroy(), 2000).unref(); // the rest is discarded; a client that keeps sending is cut off
      },
    );
  }

  private async answer(socket: Socket, line: string): Promise<void> {
    if (line.trim() === '') return;
    let id: RequestId | null = null;
    let response: Response;
    try {
      const message = parseObject(line);
      id = requestId(message);
      const request = toRequest(id, message);
      response = { id, result: request.method === 'events.subscribe' ? this.subscribe(socket, request.params) : ((await this.call(request)) ?? null) };
    } catch (err) {
      response = { id, error: errorToWire(err) };
      if (!isBazilError(err) || err.code === 'INTERNAL') {
        this.log(`internal error answering a control request: ${err instanceof Error ? (process.env.BAZIL_DEBUG ? err.stack : err.message) : String(err)}`);
      }
    }
    let text: string;
    try {
      text = JSON.stringify(response);
    } catch (err) {
      text = JSON.stringify({ id, error: errorToWire(new BazilError('INTERNAL', `the answer could not be encoded: ${(err as Error).message}`)) });
    }
    if (!socket.destroyed && socket.writable) socket.write(text + '\n');
  }

  /**
   * Answers with the stream's state, then sends this connection the kept
   * events after `since` and every new one. The kept ones are taken and the
   * listener added in one turn, so none is missed or sent twice; both wait for
   * a microtask, which runs after answer() has written the answer.
   */
  private subscribe(socket: Socket, params: Record<string, unknown>): Subscription {
    if (!this.accepting) throw new BazilError('NOT_FOUND', 'the bazil server is stopping');
    if (!this.events) throw new BazilError('INVALID_ARGUMENT', 'this bazil server streams no events');
    if (this.subscribed.has(socket)) throw new BazilError('INVALID_ARGUMENT', 'this connection is subscribed already; open another one to subscribe again');
    const { log, instance } = this.events;
    const since = params.since ?? log.last; // by default, from now on
    if (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0) throw new BazilError('INVALID_ARGUMENT', '"since" must be a sequence number (0 or more)');
    // Numbers from another server process mean nothing here: start from the first event kept.
    const restarted = params.instance !== undefined && params.instance !== instance;
    const kept = log.after(restarted ? 0 : since);
    let pending: SequencedEvent[] | undefined = [...kept.events];
    const send = (e: SequencedEvent) => this.stream(socket, JSON.stringify({ event: e }) + '\n', stop);
    const stop = log.subscribe((e) => (pending ? pending.push(e) : send(e)));
    this.subscribed.add(socket);
    socket.once('close', stop);
    queueMicrotask(() => {
      const first = pending ?? [];
      pending = undefined;
      first.forEach(send);
    });
    return { instance, last: log.last, missed: kept.missed || (restarted && since > 0) };
  }

  /** Writes one event line, or drops a subscriber whose unread events pass the bound. */
  private stream(socket: Socket, line: string, stop: () => void): void {
    if (socket.destroyed || !socket.writable) return stop();
    if (socket.writableLength + line.length <= SUBSCRIBER_BACKLOG) {
      socket.write(line);
      return;
    }
    stop();
    const behind = new BazilError('UNAVAILABLE', 'this subscriber fell behind the event stream and was dropped; subscribe again with since=LAST to resume');
    socket.end(JSON.stringify({ dropped: errorToWire(behind) }) + '\n');
    // Its unread lines stay buffered only so long: a reader that never reads is cut off.
    setTimeout(() => socket.destroy(), 10_000).unref();
  }

  private async call(request: Request): Promise<unknown> {
    if (!this.accepting) throw new BazilError('NOT_FOUND', 'the bazil server is stopping; start it again with `bazil server run &`');
    const name = request.method as keyof ServerMethods;
    const method = Object.hasOwn(this.methods, name) ? (this.methods[name] as (p: Record<string, unknown>) => unknown) : undefined;
    if (!method) {
      throw new BazilError(
        'INVALID_ARGUMENT',
        `the bazil server has no method "${request.method}"; if it is an older bazil, restart it with \`bazil server stop\` and \`bazil server run &\``,
      );
    }
    return await method(request.params);
  }
}

function parseObject(line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new BazilError('INVALID_ARGUMENT', 'a control request must be one line of JSON: {"id":N,"method":"...","params":{...}}');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BazilError('INVALID_ARGUMENT', 'a control request must be a JSON object: {"id":N,"method":"...","params":{...}}');
  }
  return value as Record<string, unknown>;
}

function requestId(message: Record<string, unknown>): RequestId {
  const { id } = message;
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw new BazilError('INVALID_ARGUMENT', 'a control request needs an integer "id"');
  return id;
}

function toRequest(id: RequestId, message: Record<string, unknown>): Request {
  const { method, params } = message;
  if (typeof method !== 'string') throw new BazilError('INVALID_ARGUMENT', 'a control request needs a "method" string');
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    throw new BazilError('INVALID_ARGUMENT', '"params" of a control request must be a JSON object');
  }
  return { id, method, params: (params ?? {}) as Record<string, unknown> };
}
