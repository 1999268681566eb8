/**
 * Random changes on replicas, synced in random directions: at the end, after
 * syncing both ways and resolving what conflicts, the trees are identical and
 * every version written is still there, unless a user on some replica
 * overwrote or deleted it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../helpers.js';
import { addPeer, addVolumePeer } from '../../../src/engine/peer/peers.js';
import { forgetTombstones } from '../../../src/engine/sync/forget.js';
import { Rep } from './harness.js';

const trace = (line: string) => process.env.BAZIL_TRACE && process.stderr.write(`${line}\n`);

/** How many files hold each content. */
function contents(r: Rep): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of r.listing().values()) if (v.startsWith('file:')) counts.set(v.slice(5), (counts.get(v.slice(5)) ?? 0) + 1);
  return counts;
}

async function settle(reps: Rep[]): Promise<void> {
  for (let round = 0; round < 4; round++) {
    for (const a of reps) for (const b of reps) if (a !== b) trace(`settle ${a.name} <- ${b.name} ${JSON.stringify(await a.pullFrom(b))}`);
  }
}

/** A run watched: whether it forgets tombstones, how many it forgot, and the final tree. */
interface Watched {
  forget: boolean;
  count: number;
  final?: Map<string, string>;
}

/**
 * Runs `steps` random operations and syncs; returns what differs at the end (empty when all is well).
 * With `watch.forget`, every replica knows the others as the volume's peers and forgets, after each
 * of its pulls, the tombstones they have all seen (engine/sync/forget.ts); the changes and syncs are
 * the seed's either way.
 */
export async function scenario(t: Parameters<typeof Rep.make>[0], seed: number, steps: number, replicas: number, watch?: Watched): Promise<string[]> {
    const rand = seededRandom(seed * 7919);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const reps = ['a', 'b', 'c'].slice(0, replicas).map((name) => Rep.make(t, name));
    if (watch?.forget) {
      for (const r of reps) {
        for (const o of reps) {
          if (o === r) continue;
          addPeer(r.dir.db, o.key);
          addVolumePeer(r.dir.db, r.volume, o.key);
        }
      }
    }
    const written = new Set<string>();
    const discarded = new Set<string>();
    let n = 0;
    for (let step = 0; step < steps; step++) {
      const r = pick(reps);
      if (rand() < 0.2) {
        const other = pick(reps.filter((x) => x !== r));
        const st = await r.pullFrom(other);
        trace(`${r.name} <- ${other.name} ${JSON.stringify(st)}`);
        if (watch?.forget) watch.count += forgetTombstones(r.dir.db, r.tree);
        continue;
      }
      const entries = [...r.listing()];
      const dirs = ['', ...entries.filter(([, v]) => v === 'dir').map(([p]) => p)];
      const files = entries.filter(([, v]) => v.startsWith('file:')).map(([p]) => p);
      const before = contents(r);
      const op = rand();
      try {
        if (op < 0.4 || files.length === 0) {
          const path = files.length && rand() < 0.5 ? pick(files) : `${pick(dirs)}/f${n++}`;
          const text = `${r.name}-${n++}`;
          trace(`${r.name} write ${path} ${text}`);
          r.write(path, text);
          written.add(text);
        } else if (op < 0.55) {
          const p = `${pick(dirs)}/d${n++}`;
          trace(`${r.name} mkdir ${p}`);
          r.mkdir(p);
        } else if (op < 0.7) {
          const p = pick(files);
          trace(`${r.name} rm ${p}`);
          r.rm(p);
        } else if (op < 0.75 && dirs.length > 1) {
          const p = pick(dirs.slice(1));
          trace(`${r.name} rm -r ${p}`);
          r.rm(p);
        } else {
          const from = pick([...files, ...dirs.slice(1)]);
          const to = `${pick(dirs)}/m${n++}`;
          trace(`${r.name} mv ${from} ${to}`);
          r.mv(from, to);
        }
      } catch (err) {
        // Moving a directory into itself, onto a file, ...: refused, as by the kernel.
        if (!(err instanceof Error && 'code' in err)) throw err;
      }
      // A copy the user overwrote or deleted (moves of one directory on both
      // sides leave two copies of what was in it, each can be dropped).
      const after = contents(r);
      for (const [x, count] of before) if ((after.get(x) ?? 0) < count) discarded.add(x);
    }

    // Resolve on one replica at a time (resolving the same conflict on two at
    // once is itself a conflict), keeping both versions, and sync.
    await settle(reps);
    for (let round = 0; round < 5; round++) {
      const r = reps.find((x) => x.conflicts().length > 0);
      if (!r) break;
      for (const path of new Set(r.conflicts().map((c) => c.path))) trace(`resolve on ${r.name} ${path} ${JSON.stringify(r.resolve(path, 'both'))}`);
      await settle(reps);
    }

    for (const r of reps) for (const c of r.conflicts(true)) trace(`conflict on ${r.name}: ${c.path} ${c.theirs.kind} ${c.localDeleted} ${c.resolution}`);
    const problems: string[] = [];
    const final = reps[0].listing();
    if (watch) watch.final = final;
    for (const r of reps.slice(1)) {
      for (const [p, v] of r.listing()) if (final.get(p) !== v) problems.push(`${r.name} has ${p} = ${v}, ${reps[0].name} has ${final.get(p)}`);
      for (const [p, v] of final) if (!r.listing().has(p)) problems.push(`${r.name} lacks ${p} = ${v}`);
    }
    for (const r of reps) for (const c of r.conflicts()) problems.push(`${r.name} has an open conflict at ${c.path}`);
    const present = contents(reps[0]);
    for (const x of written) if (!present.has(x) && !discarded.has(x)) problems.push(`${x} was lost`);
    return problems;
}

for (const [seed, replicas] of [[1, 2], [2, 2], [3, 3]]) {
  test(`random changes and syncs converge, losing nothing (seed ${seed}, ${replicas} replicas)`, async (t) => {
    assert.deepEqual(await scenario(t, seed, 400, replicas), []);
  });
}

// BAZIL_HEAVY=1: twenty more seeds.
const forgetSeeds = [[4, 2], [5, 3], [6, 3], [7, 3], ...(process.env.BAZIL_HEAVY === '1' ? Array.from({ length: 20 }, (_, i) => [8 + i, 2 + (i % 2)]) : [])];
for (const [seed, replicas] of forgetSeeds) {
  test(`random changes and syncs converge, losing nothing and bringing nothing back, with tombstones forgotten once all peers have seen them (seed ${seed}, ${replicas} replicas)`, async (t) => {
    const forgetting: Watched = { forget: true, count: 0 };
    const forgot = await scenario(t, seed, 400, replicas, forgetting);
    t.diagnostic(`${forgetting.count} tombstones forgotten`);
    assert.ok(forgetting.count > 0, 'the run forgot tombstones (else it tests less than it says)');
    // The same changes and syncs without forgetting end the same way: what was forgotten said nothing more.
    // (Conflict copies are named after the peer's key, which differs between the runs.)
    const keeping: Watched = { forget: false, count: 0 };
    const kept = await scenario(t, seed, 400, replicas, keeping);
    const same = (w: Watched) => [...w.final!].map(([p, v]) => `${p.replace(/\.conflict-[0-9a-f]{8}/, '.conflict-PEER')} ${v}`).sort();
    assert.deepEqual(same(forgetting), same(keeping));
    assert.deepEqual(forgot, kept);
    // The default seeds converge; a heavy one may meet a case the sync itself does not settle (then both runs do alike).
    if (seed < 8) assert.deepEqual(kept, []);
  });
}
