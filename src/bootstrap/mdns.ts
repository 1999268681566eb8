/**
 * The one wrapper over bonjour-service (mDNS / DNS-SD on the LAN).
 *
 * - Servers: `_bazil._tcp`, port = the peer port, TXT `fp` (key fingerprint),
 *   `host` (host name), `v` (protocol version).
 * - Open invites: `_bazil-invite._tcp`, port = where the inviter waits, TXT `id`
 *   (the invite's number, the code's first part) and `v`. Nothing secret.
 *
 * What an announcement says is a claim, never proof: whoever uses an address
 * found here must prove the key over a handshake before trusting it.
 * IPv4 only (multicast on 224.0.0.251).
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Bonjour, type Browser, type Service } from 'bonjour-service';

export const SERVER_TYPE = 'bazil';
export const INVITE_TYPE = 'bazil-invite';
/** The announcement format's version (TXT `v`). */
export const MDNS_VERSION = 1;

/** Browsers start again this often, so that every server on the LAN answers again (a refresh). */
const REFRESH_MS = 30_000;
/** findInvite asks again this often while it waits (a query or its answer may be lost). */
const INVITE_REFRESH_MS = 2_000;
/** A browser whose list of services grows past this starts again (a flood of announcements cannot grow it further). */
const MAX_BROWSER_SERVICES = 512;
const MAX_TXT_TEXT = 255;

/** The fingerprint a server announces: the first 16 bytes of SHA-256 of its public key, hex. */
export function keyFingerprint(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest().subarray(0, 16).toString('hex');
}

/** A bazil server heard on the LAN: what it claims. */
export interface HeardServer {
  fingerprint: string;
  hostname: string;
  /** HOST:PORT candidates, the packet's source address first. */
  addresses: string[];
  version: number;
}

export interface Mdns {
  /** Announces this server (`_bazil._tcp`) until close. */
  announceServer(a: { publicKey: Uint8Array; port: number; hostname?: string }): void;
  /**
   * Calls onHeard for every bazil server heard (again at each refresh, about
   * every 30 s) and onGone when one says goodbye. Its own announcement is
   * heard too. Returns a function that stops browsing.
   */
  browseServers(onHeard: (s: HeardServer) => void, onGone?: (fingerprint: string) => void): () => void;
  /** Announces an open invite by its number; the returned function withdraws it (goodbye packets). */
  announceInvite(id: number, port: number): () => Promise<void>;
  /** The HOST:PORT addresses of a server that announces invite `id`, or [] if none answers within timeoutMs. */
  findInvite(id: number, timeoutMs: number): Promise<string[]>;
  /** Withdraws every announcement (goodbye packets), stops browsing, closes the socket. */
  close(): Promise<void>;
}

/**
 * Opens an mDNS socket (UDP 5353, shared with other responders on the machine).
 * onError hears socket errors (e.g. no permission to bind); mDNS then just does not work.
 */
