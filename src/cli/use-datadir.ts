/**
 * How a command reaches a data dir: through the data dir's server, over the
 * control socket, or, when none runs, through the same control API called in
 * process on the data dir opened here. Which one is decided here, not in each
 * command.
 */
import { resolve } from 'node:path';
import { DataDir, dataDirExists, missingDataDir } from '../engine/datadir.js';
import type { ControlApi, ServerInfo } from '../engine/control/api.js';
import { connectControl, type ControlClient } from '../engine/control/client.js';
import { LocalControl } from '../engine/control/local.js';
import { BazilError, isBazilError } from '../engine/errors.js';
import { offlineMethods } from '../server/methods.js';

/**
 * Runs fn with the data dir open, closing it after. `write` takes the data dir's
 * lock for the duration, so another writer is refused rather than interleaved.
 */
export async function withDataDir<T>(path: string, write: boolean, fn: (dir: DataDir) => Promise<T> | T): Promise<T> {
  let dir: DataDir;
  try {
    dir = DataDir.open(path, { write });
  } catch (err) {
    throw isBazilError(err, 'LOCKED') ? await lockedByServer(path, err) : err;
  }
  try {
    return await fn(dir);
  } finally {
    dir.close();
  }
}

/** The lock error, reworded when the holder is this data dir's server. */
async function lockedByServer(path: string, err: BazilError): Promise<BazilError> {
  const info = await serverInfo(path).catch(() => undefined);
  if (!info) return err;
  return new BazilError(
    'LOCKED',
    `a bazil server (pid ${info.pid}) is running on data dir ${info.dataDir}, and this command only works without it; stop it with \`bazil server stop\`, then try again`,
  );
}

/** The running server's pid and address, or undefined when none runs. */
export async function serverInfo(path: string): Promise<ServerInfo | undefined> {
  const client = await connectControl(path);
  return client && talk(client, (server) => server.call('ping', {}));
}

/** Runs fn with a connected client, closing the connection after. */
async function talk<T>(client: ControlClient, fn: (server: ControlClient) => Promise<T>): Promise<T> {
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

export function noServer(path: string): BazilError {
  path = resolve(path);
  if (!dataDirExists(path)) return missingDataDir(path);
  return new BazilError('NOT_FOUND', `no bazil server is running for data dir ${path}; start one with \`bazil server start\``);
}

/** Runs fn against the data dir's server; NOT_FOUND, saying how to start one, when none runs. */
export async function withServer<T>(path: string, fn: (server: ControlClient) => Promise<T>): Promise<T> {
  const client = await connectControl(path);
  if (!client) throw noServer(path);
  return talk(client, fn);
}

/**
 * Runs fn with the control API: the server's when one runs (it holds the data
 * dir's lock, so it must do the writing), else the same methods in process on
 * the data dir, opened for writing when `write`. A method that needs the
 * server says how to start one.
 */
export async function withControl<T>(path: string, write: boolean, fn: (api: ControlApi) => Promise<T>): Promise<T> {
  const client = await connectControl(path);
  if (client) return talk(client, fn);
  return withDataDir(path, write, (dir) => fn(new LocalControl(offlineMethods(dir, () => noServer(path)), () => noServer(path))));
}
