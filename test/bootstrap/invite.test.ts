/**
 * `bazil invite` / `bazil join` between real servers in network namespaces
 * joined by a veth pair (real multicast for the short code), each server
 * started with nsenter (so its FUSE mounts are visible here) and LAN discovery
 * on. The CLIs run here and reach their servers over the control sockets.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import test, { type TestContext } from 'node:test';
import type { PeerInfo } from '../../src/engine/control/api.js';
import { BAZIL, startServer } from '../helpers.js';
import { makeLan, type Netns } from '../helpers/netns.js';
import { eventually, makeHost, type Host } from '../sync/hosts.js';

const PORT = 34211;
const DISCOVERY_ON = { BAZIL_DISCOVERY: '1' };

async function run(t: TestContext, h: Host, ns: Netns): Promise<void> {
  h.server = await startServer(t, h.dataDir, [`-addr=${ns.address}:${PORT}`], { prefix: ns.prefix, env: DISCOVERY_ON });
}

interface RunningInvite {
  code: string;
  longCode: string;
  /** The command's end: its exit code and what it printed. */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `bazil invite ARGS` for a host and resolves once it printed its codes. */
function invite(t: TestContext, h: Host, args: string[] = []): Promise<RunningInvite> {
  const child = spawn(process.execPath, [BAZIL, `-data-dir=${h.dataDir}`, 'invite', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => void (child.exitCode === null && child.kill('SIGKILL')));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return new Promise((resolve, reject) => {
    const check = () => {
      const short = /^ {2}bazil join (\d+-[a-z]+-[a-z]+-[a-z]+)$/m.exec(stdout);
      const long = /^ {2}bazil join (\S+@\S+)$/m.exec(stdout);
      if (short && long) resolve({ code: short[1]!, longCode: long[1]!, done });
    };
    child.stdout.on('data', check);
    void done.then((r) => reject(new Error(`bazil invite ended before printing its code (exit ${r.code}):\n${r.stdout}${r.stderr}`)));
  });
}

/** The code with its second word replaced by another valid one. */
function wrong(code: string): string {
  const parts = code.split('-');
  parts[2] = parts[2] === 'apple' ? 'river' : 'apple';
  return parts.join('-');
}

const verification = (out: string) => /Verification: ([a-z]+ [a-z]+ [a-z]+ [a-z]+)$/m.exec(out)?.[1];

test('invite by the short code across a veth pair (found by mDNS), with a volume: both sides verify the same words, a file written on one mount is read on the other, and the code cannot be used again', async (t) => {
  const lan = await makeLan(t, 2);
  if ('skip' in lan) return t.skip(lan.skip);
  const [wNs, bNs] = lan.namespaces;
  const white = await makeHost(t, 'white');
  const black = await makeHost(t, 'black');
  await run(t, white, wNs);
  await run(t, black, bNs);
  await white.ok('bazil volume create myfiles && bazil volume create photos && mkdir mnt && bazil volume mount myfiles mnt && echo hello from white >mnt/greeting.txt');

  const inv = await invite(t, white, ['--volume', 'myfiles', '--volume', 'photos']);
  assert.match(inv.longCode, new RegExp(`^${inv.code}@${wNs.address.replace(/\./g, '\\.')}:\\d+$`));
  const joined = await black.sh(`bazil join ${inv.code}`);
  assert.equal(joined.code, 0, joined.stdout + joined.stderr);
  const invited = await inv.done;
  assert.equal(invited.code, 0, invited.stdout + invited.stderr);
  // Peers are named after host names: the namespaces share this machine's.
  assert.match(joined.stdout, /^Connected volume myfiles from \S+\.$/m);
  assert.match(joined.stdout, /^Connected volume photos from \S+\.$/m);
  assert.match(joined.stdout, /Handshakes checked both ways\. Shared: each side's store, volume myfiles, volume photos\./);
  assert.match(invited.stdout, new RegExp(`^\\S+ \\(${black.key}\\) joined\\. Verification: `, 'm'));
  assert.ok(verification(joined.stdout), joined.stdout);
  assert.equal(verification(invited.stdout), verification(joined.stdout), 'both screens show the same words');
  assert.doesNotMatch(joined.stdout + joined.stderr + invited.stdout + invited.stderr + white.server!.stderr() + black.server!.stderr(), /[A-Za-z0-9+/]{43}=/, 'no sharing key printed or logged');

  // Each knows the other, at the address it can reach it.
  const blackPeers = JSON.parse(await black.ok('bazil peer list --json')) as PeerInfo[];
  assert.deepEqual(blackPeers.map((p) => [p.publicKey, p.location, p.volumes]), [[white.key, `${wNs.address}:${PORT}`, ['myfiles', 'photos']]]);
  const whitePeers = JSON.parse(await white.ok('bazil peer list --json')) as PeerInfo[];
  assert.deepEqual(whitePeers.map((p) => [p.publicKey, p.location, p.storage, p.volumes]), [[black.key, `${bNs.address}:${PORT}`, ['local'], ['myfiles', 'photos']]]);

  // A file written on white is read on black, and one written on black is read on white.
  await black.ok('mkdir mnt && bazil volume mount myfiles mnt');
  await eventually(async () => (await black.sh('cat mnt/greeting.txt')).stdout === 'hello from white\n', 15_000, 'greeting.txt on black');
  await black.ok('echo hello from black >mnt/reply.txt');
  await eventually(async () => (await white.sh('cat mnt/reply.txt')).stdout === 'hello from black\n', 15_000, 'reply.txt on white');

  // Used once: the same code again is refused, saying so.
  const again = await black.sh(`bazil join ${inv.longCode}`);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /invite \d+ was used already \(an invite is used once\); ask for a new invite/);
  // A short code nobody announces.
  const none = await black.sh('bazil join 999-apple-river-stone');
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /no invite 999 is announced on this network/);
  await black.ok('bazil volume unmount mnt');
  await white.ok('bazil volume unmount mnt');
});

