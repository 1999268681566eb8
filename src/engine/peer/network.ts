/**
 * The server's connections to its peers: accepted ones (a peer dialed us) and
 * dialed ones, at most one kept per peer and reused. Either kind carries
 * requests both ways, so a peer that knows our location but not the other
 * way round can still be told of changes and be pulled from.
 *
 * It owns every peer socket the server has, from the moment it is accepted or
 * dialed, so closeAll() ends them all, proven or not: nothing a peer does (or
 * fails to do) can hold the server's shutdown.
 *
 * It tells of peers as events: peer.connected and peer.disconnected for each
 * proven connection kept, peer.refused for a connection turned away (too
 * many from an address or a peer, or a key that is not a known peer).
 */
import type { Socket } from 'node:net';
import type { Db } from '../db/open.js';
import { BazilError } from '../errors.js';
import type { EventLog } from '../events.js';
import { acceptPeer, dialPeer, type PeerConnection, type PeerHandler } from './connection.js';
import { shortKey } from './handshake.js';
import type { Identity } from './identity.js';
import { isPeer, peerLocation } from './peers.js';
import { AddressLogLimiter, HandshakeAdmission } from './admission.js';

/**
 * Connections one peer key may hold at once. One is the rule (each side reuses
 * it); two when both dialed at the same moment; a little more while an old one
 * is closing. Each may hold a partial frame and answers in flight, so this
 * bounds what one peer can make the server buffer.
 */
export const MAX_CONNECTIONS_PER_PEER = 4;

export class PeerNetwork {
  /** The connection reused for calls to each peer (hex key). */
  private readonly conns = new Map<string, PeerConnection>();
  /** Every live connection of each peer (hex key). */
  private readonly byPeer = new Map<string, Set<PeerConnection>>();
  private readonly dialing = new Map<string, Promise<PeerConnection>>();
  /** Accepted sockets until they close, handshaking or not. */
  private readonly sockets = new Set<Socket>();
  private readonly stopDials = new AbortController();
  private readonly admission = new HandshakeAdmission();
  private readonly anonLog: AddressLogLimiter;
  private closing = false;

  constructor(
    private readonly db: Db,
    private readonly identity: Identity,
    private readonly handle: PeerHandler,
    private readonly events: EventLog,
    private readonly log: (line: string) => void,
  ) {
    this.anonLog = new AddressLogLimiter(log);
  }

  /** A socket our listener accepted. */
  accept(socket: Socket): void {
    if (this.closing) return void socket.destroy();
    const address = socket.remoteAddress ?? 'an unknown address';
    if (!this.admission.admit(address)) {
      this.events.emit({ type: 'peer.refused', address, what: 'connect: too many connections from there' });
      this.anonLog.line(address, `refused a peer connection from ${address}: too many connections from there; it may try again in a few seconds`);
      return void socket.destroy();
    }
    this.sockets.add(socket);
    let handshaking = true;
    const handshakeOver = (): void => {
      if (handshaking) this.admission.done(address);
      handshaking = false;
    };
    socket.once('close', () => {
      handshakeOver();
      this.sockets.delete(socket);
    });
    acceptPeer(socket, {
      identity: this.identity,
      isKnown: (key) => {
        const known = isPeer(this.db, key);
        if (!known) this.events.emit({ type: 'peer.refused', peer: key.toString('hex'), address, what: 'connect: not a known peer' });
        return known;
      },
      handle: this.handle,
      log: this.log,
      logUnauthenticated: (line) => this.anonLog.line(address, line),
      onConnection: (conn) => {
        handshakeOver();
        this.adopt(conn);
      },
    });
  }

  /** Keeps a proven connection, unless the peer already holds as many as it may. */
  private adopt(conn: PeerConnection): boolean {
    const hex = conn.remoteKey.toString('hex');
    const all = this.byPeer.get(hex) ?? new Set<PeerConnection>();
    if (this.closing || all.size >= MAX_CONNECTIONS_PER_PEER) {
      if (!this.closing) {
        this.events.emit({ type: 'peer.refused', peer: hex, address: conn.remoteAddress, what: 'connect: too many connections from this peer' });
        this.log(`closed a new connection from peer ${hex} at ${conn.remoteAddress}: it already has ${all.size} open, the most one peer may have`);
      }
      conn.close();
      return false;
    }
    all.add(conn);
    this.byPeer.set(hex, all);
    this.conns.set(hex, conn);
    this.events.emit({ type: 'peer.connected', peer: hex, address: conn.remoteAddress });
    void conn.closed.then(() => {
      this.events.emit({ type: 'peer.disconnected', peer: hex });
      all.delete(conn);
      if (all.size === 0 && this.byPeer.get(hex) === all) this.byPeer.delete(hex);
      if (this.conns.get(hex) !== conn) return;
      // Another live connection of the same peer, if any, takes its place.
      const next = all.values().next();
      if (next.done) this.conns.delete(hex);
      else this.conns.set(hex, next.value);
    });
    return true;
  }

  /** A live connection to the peer, if there is one. */
  connected(key: Buffer): PeerConnection | undefined {
    return this.conns.get(key.toString('hex'));
  }

  /** A connection to the peer: the live one, else a new one to its location. */
  async connection(key: Buffer): Promise<PeerConnection> {
    if (this.closing) throw stopping();
    const hex = key.toString('hex');
    const live = this.conns.get(hex);
    if (live) return live;
    let dialing = this.dialing.get(hex);
    if (!dialing) {
      dialing = this.dial(key).finally(() => this.dialing.delete(hex));
      this.dialing.set(hex, dialing);
    }
    return dialing;
  }

  /** Closes every open connection of the peer (e.g. once it is removed); new ones are its handshake's business. */
  disconnect(key: Buffer): number {
    const all = [...(this.byPeer.get(key.toString('hex')) ?? [])];
    for (const c of all) c.close();
    return all.length;
  }

  private async dial(key: Buffer): Promise<PeerConnection> {
    if (!isPeer(this.db, key)) throw new BazilError('NOT_FOUND', `${shortKey(key)} is not a known peer; add it with \`bazil peer add ${key.toString('hex')}\``);
    const at = peerLocation(this.db, key);
    if (!at) {
      throw new BazilError('NOT_FOUND', `no location known for peer ${shortKey(key)}; set it with \`bazil peer location set ${key.toString('hex')} HOST:PORT\``);
    }
    const conn = await dialPeer({
      host: at.host,
      port: at.port,
      identity: this.identity,
      expectKey: key,
      handle: this.handle,
      log: this.log,
      signal: this.stopDials.signal,
    });
    if (!this.adopt(conn)) throw this.closing ? stopping() : new BazilError('NOT_FOUND', `peer ${shortKey(key)} has too many connections open; try again`);
    return conn;
  }

  /** Ends every peer connection, proven or still in its handshake, and every dial under way; resolves once all are closed. */
  async closeAll(): Promise<void> {
    this.closing = true;
    this.stopDials.abort(new Error('the server is stopping'));
    const conns = [...this.byPeer.values()].flatMap((s) => [...s]);
    for (const c of conns) c.close();
    const sockets = [...this.sockets];
    for (const s of sockets) s.destroy();
    await Promise.all([...conns.map((c) => c.closed), ...sockets.map((s) => (s.closed ? undefined : new Promise((r) => s.once('close', r))))]);
  }
}

function stopping(): BazilError {
  return new BazilError('NOT_FOUND', 'the server is stopping');
}
