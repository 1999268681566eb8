/**
 * The server's connections to its peers: accepted ones (a peer dialed us) and
 * dialed ones, at most one kept per peer and reused. Either kind carries
 * requests both ways, so a peer that knows our location but not the other
 * way round can still be told of changes and be pulled from.
 */
import type { Socket } from 'node:net';
import type { Db } from '../engine/db/open.js';
import { BazilError } from '../engine/errors.js';
import { acceptPeer, dialPeer, type PeerConnection, type PeerHandler } from '../engine/peer/connection.js';
import { shortKey } from '../engine/peer/handshake.js';
import type { Identity } from '../engine/peer/identity.js';
import { isPeer, peerLocation } from '../engine/peer/peers.js';

export class PeerNetwork {
  private readonly conns = new Map<string, PeerConnection>();
  private readonly dialing = new Map<string, Promise<PeerConnection>>();
  private closing = false;

  constructor(
    private readonly db: Db,
    private readonly identity: Identity,
    private readonly handle: PeerHandler,
    private readonly log: (line: string) => void,
  ) {}

  /** A socket our listener accepted. */
  accept(socket: Socket): void {
    if (this.closing) return void socket.destroy();
    acceptPeer(socket, {
      identity: this.identity,
      isKnown: (key) => isPeer(this.db, key),
      handle: this.handle,
      log: this.log,
      onConnection: (conn) => this.adopt(conn),
    });
  }

  private adopt(conn: PeerConnection): void {
    const hex = conn.remoteKey.toString('hex');
    this.conns.set(hex, conn);
    void conn.closed.then(() => {
      if (this.conns.get(hex) === conn) this.conns.delete(hex);
    });
  }

  /** A live connection to the peer, if there is one. */
  connected(key: Buffer): PeerConnection | undefined {
    return this.conns.get(key.toString('hex'));
  }

  /** A connection to the peer: the live one, else a new one to its location. */
  async connection(key: Buffer): Promise<PeerConnection> {
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

  private async dial(key: Buffer): Promise<PeerConnection> {
    if (!isPeer(this.db, key)) throw new BazilError('NOT_FOUND', `${shortKey(key)} is not a known peer; add it with \`bazil peer add ${key.toString('hex')}\``);
    const at = peerLocation(this.db, key);
    if (!at) {
      throw new BazilError('NOT_FOUND', `no location known for peer ${shortKey(key)}; set it with \`bazil peer location set ${key.toString('hex')} HOST:PORT\``);
    }
    const conn = await dialPeer({ host: at.host, port: at.port, identity: this.identity, expectKey: key, handle: this.handle, log: this.log });
    if (this.closing) {
      conn.close();
      throw new BazilError('NOT_FOUND', 'the server is stopping');
    }
    this.adopt(conn);
    return conn;
  }

  async closeAll(): Promise<void> {
    this.closing = true;
    const all = [...this.conns.values()];
    for (const c of all) c.close();
    await Promise.all(all.map((c) => c.closed));
  }
}
