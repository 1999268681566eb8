/**
 * LAN discovery: the server announces itself over mDNS and keeps a table of
 * the bazil servers heard (`bazil peer nearby`, events peer.nearby).
 *
 * An announcement is only a claim. A device whose fingerprint is a known
 * peer's is dialed at the address it announces, and only a handshake that
 * proves the peer's key there marks it as that peer, and (if the address is
 * new) moves the peer's location there (event peer.location). A device not
 * known is listed and gets nothing: no dial, no row, no grant.
 *
 * What the LAN can make the server do is bounded: the table holds at most
 * MAX_NEARBY devices and forgets those not heard for EXPIRE_MS; proofs are
 * rate-limited per peer (a small burst, then one per PROOF_REFILL_MS), at
 * most MAX_PROOF_ADDRESSES addresses each, MAX_PROVING at once; events
 * about devices not proven are at most MAX_STRANGER_EVENTS_PER_MINUTE.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { NearbyDevice, PeerRef } from '../engine/control/api.js';
import type { DataDir } from '../engine/datadir.js';
import type { EventLog } from '../engine/events.js';
import { dialPeer } from '../engine/peer/connection.js';
import type { Identity } from '../engine/peer/identity.js';
import { parseAddr } from '../engine/peer/listener.js';
import { listPeers, setPeerLocation } from '../engine/peer/peers.js';
import { keyFingerprint, openMdns, type HeardServer, type Mdns } from '../bootstrap/mdns.js';

export const MAX_NEARBY = 128;
/** Servers answer again about every 30 s: one not heard for this long is gone. */
export const EXPIRE_MS = 120_000;
/** A proof at an address holds this long; after it, the device is proven again. */
const PROOF_VALID_MS = 10 * 60_000;
const PROOF_BURST = 3;
const PROOF_REFILL_MS = 20_000;
const MAX_PROOF_ADDRESSES = 2;
const MAX_PROVING = 4;
const PROOF_TIMEOUT_MS = 5_000;
/** The known peers' fingerprints are read again at most this often (a flood of announcements does not query the db for each). */
const KNOWN_CACHE_MS = 2_000;
/** peer.nearby events about devices not proven to be peers, per minute: a flood must not push other events out of the kept ones. */
export const MAX_STRANGER_EVENTS_PER_MINUTE = 60;

interface Entry {
  fingerprint: string;
  hostname: string;
  addresses: string[];
  lastSeen: number;
  /** The peer (hex key) this device proved to be, where and when. */
  proven?: { key: string; address: string; at: number };
}

export interface DiscoveryOptions {
  dataDir: DataDir;
  events: EventLog;
  /** The peer listener's address (HOST:PORT): its port is announced; a loopback-only listener is not announced. */
  peerAddress: string;
  log(line: string): void;
}

export class Discovery {
  private readonly table = new Map<string, Entry>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly proving = new Set<string>();
  private readonly stopProofs = new AbortController();
  /** The one mDNS socket of the server: invites are announced and looked up on it too. */
  readonly mdns: Mdns;
  private readonly ownFingerprint: string;
  private readonly identity: Identity;
  private strangerEvents = { minute: 0, count: 0 };
  private readonly expiry: NodeJS.Timeout;
  private known: { at: number; byFingerprint: Map<string, PeerRef & { location: string | null }> } | undefined;
  private stopped = false;

  constructor(private readonly opts: DiscoveryOptions) {
    const publicKey = opts.dataDir.publicKey();
    this.identity = opts.dataDir.identity();
    this.ownFingerprint = keyFingerprint(publicKey);
    let said = false;
    this.mdns = openMdns((err) => {
      if (!said) opts.log(`LAN discovery (mDNS) does not work here: ${err.message}; \`bazil server run --no-discovery\` turns it off`);
      said = true;
    });
    const { host, port } = parseAddr(opts.peerAddress);
    if (!isLoopback(host)) this.mdns.announceServer({ publicKey, port });
    this.mdns.browseServers(
      (heard) => this.heard(heard),
      (fingerprint) => this.table.delete(fingerprint),
    );
    this.expiry = setInterval(() => this.expire(), EXPIRE_MS / 4);
    this.expiry.unref();
  }

  /** What is seen now, most recently heard first. */
  nearby(): NearbyDevice[] {
    this.expire();
    const known = this.knownPeers();
    return [...this.table.values()]
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .map((e) => ({ fingerprint: e.fingerprint, hostname: e.hostname, addresses: [...e.addresses], peer: this.provenPeer(e, known), lastSeen: e.lastSeen }));
  }

