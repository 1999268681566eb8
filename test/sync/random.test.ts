/**
 * Hundreds of random changes made with shell tools on two real mounts,
 * interleaved with syncs in random directions. At the end, after syncing both
 * ways and resolving what conflicted (keeping both), the trees are identical,
 * and every version written is still there unless a user overwrote or deleted
 * it (a conflict's other version is kept beside it, so it counts as there).
 * `bazil gc` runs now and then among the changes: forgetting tombstones every
 * peer has seen must not bring back what was deleted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { seededRandom } from '../helpers.js';
import { makeHost, shareVolume, type Host } from './hosts.js';

const skip = fuseUnavailable();

/** path -> 'dir' or the file's content, read through the mount. */
function tree(h: Host): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const r = `${rel}/${name}`;
      if (statSync(p).isDirectory()) {
        out.set(r, 'dir');
        walk(p, r);
      } else {
        out.set(r, readFileSync(p, 'utf8'));
      }
    }
  };
  walk(h.mnt, '');
  return out;
}

function counts(t: Map<string, string>): Map<string, number> {
  const c = new Map<string, number>();
  for (const v of t.values()) if (v !== 'dir') c.set(v, (c.get(v) ?? 0) + 1);
  return c;
}

test('random changes on two mounts and syncs in random directions converge, losing nothing', { skip, timeout: 600_000 }, async (t) => {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await shareVolume([a, b], 'v', ['--manual-sync']);
  const hosts = [a, b];
  const rand = seededRandom(20261125);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  // Garbage collection (and the forgetting of tombstones every peer has seen) runs now and then, on its own
  // random sequence so that the changes and syncs stay those of the seed.
  const gcRand = seededRandom(15);
  let collections = 0;
  let forgotten = 0;
  const written = new Set<string>();
  const discarded = new Set<string>();
  let n = 0;
  let ops = 0;
  const q = (p: string) => `'mnt${p}'`;

  while (ops < 300) {
    const h = pick(hosts);
    const before = tree(h);
    const dirs = ['', ...[...before].filter(([, v]) => v === 'dir').map(([p]) => p)];
    const files = [...before].filter(([, v]) => v !== 'dir').map(([p]) => p);
    const script: string[] = [];
    const batch: string[] = [];
    for (let i = 0; i < 10; i++, ops++) {
      const op = rand();
      if (op < 0.4 || files.length === 0) {
        const path = files.length && rand() < 0.5 ? pick(files) : `${pick(dirs)}/f${n++}`;
        const text = `${h.name}-${n++}`;
        written.add(text);
        batch.push(text);
        script.push(`printf %s ${text} >${q(path)}`);
      } else if (op < 0.55) {
        script.push(`mkdir ${q(`${pick(dirs)}/d${n++}`)}`);
      } else if (op < 0.7) {
        script.push(`rm ${q(pick(files))}`);
      } else if (op < 0.75 && dirs.length > 1) {
        script.push(`rm -r ${q(pick(dirs.slice(1)))}`);
      } else {
        script.push(`mv -T ${q(pick([...files, ...dirs.slice(1)]))} ${q(`${pick(dirs)}/m${n++}`)}`);
      }
    }
    // Ops on paths an earlier op removed fail, as they would for a user: that is fine.
    await h.sh(script.map((s) => `${s} 2>/dev/null`).join('\n'));
    const after = counts(tree(h));
    for (const [x, c] of counts(before)) if ((after.get(x) ?? 0) < c) discarded.add(x);
    // Written and overwritten (or deleted, or never written: a failed op) in the same batch.
    for (const x of batch) if (!after.has(x)) discarded.add(x);
    if (rand() < 0.6) {
      const to = pick(hosts);
      const from = hosts.find((x) => x !== to)!;
      await to.ok(`bazil volume sync v ${from.key}`);
    }
    if (gcRand() < 0.3) {
      forgotten += (JSON.parse(await hosts[Math.floor(gcRand() * hosts.length)].ok('bazil gc --json')) as { tombstonesForgotten: number }).tombstonesForgotten;
      collections++;
    }
  }
  t.diagnostic(`${collections} garbage collections ran among the changes, forgetting ${forgotten} tombstones`);

  const settle = async () => {
    for (let i = 0; i < 2; i++) {
      await a.ok(`bazil volume sync v ${b.key}`);
      await b.ok(`bazil volume sync v ${a.key}`);
    }
  };
  await settle();
  let resolved = 0;
  for (let round = 0; round < 4; round++) {
    const open = await Promise.all(hosts.map((h) => h.ok('bazil conflicts list')));
    const i = open.findIndex((x) => x !== '');
    if (i < 0) break;
    const paths = [...new Set(open[i].trim().split('\n').map((line) => line.split('\t')[0]))];
    for (const p of paths) await hosts[i].ok(`bazil conflicts resolve '${p}' --both`);
    resolved += paths.length;
    await settle();
  }

  const final = tree(a);
  assert.deepEqual(tree(b), final, 'the trees are identical');
  for (const h of hosts) assert.equal(await h.ok('bazil conflicts list'), '', `no open conflicts on ${h.name}`);
  const present = new Set(final.values());
  const lost = [...written].filter((x) => !present.has(x) && !discarded.has(x));
  assert.deepEqual(lost, [], 'versions lost without a user overwriting or deleting them');
  assert.ok(written.size > 100, `${written.size} versions written`);
  assert.ok(resolved > 0, 'the run made conflicts to resolve (else it tests less than it says)');
});
