/**
 * A remote object store: somewhere outside this machine's data dir that holds
 * a volume's encrypted objects under their keyed ids (an external disk, an
 * SFTP server). It stores opaque bytes: it never sees a key, a name or a
 * plaintext hash, and it does not check what it returns (the content store
 * verifies every object it reads).
 *
 * Every operation ends within the store's timeout: a store that cannot be
 * reached (a disk unplugged, a server down) fails UNAVAILABLE, an object it
 * lacks NOT_FOUND, an object it holds but cannot be read whole CORRUPT.
 */
import { BazilError } from '../errors.js';
import type { ObjectSource } from './content.js';

export interface RemoteStore {
  /** As the cache's where-table names it: dir:ID, sftp://user@host:port/path. */
  readonly name: string;
  /** Stores an object whole or not at all; false when it was there already. */
  put(id: Uint8Array, bytes: Buffer): Promise<boolean>;
  /** The object's bytes; NOT_FOUND when absent. */
  get(id: Uint8Array): Promise<Buffer>;
  has(id: Uint8Array): Promise<boolean>;
  /** Every object's id. */
  list(): Promise<Buffer[]>;
  /** Deletes an object; absent is fine. */
  delete(id: Uint8Array): Promise<void>;
  /** Lets go of connections; the store is not used after. */
  close(): Promise<void>;
}

/**
 * The most a store's get reads: an object is at most a 4 MiB chunk (or
 * manifest node) with its header and tag; a bigger file in a store is not an
 * object this bazil wrote, and reading it whole would let a store (a
 * hostile server, a damaged disk) make the server allocate without bound.
 */
export const MAX_OBJECT_BYTES = 8 << 20;

/** The error for a file in a store too big to be an object. */
export const tooBig = (id: Uint8Array, store: string, size: number): BazilError =>
  new BazilError('CORRUPT', `object ${objectHex(id)} in store ${store} is ${size} bytes, more than any object (${MAX_OBJECT_BYTES}); the store holds something else there`);

/** How long one operation of a store may take before it counts as unavailable. */
export const STORE_TIMEOUT_MS = 15_000;

/** The work, or UNAVAILABLE once `ms` have passed (the work is left to end on its own). */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BazilError('UNAVAILABLE', `${what} did not answer within ${Math.round(ms / 1000)} s; check that it is reachable`)), ms);
  });
  work.catch(() => {}); // a failure after the timeout is nobody's to hear
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** Object ids as file names: lowercase hex, fanned out by the first byte. */
export const objectHex = (id: Uint8Array): string => Buffer.from(id).toString('hex');
export const isObjectHex = (s: string): boolean => /^[0-9a-f]{64}$/.test(s);

/** The store as a source of the content store: what it holds it keeps (it is not a cache). */
export function storeSource(store: RemoteStore, label = store.name): ObjectSource {
  return {
    name: `store ${label}`,
    store: store.name,
    get: async (id) => ({ bytes: await store.get(id), kept: true }),
  };
}
