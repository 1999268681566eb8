/**
 * The peer request object.has: which of these objects do you hold? One batch
 * is at most HAS_BATCH ids; each answer is absent, cached (held, but evictable
 * there because another store keeps it) or kept. Both directions are checked
 * here, as everything a peer sends is.
 *
 *   object.has  {ids: hex[]}  ->  {held: ('absent' | 'cached' | 'kept')[]}   needs the storage grant
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

/** Asks a peer's store (peer:HEX) about a batch of objects over a connection to it. */
export async function askPeerHas(connect: (key: Buffer) => Promise<PeerConnection>, store: string, ids: Buffer[]): Promise<Holding[]> {
  const m = /^peer:([0-9a-f]{64})$/.exec(store);
  if (!m) throw new BazilError('INVALID_ARGUMENT', `${store} is not a peer's store`);
  const conn = await connect(Buffer.from(m[1], 'hex'));
  const { result } = await peerCall(conn, 'object.has', { ids: ids.map((id) => id.toString('hex')) });
  return readHoldings(result, ids.length);
}
