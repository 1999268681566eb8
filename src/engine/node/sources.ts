/**
 * Peers as sources of content: a volume's missing objects are fetched from
 * the stores of the peers it names (`volume storage add`), and an object a
 * peer asks us for and we lack is asked of ours in turn (a chain a -> b -> c).
 */
import { peerStore } from '../cache/where.js';
import { BazilError } from '../errors.js';
import { shortKey } from '../peer/handshake.js';
import type { PeerNetwork } from '../peer/network.js';
import { peerCall } from '../peer/protocol.js';
import type { ObjectSource } from '../store/content.js';

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
