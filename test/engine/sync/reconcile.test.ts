/**
 * reconcile() over every combination: each side absent, deleted, a file (two
 * contents), a symlink or a directory, with every version's vectors drawn
 * from two replicas with epochs 0..2 (c ≤ m ≤ s), and, where a side is
 * absent, every s its directory may have. Each decision is checked against
 * the rules as DESIGN.md states them ("Peers and sync"), written here as a
 * table in terms of ≤ alone, and against what must hold whatever the case:
 * nothing changed on one side is lost without the other having seen it.
 * Then a check that every combination of relations was met.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY, SELF, format, le, type Vector } from '../../../src/engine/clock/vector.js';
import { reconcile, type Decision, type Version, type VersionKind } from '../../../src/engine/sync/reconcile.js';
import { allVectors, allVersions } from '../clock/universe.js';

const SHAPES: { kind: VersionKind; content?: string }[] = [
  { kind: 'file', content: 'A' },
  { kind: 'file', content: 'B' },
  { kind: 'symlink', content: 'A' },
  { kind: 'dir' },
  { kind: 'deleted' },
];
const VERSIONS: Version[] = allVersions().flatMap((clocks) => SHAPES.map((shape) => ({ ...shape, ...clocks })));
const DIRS: Vector[] = allVectors([SELF, 1], [0, 1, 2]);

const live = (v: Version | undefined): boolean => v !== undefined && v.kind !== 'deleted';

/** The rules, case by case. */
function expected(ours: Version | undefined, theirs: Version | undefined, oursDir: Vector, theirsDir: Vector): Decision {
  const nothing: Decision = { do: 'nothing' };
  const takeNew = (t: Version): Decision => (t.kind === 'dir' ? { do: 'merge', create: true, ours: EMPTY, theirs: t.s, theirsGone: false } : { do: 'take' });
  const restore = (t: Version, saw: Vector, deleted: Vector): Decision =>
    t.kind === 'dir' ? { do: 'merge', create: true, ours: saw, theirs: t.s, theirsGone: false, deleted } : { do: 'restore', deleted };
  // They deleted what they had seen as `saw` (their deletion's m: `deleted`): it wins unless ours changed since.
  const deletedThere = (o: Version, saw: Vector, deleted: Vector): Decision =>
    le(o.m, saw) ? { do: 'take' } : o.kind === 'dir' ? { do: 'merge', create: false, ours: o.s, theirs: saw, theirsGone: true, deleted } : { do: 'keep' };

  if (!live(ours) && !live(theirs)) {
    // Gone on both sides: at most the deletions' clocks merge (their tombstone is kept), never a conflict.
    let t = theirs;
    if (!t) {
      if (!ours || !le(ours.c, theirsDir)) return nothing;
      t = { kind: 'deleted', m: theirsDir, s: theirsDir, c: ours.c };
    }
    const known = ours ? ours.s : oursDir;
    if (le(t.m, known) && le(t.s, known)) return nothing;
    return ours ? { do: 'same' } : { do: 'take' };
  }
  if (!theirs) {
    // An entry we have and they lack: if they saw it created (c ≤ their s), they deleted it.
    if (!le(ours!.c, theirsDir)) return nothing;
    return deletedThere(ours!, theirsDir, theirsDir);
  }
  if (!ours) {
    // An entry they have and we lack: if we never saw it created, copy it; else we deleted it.
    if (!le(theirs.c, oursDir)) return takeNew(theirs);
    return le(theirs.m, oursDir) ? nothing : restore(theirs, oursDir, oursDir);
  }
  if (ours.kind === 'deleted') {
    if (le(theirs.m, ours.s)) return nothing;
    if (le(ours.m, theirs.s)) return takeNew(theirs);
    return restore(theirs, ours.s, ours.m);
  }
  if (theirs.kind === 'deleted') {
    if (le(theirs.m, ours.s)) return nothing;
    return deletedThere(ours, theirs.s, theirs.m);
  }
  // Both live: m_theirs ≤ s_ours: nothing; else m_ours ≤ s_theirs: copy theirs; else conflict.
  if (ours.kind === 'dir' && theirs.kind === 'dir') {
    return le(theirs.m, ours.s) ? nothing : { do: 'merge', create: false, ours: ours.s, theirs: theirs.s, theirsGone: false };
  }
  if (le(theirs.m, ours.s)) return nothing;
  if (le(ours.m, theirs.s)) return { do: 'take' };
  if (ours.kind === theirs.kind && ours.content === theirs.content) return { do: 'same' };
  return { do: 'conflict' };
}

