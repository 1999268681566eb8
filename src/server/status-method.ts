/**
 * The `status` control method: where a data dir stands, in one answer. With a
 * server, also which peers are connected, the last sync from each, and what
 * connected peers grant this side; without one, what the data dir alone says.
 */
import type { MethodTable, PeerGrants, PeerStatus, StatusInfo } from '../engine/control/api.js';
import type { DataDir } from '../engine/datadir.js';
import type { SequencedEvent } from '../engine/events.js';
import type { EventLog } from '../engine/events.js';
import { listPeers } from '../engine/peer/peers.js';
import { listSharingKeys } from '../engine/store/sharing.js';
import { listConflicts } from '../engine/sync/conflicts.js';
import { listVolumes, volumeRowId } from '../engine/tree/volumes.js';
import { askGrants } from '../engine/node/peer-grants.js';
import type { PeerNetwork } from '../engine/peer/network.js';

/** The last sync.finished of each volume from each peer, kept from the server's events. */
export class LastSyncs {
  private readonly last = new Map<string, { volume: string; at: number; error?: string }[]>();

  constructor(events: EventLog) {
    events.subscribe((e) => this.note(e));
  }

  private note({ at, event }: SequencedEvent): void {
    if (event.type !== 'sync.finished') return;
    const list = (this.last.get(event.peer) ?? []).filter((x) => x.volume !== event.volume);
    list.push({ volume: event.volume, at, ...(event.error ? { error: event.error } : {}) });
    this.last.set(event.peer, list);
  }

  of(peer: string): { volume: string; at: number; error?: string }[] {
    return this.last.get(peer) ?? [];
  }
}

export interface StatusContext {
  dataDir: DataDir;
  /** volume.list's answer. */
  volumes(): StatusInfo['volumes'];
  /** The running server's: which peers are connected, and the last syncs. */
  server?: { network: Pick<PeerNetwork, 'connected'>; lastSyncs: LastSyncs };
}

export function statusMethod(ctx: StatusContext): MethodTable<'status'> {
  const { db } = ctx.dataDir;
  return {
    status: async (): Promise<StatusInfo> => {
      const rows = (sql: string) => db.prepare(sql).all() as { name: string; peer: Buffer }[];
      const byPeer = (list: { name: string; peer: Buffer }[], peer: string) => list.filter((r) => r.peer.toString('hex') === peer).map((r) => r.name);
      const syncsFrom = rows('SELECT v.name, c.peer FROM volume_peers c JOIN volumes v ON v.id = c.volume ORDER BY v.name');
      const storageOf = rows('SELECT v.name, s.peer FROM volume_storage s JOIN volumes v ON v.id = s.volume ORDER BY v.name');
      const peers = await Promise.all(
        listPeers(db).map(async (p): Promise<PeerStatus> => {
          const conn = ctx.server?.network.connected(Buffer.from(p.publicKey, 'hex'));
          const syncs = byPeer(syncsFrom, p.publicKey);
          const storageFor = byPeer(storageOf, p.publicKey);
          const missing: string[] = [];
          // This side: a volume synced from the peer that it may not pull back from here (one way).
          for (const v of syncs) if (!p.volumes.includes(v)) missing.push(`one way: it may not sync ${v} from here; for both ways, \`bazil peer volume allow ${p.publicKey} ${v}\``);
          if (p.volumes.length && !p.storage.includes('local')) missing.push(`it may sync ${p.volumes.join(', ')} here but not read this store; \`bazil peer storage allow ${p.publicKey} local\``);
          // Their side, asked only of a peer connected now: a status never waits on a dial.
          if (conn) {
            const asked = await Promise.all((syncs.length ? syncs : [undefined]).map((v) => askGrants(conn, v).catch((): PeerGrants | undefined => undefined)));
            const me = asked.find((g) => g?.asker)?.asker ?? ctx.dataDir.publicKey().toString('hex');
            asked.forEach((g, i) => {
              if (g?.volume === false) missing.push(`it does not let this side sync ${syncs[i]}; on that machine, \`bazil peer volume allow ${me} ${syncs[i]}\``);
            });
            if (storageFor.length && asked[0] && !asked[0].storage.includes('local')) {
              missing.push(`it does not let this side read its store (volumes that read content from it: ${storageFor.join(', ')}); on that machine, \`bazil peer storage allow ${me} local\``);
            }
          }
          return { ...p, connected: ctx.server ? conn !== undefined : null, syncs, storageFor, lastSync: ctx.server?.lastSyncs.of(p.publicKey) ?? [], missing };
        }),
      );
      const names = new Map(listVolumes(db).map((v) => [volumeRowId(db, v.name), v.name]));
      return {
        dataDir: ctx.dataDir.path,
        publicKey: ctx.dataDir.publicKey().toString('hex'),
        sharingKeys: listSharingKeys(db),
        volumes: ctx.volumes(),
        peers,
        conflicts: listConflicts(db).map((c) => ({ volume: names.get(c.volume) ?? '?', path: c.path, peer: c.peer })),
      };
    },
  };
}
