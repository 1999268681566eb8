/**
 * The invites a server holds open (`bazil invite`, or the TUI): each waits for
 * its joiner on a TCP port of its own, on the host the peer listener is bound
 * to, for its life. An invite is used once, dies at the first wrong code, and
 * expires. What a stranger on the network can make it do before the code is
 * proven is bounded: a few connections at once, one trying the code at a
 * time, each with a short deadline and small messages (invite-session.ts), and
 * a number of tries per invite.
 *
 * After an invite is used or closed by a wrong code, its port keeps answering
 * until the invite would have expired, with why it is over, so that a joiner
 * who comes late hears it in words rather than a refused connection.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { randomInt } from 'node:crypto';
import type { ControlApi, InviteInfo } from '../engine/control/api.js';
import type { BazilEvent } from '../engine/control/api.js';
import { BazilError } from '../engine/errors.js';
import { formatAddr, parseAddr } from '../engine/peer/listener.js';
import { formatCode, formatLongCode, randomWords } from './invite-code.js';
import { MAX_INVITE_VOLUMES, serveJoiner, type SelfInfo } from './invite-session.js';
import type { Mdns } from './mdns.js';

export const DEFAULT_INVITE_EXPIRY_MS = 10 * 60_000;
export const MIN_INVITE_EXPIRY_MS = 1_000;
export const MAX_INVITE_EXPIRY_MS = 24 * 60 * 60_000;
/** Connections an invite holds at once (one trying the code, the others told it is busy). */
export const MAX_CONNECTIONS_PER_INVITE = 4;
/** Sessions that may start the code exchange on one invite before it closes (each a guess at most). */
export const MAX_TRIES_PER_INVITE = 20;
/** Invites one server holds open at once. */
export const MAX_OPEN_INVITES = 16;

type State = 'open' | 'busy' | 'used' | 'closed';

interface Invite {
  info: InviteInfo;
  words: string[];
  state: State;
  /** Why it is over, for late joiners. */
  over?: BazilError;
  server: Server;
  /** Withdraws its LAN announcement. */
  withdraw?: () => Promise<void>;
  sockets: Set<Socket>;
  tries: number;
  timer: NodeJS.Timeout;
}

export interface InviteHostOptions {
  /** Where this server's peer listener is bound, as printed. */
  peerAddress: string;
  self: () => SelfInfo;
  /** This server's own control API (the introduction goes through it, as `bazil pair`'s does). */
  api: () => ControlApi;
  emit(event: BazilEvent): void;
  log(line: string): void;
  /** The server's mDNS socket, to announce open invites on the LAN for the short code; none with discovery off. */
  mdns?: Mdns;
}

export class InviteHost {
  private readonly invites = new Map<number, Invite>();
  /** Numbers go up from a small random start: an old code's number rarely names a new invite. */
  private nextId = randomInt(1, 90);

  constructor(private readonly opts: InviteHostOptions) {}

  async create(volumes: string[], expiresMs: number): Promise<InviteInfo> {
    if (!Number.isSafeInteger(expiresMs) || expiresMs < MIN_INVITE_EXPIRY_MS || expiresMs > MAX_INVITE_EXPIRY_MS) {
      throw new BazilError('INVALID_ARGUMENT', `an invite expires after 1 s to 24 h, not ${expiresMs} ms; e.g. --expires 10m`);
    }
    if (volumes.length > MAX_INVITE_VOLUMES) throw new BazilError('INVALID_ARGUMENT', `an invite carries at most ${MAX_INVITE_VOLUMES} volumes`);
    if (this.open().length >= MAX_OPEN_INVITES) throw new BazilError('LOCKED', `this server holds ${MAX_OPEN_INVITES} open invites already; cancel some (\`bazil invite --list\` shows them)`);
    const api = this.opts.api();
    for (const volume of volumes) await api.call('pair.volumeSecret', { volume }); // each must exist (NOT_FOUND says so)
    const id = this.takeId();
    const words = randomWords();
    const server = createServer();
    server.maxConnections = MAX_CONNECTIONS_PER_INVITE;
    const { host } = parseAddr(this.opts.peerAddress);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: 0 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.unref();
    const port = (server.address() as AddressInfo).port;
    const addresses = reachableAddresses(host, port);
    const info: InviteInfo = {
      id,
      code: formatCode(id, words),
      longCode: formatLongCode(id, words, addresses),
      onLan: false,
      volumes: [...volumes],
      expiresAt: Date.now() + expiresMs,
    };
    const timer = setTimeout(() => this.expire(id), expiresMs);
    timer.unref();
    const invite: Invite = { info, words, state: 'open', server, sockets: new Set(), tries: 0, timer };
    this.invites.set(id, invite);
    if (this.opts.mdns && !isLoopback(host)) {
      invite.withdraw = this.opts.mdns.announceInvite(id, port);
      info.onLan = true;
    }
    server.on('connection', (socket) => this.accept(invite, socket));
    this.opts.log(`invite ${id} open on port ${port}, until ${new Date(info.expiresAt).toISOString()}${volumes.length ? `, with ${volumes.join(', ')}` : ''}`);
    return info;
  }

  /** The invites still waiting for their joiner. */
  list(): InviteInfo[] {
    return this.open().map((i) => i.info);
  }

