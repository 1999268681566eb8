/**
 * Peers as sources of content: a volume's missing objects are fetched from
 * the stores of the peers it names (`volume storage add`), and an object a
 * peer asks us for and we lack is asked of ours in turn (a chain a -> b -> c).
 */
import { peerStore } from '../cache/where.js';
import type { Db } from '../db/open.js';
import { BazilError } from '../errors.js';
import { shortKey } from '../peer/handshake.js';
import type { PeerNetwork } from '../peer/network.js';
import { peerCall } from '../peer/protocol.js';
import type { ObjectSource } from '../store/content.js';
import { storeSource, type RemoteStore } from '../store/remote.js';
import { markSeen, openStore, storeLabel, volumeStores, type SftpOpener, type StoreRow } from '../store/stores.js';

/** A store's last-seen time is written at most this often. */
const SEEN_EVERY_MS = 60_000;

/**
 * A volume's remote stores (dir:, sftp://) as sources. Each store is opened
 * once (an SFTP connection is kept) and opened anew when it moved (`bazil
 * store locate`); a store that answers is noted as seen.
 */
export class StoreSources {
  private readonly open = new Map<string, { location: string; store: RemoteStore; seen: number }>();

  constructor(
    private readonly db: Db,
    private readonly sftp: SftpOpener,
  ) {}

  /** The store, opened (or reopened at its current location). */
  store(row: StoreRow): RemoteStore {
    const known = this.open.get(row.name);
    if (known && known.location === row.location) return known.store;
    void known?.store.close().catch(() => {});
    const store = openStore(row, this.sftp);
    this.open.set(row.name, { location: row.location, store, seen: 0 });
    return store;
  }

  sources(volumeRowId: number): ObjectSource[] {
    return volumeStores(this.db, volumeRowId).map((row) => {
      const source = storeSource(this.store(row), storeLabel(row));
      return {
        ...source,
        get: async (id) => {
          const got = await source.get(id);
          this.seen(row.name);
          return got;
        },
      };
    });
  }

  /** The store answered: noted (at most once a minute). */
  seen(name: string): void {
    const open = this.open.get(name);
    const now = Date.now();
    if (!open || now - open.seen < SEEN_EVERY_MS) return;
    open.seen = now;
    markSeen(this.db, name, now);
  }

  async close(): Promise<void> {
    const stores = [...this.open.values()];
    this.open.clear();
    await Promise.allSettled(stores.map((s) => s.store.close()));
  }
}

/** The peers' stores as the content store's sources; forward: whether they may ask their own peers in turn. */
export function peerSources(keys: Buffer[], network: () => PeerNetwork, forward = true): ObjectSource[] {
  return keys.map((key) => ({
    name: `peer ${shortKey(key)}`,
    store: peerStore(key),
    get: async (id) => {
      const conn = await network().connection(key);
      const { result, body } = await peerCall(conn, 'object.get', { id: Buffer.from(id).toString('hex'), forward });
      if (!body) throw new BazilError('CORRUPT', `peer ${shortKey(key)} answered object.get without the object`);
      return { bytes: body, kept: (result as { kept?: unknown } | null)?.kept === true };
    },
  }));
}

/** The object from the first source that has it. */
export async function fetchFromAny(sources: ObjectSource[], id: Buffer): Promise<Buffer> {
  for (const source of sources) {
    try {
      return (await source.get(id)).bytes;
    } catch {
      // the next one may have it
    }
  }
  throw new BazilError('NOT_FOUND', `object ${id.toString('hex')} is not here, nor on this server's peers`);
}
