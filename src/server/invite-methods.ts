/**
 * Control methods for invites (the shapes are in engine/control/api.ts; the
 * work in bootstrap/invite-*.ts). The inviting server holds the invite and
 * waits for the joiner on a port of its own, so a client (the CLI, the TUI)
 * creates one and watches it through events; the joining server does the
 * join. Both sides' introductions go through this server's own control API,
 * as `bazil pair` does through the CLI's.
 */
import { hostname } from 'node:os';
import type { ControlApi, MethodTable, ServerInfo } from '../engine/control/api.js';
import type { DataDir } from '../engine/datadir.js';
import type { EventLog } from '../engine/events.js';
import { BazilError } from '../engine/errors.js';
import { DEFAULT_INVITE_EXPIRY_MS, InviteHost } from '../bootstrap/invite-host.js';
import { joinInvite } from '../bootstrap/invite-join.js';
import type { Discovery } from './discovery.js';
import type { SelfInfo } from '../bootstrap/invite-session.js';
import { text } from './params.js';

type InviteMethod = 'invite.create' | 'invite.list' | 'invite.cancel' | 'invite.join';

export interface InviteContext {
  dataDir: Pick<DataDir, 'publicKey'>;
  info: ServerInfo;
  events: EventLog;
  /** LAN discovery, when on: open invites are announced, and short codes looked up, over mDNS. */
  discovery?: Pick<Discovery, 'mdns'>;
  log(line: string): void;
}

/** How long `bazil join` with a short code listens for the invite's announcement. */
export const FIND_INVITE_TIMEOUT_MS = 5_000;

export function inviteMethods(ctx: InviteContext, api: () => ControlApi): MethodTable<InviteMethod> {
  const self = (): SelfInfo => ({ key: ctx.dataDir.publicKey().toString('hex'), hostname: hostname(), peerAddress: ctx.info.peerAddress });
  const mdns = ctx.discovery?.mdns;
  const host = new InviteHost({ peerAddress: ctx.info.peerAddress, self, api, emit: (e) => ctx.events.emit(e), log: ctx.log, mdns });
  ctx.events.subscribe((e) => {
    if (e.event.type === 'server.stopping') void host.close();
  });
  return {
    'invite.create': (p) => {
      const volumes = p.volumes ?? [];
      if (!Array.isArray(volumes) || !volumes.every((v) => typeof v === 'string' && v !== '')) {
        throw new BazilError('INVALID_ARGUMENT', '"volumes" must be a list of volume names');
      }
      const expiresMs = p.expiresMs ?? DEFAULT_INVITE_EXPIRY_MS;
      if (typeof expiresMs !== 'number') throw new BazilError('INVALID_ARGUMENT', '"expiresMs" must be a number of milliseconds');
      return host.create([...new Set(volumes)], expiresMs);
    },
    'invite.list': () => host.list(),
    'invite.cancel': (p) => {
      if (typeof p.id !== 'number') throw new BazilError('INVALID_ARGUMENT', 'the request needs "id", the invite\'s number');
      host.cancel(p.id);
      return {};
    },
    'invite.join': (p) => joinInvite(text(p, 'code'), { api: api(), self: self(), find: mdns ? (id) => mdns.findInvite(id, FIND_INVITE_TIMEOUT_MS) : undefined }),
  };
}