export function openMdns(onError: (err: Error) => void = () => {}): Mdns {
  const bonjour = new Bonjour({}, (err: Error) => onError(err));
  // multicast-dns emits 'error' when it cannot bind: unheard, that would throw.
  (bonjour as unknown as { server: { mdns: NodeJS.EventEmitter } }).server.mdns.on('error', onError);
  const stops = new Set<() => void>();
  let closed = false;
  const label = safeLabel(hostname());

  function browse(type: string, refreshMs: number, onUp: (s: Service) => void, onDown?: (s: Service) => void): () => void {
    let browser: Browser | undefined;
    const start = () => {
      browser?.stop();
      browser = bonjour.find({ type, protocol: 'tcp' });
      const b = browser;
      b.on('up', (s) => {
        if (b.services.length > MAX_BROWSER_SERVICES) start();
        else onUp(s);
      });
      b.on('txt-update', (s) => onUp(s));
      b.on('srv-update', (s) => onUp(s));
      if (onDown) b.on('down', onDown);
    };
    start();
    const timer = setInterval(start, refreshMs);
    timer.unref();
    const stop = () => {
      clearInterval(timer);
      browser?.stop();
      stops.delete(stop);
    };
    stops.add(stop);
    return stop;
  }

  return {
    announceServer({ publicKey, port, hostname: name = hostname() }) {
      const fp = keyFingerprint(publicKey);
      // Instance and host names carry the fingerprint: two servers on one machine (or in
      // namespaces sharing its host name) never collide, so no probing is needed.
      bonjour.publish({
        name: `bazil-${fp.slice(0, 12)}`,
        host: `${label}-${fp.slice(0, 8)}.local`,
        type: SERVER_TYPE,
        protocol: 'tcp',
        port,
        probe: false,
        disableIPv6: true,
        txt: { fp, host: name.slice(0, 64), v: String(MDNS_VERSION) },
      });
    },

    browseServers(onHeard, onGone) {
      return browse(
        SERVER_TYPE,
        REFRESH_MS,
        (s) => {
          const heard = readServer(s);
          if (heard) onHeard(heard);
        },
        onGone &&
          ((s) => {
            const fp = txtOf(s).fp;
            if (typeof fp === 'string') onGone(fp);
          }),
      );
    },

    announceInvite(id, port) {
      const tag = Math.floor(Math.random() * 0xffffff).toString(16);
      const service = bonjour.publish({
        name: `bazil-invite-${id}-${tag}`,
        host: `${label}-invite-${tag}.local`,
        type: INVITE_TYPE,
        protocol: 'tcp',
        port,
        probe: false,
        disableIPv6: true,
        txt: { id: String(id), v: String(MDNS_VERSION) },
      });
      // Withdrawn after close: the goodbye went with close's.
      return () => (closed ? Promise.resolve() : new Promise<void>((resolve) => service.stop?.(() => resolve())));
    },

    findInvite(id, timeoutMs) {
      return new Promise((resolve) => {
        const done = (found: string[]) => {
          clearTimeout(timer);
          stop();
          resolve(found);
        };
        const stop = browse(INVITE_TYPE, INVITE_REFRESH_MS, (s) => {
          if (txtOf(s).id === String(id)) done(addressesOf(s));
        });
        const timer = setTimeout(() => done([]), timeoutMs);
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const stop of [...stops]) stop();
      // Goodbyes (TTL 0) for every announcement; a socket that never bound answers at once.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        bonjour.unpublishAll(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await new Promise<void>((resolve) => {
        try {
          bonjour.destroy(() => resolve());
        } catch {
          resolve(); // the socket never ran (it could not bind): nothing to close
        }
      });
    },
  };
}

function txtOf(s: Service): Record<string, unknown> {
  const txt: unknown = s.txt;
  return txt && typeof txt === 'object' ? (txt as Record<string, unknown>) : {};
}

/** What a `_bazil._tcp` answer claims, or undefined if it is not well formed. */
function readServer(s: Service): HeardServer | undefined {
  const txt = txtOf(s);
  const fp = txt.fp;
  if (typeof fp !== 'string' || !/^[0-9a-f]{32}$/.test(fp)) return undefined;
  const host = typeof txt.host === 'string' ? txt.host.slice(0, MAX_TXT_TEXT) : '';
  const addresses = addressesOf(s);
  if (addresses.length === 0) return undefined;
  return { fingerprint: fp, hostname: host, addresses, version: Number(txt.v) || 0 };
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** HOST:PORT for the packet's source and each IPv4 address it lists (at most 8, no duplicates). */
function addressesOf(s: Service): string[] {
  if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) return [];
  const hosts = [s.referer?.address, ...(s.addresses ?? [])].filter(
    (a): a is string => typeof a === 'string' && IPV4.test(a) && !a.startsWith('127.'),
  );
  return [...new Set(hosts)].slice(0, 8).map((h) => `${h}:${s.port}`);
}

/** A host name made fit for a DNS label. */
function safeLabel(name: string): string {
  return (name.split('.')[0].replace(/[^A-Za-z0-9-]/g, '-').slice(0, 40) || 'host').toLowerCase();
}
