/**
 * Replica ids: vectors name replicas by small local ids (SELF, 0, is this data
 * dir); on the wire they are public keys. This maps between the two.
 */
import type { Db } from '../db/open.js';
import { SELF, vector, type Vector } from '../clock/vector.js';

/** A vector on the wire: [index into the message's replica list, epoch] pairs. */
export type WireVector = [number, number][];

export class Replicas {
  private readonly ids = new Map<string, number>();
  private readonly keys = new Map<number, string>();

  constructor(
    private readonly db: Db,
    ownKey: Buffer,
  ) {
    this.ids.set(ownKey.toString('hex'), SELF);
    this.keys.set(SELF, ownKey.toString('hex'));
  }

  /** The local id of a replica's key (hex), made on first sight. */
  idOf(hex: string): number {
    let id = this.ids.get(hex);
    if (id === undefined) {
      const key = Buffer.from(hex, 'hex');
      this.db.prepare('INSERT OR IGNORE INTO replicas (public_key) VALUES (?)').run(key);
      id = this.db.prepare('SELECT id FROM replicas WHERE public_key = ?').pluck().get(key) as number;
      this.ids.set(hex, id);
      this.keys.set(id, hex);
    }
    return id;
  }

  keyOf(id: number): string {
    let hex = this.keys.get(id);
    if (hex === undefined) {
      const key = this.db.prepare('SELECT public_key FROM replicas WHERE id = ?').pluck().get(id) as Buffer | undefined;
      if (!key) throw new Error(`replica id ${id} is not in the replicas table`);
      hex = key.toString('hex');
      this.keys.set(id, hex);
      this.ids.set(hex, id);
    }
    return hex;
  }

  /** Builds the replica list of one outgoing message. */
  encoder(): { encode(v: Vector): WireVector; keys: string[] } {
    const keys: string[] = [];
    const index = new Map<number, number>();
    return {
      keys,
      encode: (v) =>
        [...v].map(([id, epoch]) => {
          let i = index.get(id);
          if (i === undefined) {
            i = keys.push(this.keyOf(id)) - 1;
            index.set(id, i);
          }
          return [i, epoch];
        }),
    };
  }

  /** Reads vectors of one incoming message, whose replica list is keys. */
  decoder(keys: string[]): (w: WireVector) => Vector {
    const ids = keys.map((k) => (/^[0-9a-f]{64}$/.test(k) ? this.idOf(k) : -1));
    return (w) => vector(w.map(([i, epoch]) => [ids[i] ?? -1, epoch] as const).filter(([id]) => id >= 0));
  }
}