/** What must hold in every case: no change is dropped unseen. */
function invariants(d: Decision, ours: Version | undefined, theirs: Version | undefined, oursDir: Vector, theirsDir: Vector): void {
  const ourKnowledge = ours ? ours.s : oursDir;
  const theirKnowledge = theirs ? theirs.s : theirsDir;
  // Ours is replaced (or deleted) only if they had seen it.
  if (live(ours) && d.do === 'take') assert.ok(le(ours!.m, theirKnowledge), 'took theirs over a change of ours they had not seen');
  // Theirs is ignored only if we had seen it.
  if (live(theirs) && d.do === 'nothing') assert.ok(le(theirs!.m, ourKnowledge), 'ignored a change of theirs we had not seen');
  // A conflict only over a change of theirs we had not seen.
  if (theirs && (d.do === 'conflict' || d.do === 'keep' || d.do === 'restore')) assert.ok(!le(theirs.m, ourKnowledge), 'a conflict over a change we had seen');
  if (!live(ours) && !live(theirs)) assert.ok(['nothing', 'same', 'take'].includes(d.do), 'two deletions never conflict');
}

const show = (v: Version | undefined) => (v ? `${v.kind}${v.content ?? ''} m${format(v.m)} s${format(v.s)} c${format(v.c)}` : 'absent');
const normal = (d: Decision) => JSON.stringify(d, (_k, v) => (v instanceof Map ? format(v) : v));

function check(ours: Version | undefined, theirs: Version | undefined, oursDir: Vector, theirsDir: Vector): Decision {
  const d = reconcile(ours, theirs, oursDir, theirsDir);
  const why = () => `ours ${show(ours)} (dir s ${format(oursDir)}), theirs ${show(theirs)} (dir s ${format(theirsDir)})`;
  assert.equal(normal(d), normal(expected(ours, theirs, oursDir, theirsDir)), why());
  try {
    invariants(d, ours, theirs, oursDir, theirsDir);
  } catch (err) {
    assert.fail(`${(err as Error).message}: ${why()} -> ${normal(d)}`);
  }
  return d;
}

const relation = (ours: Version, theirs: Version) => (le(theirs.m, ours.s) ? 'known' : le(ours.m, theirs.s) ? 'newer' : 'concurrent');

test('both present: every kind against every kind, in every relation of their clocks', () => {
  const met = new Set<string>();
  const decisions = new Set<string>();
  for (const ours of VERSIONS) {
    for (const theirs of VERSIONS) {
      const d = check(ours, theirs, EMPTY, EMPTY);
      met.add(`${ours.kind}${ours.content ?? ''}/${theirs.kind}${theirs.content ?? ''}/${relation(ours, theirs)}`);
      decisions.add(d.do);
    }
  }
  assert.equal(met.size, SHAPES.length * SHAPES.length * 3, 'every pair of shapes in each of the three relations');
  assert.deepEqual([...decisions].sort(), ['conflict', 'keep', 'merge', 'nothing', 'restore', 'same', 'take']);
});

test('one side absent: judged by the other directory\'s s, against the creation and the modification', () => {
  const met = new Set<string>();
  for (const v of VERSIONS) {
    for (const dir of DIRS) {
      const created = le(v.c, dir);
      const modified = le(v.m, dir);
      const ourSide = check(v, undefined, EMPTY, dir);
      const theirSide = check(undefined, v, dir, EMPTY);
      met.add(`${v.kind}/${created}/${modified}/${ourSide.do}/${theirSide.do}`);
    }
  }
  // c ≤ m, so "modification seen" implies "creation seen": three combinations for each shape, each met.
  const combos = new Set([...met].map((k) => k.split('/').slice(0, 3).join('/')));
  assert.equal(combos.size, 4 * 3, 'file, symlink, dir and deleted, each with creation unseen, seen, seen with its change');
});

test('both absent: nothing to do', () => {
  for (const a of DIRS) for (const b of DIRS) assert.deepEqual(reconcile(undefined, undefined, a, b), { do: 'nothing' });
});

test('two replicas that pull from each other agree: what one takes, the other keeps; a conflict is seen from both sides', () => {
  for (const a of VERSIONS) {
    if (!live(a)) continue;
    for (const b of VERSIONS) {
      if (!live(b) || a.kind === 'dir' || b.kind === 'dir') continue;
      const ab = reconcile(a, b, EMPTY, EMPTY).do;
      const ba = reconcile(b, a, EMPTY, EMPTY).do;
      if (ab === 'take') assert.equal(ba, 'nothing', `${show(a)} / ${show(b)}`);
      if (ab === 'conflict') assert.equal(ba, 'conflict', `${show(a)} / ${show(b)}`);
    }
  }
});
