/**
 * The control API called in process, on a method table built over a data dir
 * the caller opened itself: what the CLI uses when no server runs. It goes
 * through the same methods, params and JSON-shaped results as the socket.
 */
import { BazilError } from '../errors.js';
import type { ControlApi, MethodName, MethodTable, Params, Result } from './api.js';

export class LocalControl implements ControlApi {
  /**
   * methods: the ones that work without a server; needsServer: the error for
   * the others (saying how to start one).
   */
  constructor(
    private readonly methods: Partial<MethodTable>,
    private readonly needsServer: (method: MethodName) => BazilError,
  ) {}

  async call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
    const fn = this.methods[method] as ((p: Params<M>) => Result<M> | Promise<Result<M>>) | undefined;
    if (!fn) throw this.needsServer(method);
    // As over the socket: params and result are what JSON carries.
    const p = JSON.parse(JSON.stringify(params ?? {})) as Params<M>;
    return JSON.parse(JSON.stringify((await fn(p)) ?? null)) as Result<M>;
  }
}
