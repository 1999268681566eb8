/**
 * The server end of the control socket: listens on DATADIR/control.sock (0600),
 * reads requests line by line and answers each from a table of methods.
 * A bad request gets an error response; it never takes the server down.
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { BazilError, isBazilError } from '../errors.js';
import { readLines } from './lines.js';
import { checkSocketPath, controlSocketPath, errorToWire, MAX_LINE, type Request, type RequestId, type Response } from './protocol.js';

export type Method = (params: Record<string, unknown>) => unknown;

export class ControlServer {
  private readonly connections = new Set<Socket>();
  private accepting = true;

  private constructor(
    readonly path: string,
    private readonly server: Server,
    private readonly methods: ReadonlyMap<string, Method>,
    private readonly log: (line: string) => void,
  ) {
    server.on('connection', (socket) => this.serve(socket));
  }

  /**
   * Listens on the data dir's control socket. The caller must hold the data
   * dir's lock: any socket file already there was left by a server that died,
   * and is removed.
   */
  static async listen(dataDir: string, methods: ReadonlyMap<string, Method>, log: (line: string) => void): Promise<ControlServer> {
    const path = controlSocketPath(dataDir);
    checkSocketPath(path);
    rmSync(path, { force: true });
    const server = createServer();
    const control = new ControlServer(path, server, methods, log);
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
      response = { id, result: (await this.call(toRequest(id, message))) ?? null };
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

  private async call(request: Request): Promise<unknown> {
    if (!this.accepting) throw new BazilError('NOT_FOUND', 'the bazil server is stopping; start it again with `bazil server run &`');
    const method = this.methods.get(request.method);
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
