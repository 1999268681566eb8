/**
 * The client end of the control socket: what the CLI and the TUI use to talk
 * to the server of a data dir.
 */
import { createConnection, type Socket } from 'node:net';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { BazilError, isErrno } from '../errors.js';
import { readLines } from './lines.js';
import { controlSocketPath, errorFromWire, MAX_LINE, socketPathFits, type RequestId } from './protocol.js';

interface Pending {
  method: string;
  resolve(result: unknown): void;
  reject(err: BazilError): void;
}

export class ControlClient {
  private nextId = 1;
  private readonly pending = new Map<RequestId, Pending>();
  private closedBecause?: BazilError;

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
  call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    if (this.closedBecause) return Promise.reject(this.closedBecause);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { method, resolve: resolve as (r: unknown) => void, reject });
      this.socket.write(JSON.stringify({ id, method, params }) + '\n');
    });
  }

  close(): void {
    this.closedBecause ??= new BazilError('INTERNAL', 'this control connection was closed');
    this.socket.end();
  }

  private receive(line: string): void {
    let message: { id?: unknown; result?: unknown; error?: unknown };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      this.fail(new BazilError('INTERNAL', 'the bazil server sent a reply that is not JSON; is it the same version as this bazil?'));
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    // Messages without an id are for later (events): ignored until then.
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