  cancel(id: number): void {
    const invite = this.invites.get(id);
    if (!invite || (invite.state !== 'open' && invite.state !== 'busy')) {
      throw new BazilError('NOT_FOUND', `no open invite ${id} here; \`bazil invite --list\` shows the open ones`);
    }
    this.end(invite);
    this.opts.log(`invite ${id} cancelled`);
  }

  /** Closes every invite (the server is stopping). */
  async close(): Promise<void> {
    for (const invite of [...this.invites.values()]) this.end(invite);
  }

  private open(): Invite[] {
    return [...this.invites.values()].filter((i) => i.state === 'open' || i.state === 'busy');
  }

  private takeId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = this.nextId >= 999 ? 1 : this.nextId + 1;
      if (!this.invites.has(id)) return id;
    }
  }

  private accept(invite: Invite, socket: Socket): void {
    socket.on('error', () => {}); // reported by the session
    invite.sockets.add(socket);
    socket.on('close', () => invite.sockets.delete(socket));
    const { id } = invite.info;
    const gate = {
      admit: (): BazilError | undefined => {
        if (invite.over) return invite.over;
        if (invite.state === 'busy') {
          return new BazilError('LOCKED', `another device is joining with invite ${id} right now; an invite is used once: if that was not yours, ask for a new invite`);
        }
        if (++invite.tries > MAX_TRIES_PER_INVITE) {
          this.finish(invite, 'closed', `too many tries (${MAX_TRIES_PER_INVITE}) on invite ${id}`);
          return invite.over;
        }
        invite.state = 'busy';
        return undefined;
      },
      guessed: (right: boolean) => {
        if (right) this.finish(invite, 'used');
        else this.finish(invite, 'closed', `a wrong code was tried on invite ${id} from ${socket.remoteAddress}`);
      },
      abandoned: () => {
        if (invite.state === 'busy') invite.state = 'open';
      },
    };
    serveJoiner(socket, { id, words: invite.words, volumes: invite.info.volumes, gate, api: this.opts.api(), self: this.opts.self() }).then(
      (joined) => {
        if (!joined) return;
        this.opts.log(`invite ${id}: ${joined.name} (${joined.key}) joined`);
        this.opts.emit({ type: 'invite.joined', id, peer: joined.key, name: joined.name, verification: joined.verification });
      },
      (err: unknown) => {
        const why = err instanceof Error ? err.message : String(err);
        // A wrong code is announced by finish(); a failed introduction after the right one, here.
        if (invite.state === 'used') {
          this.opts.log(`invite ${id}: the introduction failed: ${why}`);
          this.opts.emit({ type: 'invite.failed', id, why: `the introduction failed: ${why}` });
        }
      },
    );
  }

  /** The invite is over: used, or closed (by a wrong code or too many tries). Its port answers why until its expiry. */
  private finish(invite: Invite, state: 'used' | 'closed', why?: string): void {
    const { id } = invite.info;
    invite.state = state;
    void invite.withdraw?.(); // no longer for the taking: off the LAN at once
    invite.withdraw = undefined;
    if (state === 'used') {
      invite.over = new BazilError('LOCKED', `invite ${id} was used already (an invite is used once); ask for a new invite`);
      return;
    }
    invite.over = new BazilError(
      'UNAUTHORIZED',
      invite.tries > MAX_TRIES_PER_INVITE
        ? `invite ${id} was closed after too many tries; ask for a new invite`
        : `invite ${id} was closed after a wrong code (one wrong guess closes it); ask for a new invite`,
    );
    this.opts.log(`invite ${id} closed: ${why}`);
    this.opts.emit({ type: 'invite.failed', id, why: why ?? 'closed' });
  }

  private expire(id: number): void {
    const invite = this.invites.get(id);
    if (!invite) return;
    const waiting = invite.state === 'open' || invite.state === 'busy';
    this.end(invite);
    if (waiting) {
      this.opts.log(`invite ${id} expired`);
      this.opts.emit({ type: 'invite.expired', id });
    }
  }

  /** Stops listening and forgets the invite; sessions under way are cut. */
  private end(invite: Invite): void {
    clearTimeout(invite.timer);
    void invite.withdraw?.();
    invite.server.close();
    for (const s of invite.sockets) s.destroy();
    this.invites.delete(invite.info.id);
  }
}

function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.') || host === 'localhost';
}

/**
 * HOST:PORT where a joiner may reach a listener bound to host: that host
 * itself, or for a wildcard, every address of this machine's interfaces
 * (IPv4 first; link-local IPv6 left out, it needs an interface name).
 */
export function reachableAddresses(host: string, port: number): string[] {
  if (host !== '::' && host !== '0.0.0.0') return [formatAddr(host, port)];
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  const usable = all.filter((a) => !a.internal && !(a.family === 'IPv6' && (host === '0.0.0.0' || a.address.toLowerCase().startsWith('fe80'))));
  const ordered = [...usable.filter((a) => a.family === 'IPv4'), ...usable.filter((a) => a.family === 'IPv6')];
  const found = ordered.length ? ordered : all.filter((a) => a.internal && a.family === 'IPv4');
  return found.map((a) => formatAddr(a.address, port));
}
