/**
 * The TCP listener peers connect to. Port 34211 is preferred (the default
 * address is [::]:34211); when it is taken, any free port will do. An address
 * given explicitly with -addr is used as it is, or refused with a clear error.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { BazilError, isErrno } from '../errors.js';

export const PREFERRED_PORT = 34211;
const ANY_V6 = '::';
const ANY_V4 = '0.0.0.0';

export interface PeerListener {
  /** host:port as peers reach it, IPv6 hosts bracketed: [::]:34211. */
  address: string;
  /** Stops accepting connections. */
  close(): Promise<void>;
}

/** Parses HOST:PORT; the host may be a bracketed IPv6 address, or empty for every interface. */
export function parseAddr(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+(?:%[\w.-]+)?)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new BazilError('INVALID_ARGUMENT', `"${text}" is not an address to listen on: write HOST:PORT, e.g. -addr=[::]:${PREFERRED_PORT}, -addr=127.0.0.1:0 (0: any free port)`);
  }
  return { host: m[1] ?? (m[2] || ANY_V6), port };
}

export function formatAddr(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Listens on addr, or on the default: [::]:34211, else any free port (on IPv4 when the host has no IPv6). */
export async function listenPeers(addr: string | undefined, onSocket: (socket: Socket) => void): Promise<PeerListener> {
  const server = createServer((socket) => {
    socket.on('error', () => {}); // a peer that resets is the connection's business, not the server's
    onSocket(socket);
  });
  if (addr !== undefined) {
    const { host, port } = parseAddr(addr);
    await listen(server, host, port, addr);
  } else {
    await listenDefault(server);
  }
  const bound = server.address() as AddressInfo;
  return {
    address: formatAddr(bound.address, bound.port),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function listenDefault(server: Server): Promise<void> {
  for (const host of [ANY_V6, ANY_V4]) {
    try {
      try {
        await tryListen(server, host, PREFERRED_PORT);
      } catch (err) {
        if (!isErrno(err, 'EADDRINUSE') && !isErrno(err, 'EACCES')) throw err;
        await tryListen(server, host, 0);
      }
      return;
    } catch (err) {
      // No IPv6 on this host: fall back to IPv4.
      if (host === ANY_V6 && (isErrno(err, 'EAFNOSUPPORT') || isErrno(err, 'EADDRNOTAVAIL'))) continue;
      throw err;
    }
  }
}

async function listen(server: Server, host: string, port: number, asTyped: string): Promise<void> {
  try {
    await tryListen(server, host, port);
  } catch (err) {
    const why = isErrno(err, 'EADDRINUSE')
      ? 'is already in use (by another bazil server or another program)'
      : isErrno(err, 'EADDRNOTAVAIL')
        ? 'is not an address of this machine'
        : isErrno(err, 'EACCES')
          ? 'needs privileges this process does not have (ports below 1024 do)'
          : isErrno(err, 'ENOTFOUND') || isErrno(err, 'EAI_AGAIN')
            ? 'names a host that could not be found'
            : undefined;
    if (!why) throw err;
    throw new BazilError(
      'INVALID_ARGUMENT',
      `cannot listen for peers on ${asTyped}: it ${why}; pick another with -addr=HOST:PORT, or leave -addr out to use port ${PREFERRED_PORT} or any free one`,
    );
  }
}

function tryListen(server: Server, host: string, port: number): Promise<void> {
  const listening = once(server, 'listening').then(() => undefined);
  server.listen({ host, port, exclusive: true });
  return listening;
}
