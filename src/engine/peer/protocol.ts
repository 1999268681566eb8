/**
 * The peer protocol: every method one server may call on another, in one
 * typed map. The asking side calls through peerCall() (names and params
 * checked against the map, one timeout per method); the answering side is
 * built by peerHandler() from one function per method of the same map, so a
 * method cannot be added, renamed or reshaped on one side only.
 *
 *   volume.info   {name}                           -> {volumeId, keyCheck}
 *   sync.list     {volume, proof, dir?, after?}    -> WirePage
 *   sync.changed  {volume, proof}                  -> {}   (a hint: pull from me)
 *   object.get    {id, forward?}                   -> {kept} + the object's bytes  (kept: the
 *                                                    sender keeps it, not merely caches it)
 *   object.has    {ids}                            -> {held}: absent, cached or kept for each
 *                                                    (engine/cache/has-wire.ts checks both ways)
 *   sync.snapshots {volume, proof}                 -> the volume's snapshots and snapshot deletions
 *                                                    (engine/sync/snapshots.ts; validate.ts reads it)
 *   object.needed {ids}                            -> {needed}: for each, whether the answerer still
 *                                                    references it (asked before collecting an object
 *                                                    it was told is kept: engine/cache/gc.ts)
 *   grants.mine   {volume?}                        -> what the asker may do here
 *
 * Volumes are named by their id (hex) everywhere but in volume.info, which is
 * how a peer that only knows the name learns the id. `proof` shows that the
 * asker holds the volume's sharing key (volumeProof, bound to the connection).
 * What comes back from a peer is untrusted: the asking side reads results as
 * unknown and checks them (sync/validate.ts); the answering side checks params.
 */
import type { PeerGrants } from '../control/api.js';
import { BazilError, isBazilError } from '../errors.js';
import type { Holding } from '../cache/where.js';
import type { WirePage } from '../sync/wire.js';
import type { WireSnapshots } from '../sync/snapshots.js';
import type { DirHandle } from '../sync/validate.js';
import type { PeerConnection, PeerHandler } from './connection.js';
import { shortKey } from './handshake.js';

type Empty = Record<string, never>;

export interface PeerMethods {
  'volume.info': { params: { name: string }; result: { volumeId: string; keyCheck: string } };
  'sync.list': { params: { volume: string; proof: string; dir?: DirHandle; after?: string }; result: WirePage };
  'sync.changed': { params: { volume: string; proof: string }; result: Empty };
  'sync.snapshots': { params: { volume: string; proof: string }; result: WireSnapshots };
  'object.get': { params: { id: string; forward?: boolean }; result: { kept: boolean } };
  'object.has': { params: { ids: string[] }; result: { held: Holding[] } };
  'object.needed': { params: { ids: string[] }; result: { needed: boolean[] } };
  'grants.mine': { params: { volume?: string }; result: PeerGrants };
}

export type PeerMethod = keyof PeerMethods;

/** How long the asking side waits for each answer. */
export const PEER_TIMEOUTS_MS: Record<PeerMethod, number> = {
  'volume.info': 30_000,
  'sync.list': 60_000,
  'sync.changed': 10_000,
  'sync.snapshots': 60_000,
  'object.get': 60_000,
  'object.has': 60_000,
  // The answerer walks its references first.
  'object.needed': 300_000,
  'grants.mine': 10_000,
};

/** Calls a peer method; the result is the peer's word, to be validated by the caller. */
export function peerCall<M extends PeerMethod>(conn: PeerConnection, method: M, params: PeerMethods[M]['params']): Promise<{ result: unknown; body?: Buffer }> {
  return conn.call(method, params as Record<string, unknown>, undefined, PEER_TIMEOUTS_MS[method]);
}

export type PeerRequest = Parameters<PeerHandler>[0];

/** The answering side: one function per method; params arrive unchecked. */
export type PeerMethodHandlers = {
  [M in PeerMethod]: (req: PeerRequest) => Promise<{ result: PeerMethods[M]['result']; body?: Buffer }>;
};

/** The connection's request handler for these methods; a bad request is one log line naming the peer. */
export function peerHandler(handlers: PeerMethodHandlers, log: (line: string) => void): PeerHandler {
  // A Map: a method name a peer sends is never looked up on an object's prototype.
  const methods = new Map<string, (req: PeerRequest) => Promise<{ result: unknown; body?: Buffer }>>(Object.entries(handlers));
  return async (req) => {
    const fn = methods.get(req.method);
    try {
      if (!fn) throw new BazilError('INVALID_ARGUMENT', `unknown request "${String(req.method).slice(0, 40)}"`);
      if (!req.params || typeof req.params !== 'object' || Array.isArray(req.params)) throw new BazilError('INVALID_ARGUMENT', "the request's params must be an object");
      return await fn(req);
    } catch (err) {
      if (isBazilError(err, 'INVALID_ARGUMENT')) log(`refused a request from peer ${shortKey(req.peer)}: ${err.message}`);
      throw err;
    }
  };
}
