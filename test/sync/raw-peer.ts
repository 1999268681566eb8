/**
 * A peer played by the test process over raw TCP: a real handshake with a
 * fresh identity the server knows, then frames written by hand, so a test can
 * do what a well-behaved bazil never does (stop reading, stall mid-frame,
 * flood requests).
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { DataDir } from '../../src/engine/datadir.js';
import { lengthPrefix } from '../../src/engine/peer/frames.js';
import { clientHandshake, type Session } from '../../src/engine/peer/handshake.js';
import { identityFromSeed, type Identity } from '../../src/engine/peer/identity.js';
import type { Host } from './hosts.js';

export interface RawPeer {
  socket: Socket;
  session: Session;
  /** Seals and writes a request; returns its id. */
  request(method: string, params?: Record<string, unknown>): number;
}

/** A new identity, added on host as a peer that may read its store. */
export async function knownIdentity(host: Host): Promise<Identity> {
  const id = identityFromSeed(randomBytes(32));
  const hex = id.publicKey.toString('hex');
  await host.ok(`bazil peer add ${hex} && bazil peer storage allow ${hex} local`);
  return id;
}

/**
 * A raw socket to 127.0.0.1:port, from the loopback address `from` (the server
 * limits each source address); errors (a reset from the server) are ignored:
 * what matters is that it closes.
 */
export async function rawSocket(port: number, from = '127.0.0.1'): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress: from });
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

/** A finished handshake as identity; the socket is left paused (nothing read) unless the caller reads it. */
export async function rawPeer(port: number, identity: Identity, serverKey: string, from?: string): Promise<RawPeer> {
  const socket = await rawSocket(port, from);
  const session = await clientHandshake(socket, { identity, expectKey: Buffer.from(serverKey, 'hex'), where: `127.0.0.1:${port}`, timeoutMs: 5000 });
  let nextId = 1;
  return {
    socket,
    session,
    request(method, params = {}) {
      const id = nextId++;
      const header = Buffer.from(JSON.stringify({ id, method, params }));
      for (const b of session.sealer.seal([lengthPrefix(header.length), header])) socket.write(b);
      return id;
    },
  };
}

/**
 * Puts n random objects of size bytes straight into a data dir's store (its
 * server must not be running): their ids in hex, for object.get, and the
 * SHA-256 of each, to check what comes back.
 */
export async function storeObjects(dataDir: string, n: number, size: number): Promise<{ id: string; sha256: string }[]> {
  const dir = DataDir.open(dataDir, { write: true });
  try {
    const ids: { id: string; sha256: string }[] = [];
    for (let i = 0; i < n; i++) {
      const id = randomBytes(32);
      const bytes = randomBytes(size);
      await dir.objects().put(id, async () => [bytes]);
      ids.push({ id: id.toString('hex'), sha256: createHash('sha256').update(bytes).digest('hex') });
    }
    await dir.objects().flush();
    return ids;
  } finally {
    dir.close();
  }
}

/** Resolves once the socket has closed. */
export function closed(socket: Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