test('a wrong code closes the invite (the right one then fails too), an invite expires, and of two joiners at once one wins and the other is told', async (t) => {
  const lan = await makeLan(t, 3);
  if ('skip' in lan) return t.skip(lan.skip);
  const [wNs, bNs, gNs] = lan.namespaces;
  const white = await makeHost(t, 'white');
  const black = await makeHost(t, 'black');
  const grey = await makeHost(t, 'grey');
  await Promise.all([run(t, white, wNs), run(t, black, bNs), run(t, grey, gNs)]);

  // A typo that is not a code word costs nothing: refused before anything is sent.
  let inv = await invite(t, white);
  let r = await grey.sh(`bazil join ${inv.longCode.replace(/-([a-z]+)@/, '-$1x@')}`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /is not a word of invite codes: check the spelling \(nothing was sent, the invite is still open\)/);
  // A wrong guess: the invite dies, the inviter says so, and the right code fails after it.
  r = await grey.sh(`bazil join ${wrong(inv.longCode)}`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /wrong code for invite \d+: the invite is now closed \(one wrong guess closes it\); ask for a new invite/);
  let end = await inv.done;
  assert.notEqual(end.code, 0);
  assert.match(end.stderr, /invite \d+ failed: a wrong code was tried on invite \d+ from \S+; run `bazil invite` again for a new code/);
  r = await black.sh(`bazil join ${inv.longCode}`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /invite \d+ was closed after a wrong code \(one wrong guess closes it\); ask for a new invite/);
  assert.equal(await white.ok('bazil peer list'), '', 'nobody was introduced');

  // Expiry: the invite ends by itself, and a join after finds nobody waiting.
  inv = await invite(t, white, ['--expires', '2s']);
  end = await inv.done;
  assert.notEqual(end.code, 0);
  assert.match(end.stderr, /invite \d+ expired before anyone joined; run `bazil invite` again/);
  r = await black.sh(`echo ${inv.longCode} | bazil join`); // the code on standard input, out of `ps`
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no inviter answers \(.*connection refused\): the invite may have expired or been cancelled/);

  // Two joiners at once: one wins; the other is told the invite is taken.
  inv = await invite(t, white);
  const [rb, rg] = await Promise.all([black.sh(`bazil join ${inv.longCode}`), grey.sh(`bazil join ${inv.longCode}`)]);
  const winners = [rb, rg].filter((x) => x.code === 0);
  const losers = [rb, rg].filter((x) => x.code !== 0);
  assert.equal(winners.length, 1, `${rb.stdout}${rb.stderr}${rg.stdout}${rg.stderr}`);
  assert.match(losers[0]!.stderr, /another device is joining with invite \d+ right now; an invite is used once|invite \d+ was used already \(an invite is used once\)/);
  end = await inv.done;
  assert.equal(end.code, 0, end.stderr);
  const peers = JSON.parse(await white.ok('bazil peer list --json')) as PeerInfo[];
  assert.equal(peers.length, 1);
  assert.equal(peers[0]!.publicKey, (winners[0] === rb ? black : grey).key);
  // The inviter's log never holds the code's secret part.
  assert.ok(!(white.server!.stderr() + white.server!.stdout()).includes(inv.code.split('-').slice(1).join('-')));
});
