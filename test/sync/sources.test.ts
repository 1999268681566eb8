/**
 * Where content comes from, on real servers with real mounts: the fastest of
 * a volume's storage peers is asked first (one peer here is behind a proxy
 * that delays its answers), the slow one is the fallback when the fast one
 * goes away, and read-ahead continues into the next file of a directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server } from 'node:net';
import { fuseUnavailable } from '../fuse/mount-helpers.js';
import { eventually, makeHost, shareVolume, type Host } from './hosts.js';

const skip = fuseUnavailable();
const MiB = 2 ** 20;

/** A TCP proxy to 127.0.0.1:port that delays every piece of the answers by delayMs; counts the answer bytes. */
async function slowProxy(t: Parameters<typeof makeHost>[0], port: number, delayMs: number): Promise<{ port: number; answered: () => number }> {
  let answered = 0;
  const server: Server = createServer((client) => {
    const target = connect(port, '127.0.0.1');
    client.pipe(target);
    target.on('data', (data: Buffer) => {
      answered += data.length;
      setTimeout(() => client.write(data), delayMs); // equal delays fire in order
    });
    target.on('end', () => setTimeout(() => client.end(), delayMs));
    for (const s of [client, target]) s.on('error', () => (client.destroy(), target.destroy()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as { port: number }).port, answered: () => answered };
}

/** Writes count files of size bytes in mnt/dir on h; returns "sum  ./dir/name" lines as sha256sum prints them, sorted. */
async function randomFiles(h: Host, dir: string, count: number, size: number): Promise<string> {
  await h.ok(`mkdir -p mnt/${dir} && for i in $(seq ${count}); do head -c ${size} /dev/urandom >mnt/${dir}/f$i; done`);
  return sums(h, dir);
}
const sums = (h: Host, dir: string) => h.ok(`cd mnt && sha256sum ./${dir}/* | sort`);

async function restart(h: Host): Promise<void> {
  await h.ok('bazil server stop');
  await h.server!.exited;
  await h.start('-addr=127.0.0.1:0', '--manual-sync');
}

test('the faster storage peer serves most of a read; the slow one takes over when it goes', { skip }, async (t) => {
  const r = await makeHost(t, 'r');
  const slow = await makeHost(t, 'slow');
  const fast = await makeHost(t, 'fast');
  // r lists its storage peers in this order: slow first, so the volume's own order would pick it.
  await shareVolume([r, slow, fast], 'v', ['--manual-sync']);
  const first = await randomFiles(slow, 'one', 8, 4 * MiB);
  const second = await randomFiles(slow, 'two', 4, 4 * MiB);
  await r.ok(`bazil volume sync v ${slow.key}`);
  await fast.ok(`bazil volume sync v ${r.key}`);
  // fast fetches everything (through r, from slow): now both hold the content.
  assert.equal(await sums(fast, 'one'), first);
  assert.equal(await sums(fast, 'two'), second);

  // r starts again, reaching slow only through a proxy that delays every answer by 150 ms.
  await restart(slow);
  await restart(fast);
  const proxy = await slowProxy(t, slow.server!.port, 150);
  await r.ok(`bazil server stop && bazil peer location set ${slow.key} 127.0.0.1:${proxy.port} && bazil peer location set ${fast.key} ${fast.addr()}`);
  await r.server!.exited;
  await r.start('-addr=127.0.0.1:0', '--manual-sync');

  assert.equal(await sums(r, 'one'), first);
  const fromSlow = proxy.answered();
  assert.ok(fromSlow < 16 * MiB, `the slow peer sent ${(fromSlow / MiB).toFixed(1)} MiB of the 32 MiB read: the fast one should have served most`);

  // The fast peer goes away: what is left comes from the slow one.
  await fast.ok('bazil server stop');
  assert.equal(await sums(r, 'two'), second);
  assert.ok(proxy.answered() - fromSlow >= 16 * MiB, 'the slow peer served the rest');
});

test('reading a file to its end starts fetching the next file of the directory', { skip }, async (t) => {
  const a = await makeHost(t, 'a');
  const b = await makeHost(t, 'b');
  await shareVolume([a, b], 'v', ['--manual-sync']);
  await randomFiles(a, 'd', 3, 8 * MiB);
  await b.ok(`bazil volume sync v ${a.key}`);
  const here = async (path: string) => (JSON.parse(await b.ok(`bazil whereis --json mnt/${path}`)) as { here: string }[])[0].here;
  assert.equal(await here('d/f2'), 'none');
  await b.ok('cat mnt/d/f1 >/dev/null');
  await eventually(async () => (await here('d/f2')) !== 'none', 10_000, "f2's first chunks fetched ahead");
  assert.equal(await here('d/f3'), 'none', 'only the next file is read ahead');
});