  /** Says goodbye on the LAN (so others drop this server at once), stops browsing and proving. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.expiry);
    this.stopProofs.abort(new Error('the server is stopping'));
    await this.mdns.close();
  }

  private heard(h: HeardServer): void {
    if (this.stopped || h.fingerprint === this.ownFingerprint) return;
    let e = this.table.get(h.fingerprint);
    const isNew = !e;
    if (!e) {
      if (this.table.size >= MAX_NEARBY) this.evictOldest();
      e = { fingerprint: h.fingerprint, hostname: h.hostname, addresses: h.addresses, lastSeen: Date.now() };
      this.table.set(h.fingerprint, e);
    }
    const changed = isNew || e.hostname !== h.hostname || e.addresses.join() !== h.addresses.join();
    e.hostname = h.hostname;
    e.addresses = h.addresses;
    e.lastSeen = Date.now();
    const peer = this.knownPeers().get(h.fingerprint);
    if (changed) this.tell(e);
    if (peer && !this.provenPeer(e, this.knownPeers())) {
      this.prove(e, peer).catch((err) => this.opts.log(`could not check peer ${peer.key.slice(0, 16)} on the LAN: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  private tell(e: Entry): void {
    const peer = this.provenPeer(e, this.knownPeers());
    if (!peer) {
      const minute = Math.floor(Date.now() / 60_000);
      if (this.strangerEvents.minute !== minute) this.strangerEvents = { minute, count: 0 };
      if (++this.strangerEvents.count > MAX_STRANGER_EVENTS_PER_MINUTE) return;
    }
    this.opts.events.emit({
      type: 'peer.nearby',
      fingerprint: e.fingerprint,
      hostname: e.hostname,
      address: e.addresses[0],
      ...(peer ? { peer: peer.key } : {}),
    });
  }

  /** The peer the device proved to be at one of the addresses it announces now, if that proof is recent and the peer still known. */
  private provenPeer(e: Entry, known: Map<string, PeerRef>): PeerRef | null {
    const p = e.proven;
    if (!p || Date.now() - p.at > PROOF_VALID_MS || !e.addresses.includes(p.address)) return null;
    const peer = known.get(e.fingerprint);
    return peer?.key === p.key ? { key: peer.key, name: peer.name } : null;
  }

  /** Dials the device's addresses expecting the peer's key; the first handshake that succeeds proves it there. */
  private async prove(e: Entry, peer: PeerRef & { location: string | null }): Promise<void> {
    if (this.proving.has(peer.key) || this.proving.size >= MAX_PROVING || !this.takeToken(peer.key)) return;
    this.proving.add(peer.key);
    const key = Buffer.from(peer.key, 'hex');
    const label = peer.name ? `${peer.name} (${peer.key.slice(0, 16)})` : peer.key.slice(0, 16);
    try {
      const why: string[] = [];
      for (const address of e.addresses.slice(0, MAX_PROOF_ADDRESSES)) {
        const { host, port } = parseAddr(address);
        try {
          const conn = await dialPeer({ host, port, identity: this.identity, expectKey: key, timeoutMs: PROOF_TIMEOUT_MS, signal: this.stopProofs.signal });
          conn.close();
        } catch (err) {
          why.push(err instanceof Error ? err.message : String(err));
          continue;
        }
        if (this.stopped) return;
        e.proven = { key: peer.key, address, at: Date.now() };
        await this.moveLocation(key, label, peer.location, address);
        this.tell(e);
        return;
      }
      if (!this.stopped) this.opts.log(`peer ${label} was announced on the LAN at ${e.addresses.join(', ')}, but did not prove its key there: ${why.join('; ')}`);
    } finally {
      this.proving.delete(peer.key);
    }
  }

  /** Sets the peer's location to where it proved its key, unless its location already leads there (a name that resolves to it). */
  private async moveLocation(key: Buffer, label: string, was: string | null, address: string): Promise<void> {
    if (was !== null && (await leadsTo(was, address))) return;
    if (this.stopped) return;
    try {
      setPeerLocation(this.opts.dataDir.db, key, address);
    } catch (err) {
      this.opts.log(`could not set the location of peer ${label}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.known = undefined;
    this.opts.log(`peer ${label} is now at ${address} (seen on the LAN${was ? `, was ${was}` : ''}; its key proven there)`);
    this.opts.events.emit({ type: 'peer.location', peer: key.toString('hex'), location: address, was });
  }

  /** A small burst of proofs per peer, then one per PROOF_REFILL_MS. */
  private takeToken(key: string): boolean {
    const now = Date.now();
    const b = this.buckets.get(key) ?? { tokens: PROOF_BURST, at: now };
    b.tokens = Math.min(PROOF_BURST, b.tokens + (now - b.at) / PROOF_REFILL_MS);
    b.at = now;
    this.buckets.set(key, b); // one per known peer: bounded by the peers table
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private knownPeers(): Map<string, PeerRef & { location: string | null }> {
    const now = Date.now();
    if (!this.known || now - this.known.at > KNOWN_CACHE_MS) {
      const byFingerprint = new Map<string, PeerRef & { location: string | null }>();
      for (const p of listPeers(this.opts.dataDir.db)) {
        byFingerprint.set(keyFingerprint(Buffer.from(p.publicKey, 'hex')), { key: p.publicKey, name: p.name, location: p.location });
      }
      this.known = { at: now, byFingerprint };
    }
    return this.known.byFingerprint;
  }

  private expire(): void {
    const old = Date.now() - EXPIRE_MS;
    for (const [fp, e] of this.table) if (e.lastSeen < old) this.table.delete(fp);
  }

  private evictOldest(): void {
    let oldest: Entry | undefined;
    for (const e of this.table.values()) if (!oldest || e.lastSeen < oldest.lastSeen) oldest = e;
    if (oldest) this.table.delete(oldest.fingerprint);
  }
}

/** Whether discovery is on: BAZIL_DISCOVERY=0 (or false, off, no) turns it off. */
export function discoveryFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return !/^(0|false|off|no)$/i.test(env.BAZIL_DISCOVERY ?? '');
}

function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.') || host === 'localhost';
}

/** Whether a stored location (HOST:PORT) already reaches ADDRESS (IPv4:PORT): the same, or a name resolving to it. */
async function leadsTo(location: string, address: string): Promise<boolean> {
  if (location === address) return true;
  let at: { host: string; port: number };
  try {
    at = parseAddr(location);
  } catch {
    return false;
  }
  const target = parseAddr(address);
  if (at.port !== target.port || isIP(at.host)) return false;
  try {
    const found = await lookup(at.host, { all: true, family: 4 });
    return found.some((a) => a.address === target.host);
  } catch {
    return false;
  }
}
