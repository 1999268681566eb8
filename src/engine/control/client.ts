/**
 * The client end of the control socket: what the CLI and the TUI use to talk
 * to the server of a data dir. Calls are typed by api.ts.
 */
import { createConnection, type Socket } from 'node:net';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { BazilError, isErrno } from '../errors.js';
import type { SequencedEvent } from '../events.js';
import type { ControlApi, MethodName, Params, Result, Subscription } from './api.js';
import { readLines } from './lines.js';
import { controlSocketPath, errorFromWire, MAX_LINE, socketPathFits, type RequestId } from './protocol.js';

interface Pending {
  resolve(result: unknown): void;
  reject(err: BazilError): void;
}

/** Where a subscribed connection's events go; `end` once, when the stream stops (dropped, or the server went away). */
export interface EventHandler {
  event(e: SequencedEvent): void;
  end(err: BazilError): void;
}

export class ControlClient implements ControlApi {
  private nextId = 1;
  private readonly pending = new Map<RequestId, Pending>();
  private closedBecause?: BazilError;
  private events?: EventHandler;

  constructor(private readonly socket: Socket) {
    socket.on('error', () => {}); // reported through 'close', to every pending call
    socket.on('close', () => this.fail(new BazilError('INTERNAL', 'the bazil server closed the connection; see its log, and check it runs with `bazil server ping`')));
    readLines(
      socket,
      (line) => this.receive(line),
      () => this.fail(new BazilError('INTERNAL', `the bazil server sent a reply longer than ${MAX_LINE} bytes`)),
    );
  }

  /** Calls a method of the server; rejects with the server's error, as a BazilError. */
  call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
    if (this.closedBecause) return Promise.reject(this.closedBecause);
    const id = this.nextId++;
    return new Promise<Result<M>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject });
      this.socket.write(JSON.stringify({ id, method, params }) + '\n');
    });
  }

  /**
   * Subscribes this connection to the server's events: handler.event gets the
   * kept ones after `since`, then each new one, in order. A connection has one
   * subscription.
   */
  subscribe(params: Params<'events.subscribe'>, handler: EventHandler): Promise<Subscription> {
    if (this.events) return Promise.reject(new BazilError('INVALID_ARGUMENT', 'this connection is subscribed already'));
    this.events = handler;
    return this.call('events.subscribe', params);
  }

  close(): void {
    this.closedBecause ??= new BazilError('INTERNAL', 'this control connection was closed');
    this.socket.end();
  }

  private receive(line: string): void {
    let message: { id?: unknown; result?: unknown; error?: unknown; event?: unknown; dropped?: unknown };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      this.fail(new BazilError('INTERNAL', 'the bazil server sent a reply that is not JSON; is it the same version as this bazil?'));
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    if ('event' in message) return this.events?.event(message.event as SequencedEvent);
    if ('dropped' in message) return this.fail(errorFromWire(message.dropped));
    const call = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
    if (!call) return;
    this.pending.delete(message.id as number);
    if ('error' in message) call.reject(errorFromWire(message.error));
    else call.resolve(message.result);
  }

  private fail(err: BazilError): void {
    this.closedBecause ??= err;
    for (const call of this.pending.values()) call.reject(err);
    this.pending.clear();
    const events = this.events;
    this.events = undefined;
    events?.end(this.closedBecause);
    this.socket.destroy();
  }
}

/**
 * Connects to the server of a data dir. Resolves undefined when no server is
 * running: no socket, or a socket file left by a server that was killed (the
 * connection is refused). No server can run on a data dir whose socket path
 * is too long: it refuses to start.
 */
export async function connectControl(dataDir: string): Promise<ControlClient | undefined> {
  const path = controlSocketPath(resolve(dataDir));
  if (!socketPathFits(path)) return undefined;
  const socket = createConnection(path);
  try {
    await once(socket, 'connect');
  } catch (err) {
    socket.destroy();
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ECONNREFUSED') || isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  }
  return new ControlClient(socket);
}
