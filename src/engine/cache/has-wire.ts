/**
 * The peer request object.has: which of these objects do you hold? One batch
 * is at most HAS_BATCH ids; each answer is absent, cached (held, but evictable
 * there because another store keeps it) or kept. Both directions are checked
 * here, as everything a peer sends is.
 *
 *   object.has  {ids: hex[]}  ->  {held: ('absent' | 'cached' | 'kept')[]}   needs the storage grant
 *   object.needed {ids: hex[]} -> {needed: boolean[]}   asked by a store this one reads from
 */
import { BazilError } from '../errors.js';
import { HAS_BATCH } from './cache.js';
import type { PeerConnection } from '../peer/connection.js';
import { peerCall } from '../peer/protocol.js';
import type { Holding } from './where.js';

const OBJECT_ID = /^[0-9a-f]{64}$/;
const HOLDINGS = new Set<string>(['absent', 'cached', 'kept']);

/** The ids of an object.has request. */
export function objectIdsParam(params: Record<string, unknown>): Buffer[] {
  const ids = params.ids;
  if (!Array.isArray(ids) || ids.length > HAS_BATCH || !ids.every((id) => typeof id === 'string' && OBJECT_ID.test(id))) {
    throw new BazilError('INVALID_ARGUMENT', `"ids" must be a list of at most ${HAS_BATCH} object ids (64 hex characters each)`);
  }
  return ids.map((id: string) => Buffer.from(id, 'hex'));
}

/** A peer's answer to object.has about `count` ids. */
export function readHoldings(result: unknown, count: number): Holding[] {
  const held = (result as { held?: unknown } | null)?.held;
  if (!Array.isArray(held) || held.length !== count || !held.every((h) => typeof h === 'string' && HOLDINGS.has(h))) {
    throw new BazilError('CORRUPT', `the peer's answer to object.has is not ${count} of absent, cached or kept`);
  }
  return held as Holding[];
}

/** A peer's answer to object.needed about `count` ids. */
export function readNeeded(result: unknown, count: number): boolean[] {
  const needed = (result as { needed?: unknown } | null)?.needed;
  if (!Array.isArray(needed) || needed.length !== count || !needed.every((n) => typeof n === 'boolean')) {
    throw new BazilError('CORRUPT', `the peer's answer to object.needed is not ${count} of true or false`);
  }
  return needed as boolean[];
}

/**
 * Asks each of these peers whether it still needs these objects (object.needed,
 * in batches); undefined when one could not be asked or answered badly.
 */
export async function askPeersNeeded(connect: (key: Buffer) => Promise<PeerConnection>, peers: Buffer[], ids: Buffer[], log: (line: string) => void): Promise<boolean[] | undefined> {
  const needed = ids.map(() => false);
  for (const peer of peers) {
    for (let i = 0; i < ids.length; i += HAS_BATCH) {
      const batch = ids.slice(i, i + HAS_BATCH);
      try {
        const conn = await connect(peer);
        const { result } = await peerCall(conn, 'object.needed', { ids: batch.map((id) => id.toString('hex')) });
        readNeeded(result, batch.length).forEach((n, j) => (needed[i + j] ||= n));
      } catch (err) {
        log(`could not ask peer ${peer.toString('hex').slice(0, 16)} which objects it still needs (${(err as Error).message}): objects it was told are kept here stay`);
        return undefined;
      }
    }
  }
  return needed;
}

/** Asks a peer's store (peer:HEX) about a batch of objects over a connection to it. */
export async function askPeerHas(connect: (key: Buffer) => Promise<PeerConnection>, store: string, ids: Buffer[]): Promise<Holding[]> {
  const m = /^peer:([0-9a-f]{64})$/.exec(store);
  if (!m) throw new BazilError('INVALID_ARGUMENT', `${store} is not a peer's store`);
  const conn = await connect(Buffer.from(m[1], 'hex'));
  const { result } = await peerCall(conn, 'object.has', { ids: ids.map((id) => id.toString('hex')) });
  return readHoldings(result, ids.length);
}
