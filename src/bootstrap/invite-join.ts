/**
 * The joiner's side of `bazil join`, run by the joiner's server (so the TUI
 * can join too): reads the code, finds the inviter (the long form's
 * addresses, in order; the short form's by a finder, mDNS on the LAN), and
 * runs the session with the first address that answers.
 */
import { connect, type Socket } from 'node:net';
import type { ControlApi, JoinResult } from '../engine/control/api.js';
import { BazilError } from '../engine/errors.js';
import { parseAddr } from '../engine/peer/listener.js';
import { parseCode } from './invite-code.js';
import { joinInviter, type SelfInfo } from './invite-session.js';

export const CONNECT_TIMEOUT_MS = 5_000;

/** Finds where the inviter of invite `id` waits on the LAN: HOST:PORT list, empty when none is seen. */
export type InviteFinder = (id: number) => Promise<string[]>;

export interface JoinOptions {
  api: ControlApi;
  self: SelfInfo;
  /** For the short form; none: the short form cannot be used here. */
  find?: InviteFinder;
}

export async function joinInvite(text: string, opts: JoinOptions): Promise<JoinResult> {
  const code = parseCode(text);
  let addresses = code.addresses;
  if (addresses.length === 0) {
    if (!opts.find) {
      throw new BazilError(
        'INVALID_ARGUMENT',
        'LAN discovery is off on this server (--no-discovery or BAZIL_DISCOVERY=0), so a short code cannot be looked up: use the long form of the code (the one with @addresses)',
      );
    }
    addresses = await opts.find(code.id);
    if (addresses.length === 0) {
      throw new BazilError(
        'NOT_FOUND',
        `no invite ${code.id} is announced on this network; check the number, that the inviting machine is on the same LAN, or use the long form of the code (with @addresses)`,
      );
    }
  }
  const { socket, host } = await dialFirst(addresses);
  const joined = await joinInviter(socket, { id: code.id, words: code.words, api: opts.api, self: opts.self, host });
  return { peer: { key: joined.key, name: joined.name }, volumes: joined.volumes, verification: joined.verification, did: joined.did };
}

/** The first address that accepts a connection, tried in order. */
async function dialFirst(addresses: string[]): Promise<{ socket: Socket; host: string }> {
  const failures: string[] = [];
  for (const address of addresses) {
    const { host, port } = parseAddr(address);
    try {
      return { socket: await dial(host, port), host };
    } catch (err) {
      failures.push(`${address}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new BazilError(
    'UNAVAILABLE',
    `no inviter answers (${failures.join('; ')}): the invite may have expired or been cancelled, or a firewall is in the way; ask for a new invite`,
  );
}

function dial(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`));
    }, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(err.code === 'ECONNREFUSED' ? 'connection refused' : err.message));
    });
  });
}
