/**
 * Network namespaces for tests that need a real LAN (multicast, addresses that
 * change): N namespaces joined by veth pairs, each with lo up and one interface
 * `bz0` at 10.213.X.(i+1)/24, with a route for multicast on it.
 *
 * Processes start with `nsenter --net=/run/netns/NAME`, never `ip netns exec`:
 * the latter also gives the process a private mount namespace, so the FUSE
 * mounts a bazil server made inside would be invisible to the test.
 *
 * Everything created is removed when the test ends, failed or not (and, as a
 * last resort, when the test process exits).
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';

/** The interface each namespace has on the shared segment. */
export const LAN_IFACE = 'bz0';

export interface Netns {
  /** The namespace's name (under /run/netns). */
  name: string;
  /** Its IPv4 address on the segment, without the prefix length. */
  address: string;
  /** The command prefix that runs a program inside it. */
  prefix: string[];
  /** Starts a program inside it (the same options as child_process.spawn). */
  spawn(command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Runs a program inside it to the end; rejects if it fails. */
  exec(command: string, args: string[]): Promise<string>;
  /** Replaces its address on the segment by 10.213.X.host (the old one is gone). */
  moveTo(host: number): Promise<void>;
}

export interface Lan {
  namespaces: Netns[];
  /** The segment's first three octets, e.g. "10.213.7". */
  subnet: string;
}

/** Either the LAN, or why it cannot be made here (pass it to t.skip). */
export type LanOrSkip = Lan | { skip: string };

let counter = 0;
/** What is still to be removed, for the exit handler (t.after normally does it first). */
const live = new Set<string>();
let exitHandler = false;

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, (err, stdout, stderr) =>
      err ? reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(stdout),
    ),
  );
}

function removeNow(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
  live.delete(name);
}

/** Why namespaces cannot be made here, or undefined if they may be. */
function cannot(): string | undefined {
  if (process.platform !== 'linux') return 'skipped: network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'skipped: network namespaces need root';
  for (const tool of ['ip', 'nsenter']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `skipped: no \`${tool}\` command`;
    }
  }
  return undefined;
}

/**
 * Makes n (>= 2) namespaces on one segment: two are joined by a veth pair
 * directly; more hang off a bridge in an extra namespace. Unique names per call.
 */
export async function makeLan(t: TestContext, n = 2): Promise<LanOrSkip> {
  const why = cannot();
  if (why) return { skip: why };
  const id = `${(process.pid % 46656).toString(36)}${(counter++).toString(36)}`;
  const octet = ((process.pid * 7 + counter) % 250) + 2;
  const subnet = `10.213.${octet}`;
  const names = Array.from({ length: n }, (_, i) => `bzt-${id}-${i}`);
  const hub = n > 2 ? `bzt-${id}-hub` : undefined;
  const all = hub ? [...names, hub] : names;
  if (!exitHandler) {
    exitHandler = true;
    process.on('exit', () => [...live].forEach(removeNow));
  }
  t.after(() => all.forEach(removeNow));
  try {
    for (const name of all) {
      await run('ip', ['netns', 'add', name]);
      live.add(name);
      await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    }
    if (hub) {
      await run('ip', ['-n', hub, 'link', 'add', 'br0', 'type', 'bridge']);
      await run('ip', ['-n', hub, 'link', 'set', 'br0', 'up']);
      for (let i = 0; i < n; i++) {
        await run('ip', ['-n', hub, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', LAN_IFACE, 'netns', names[i]]);
        await run('ip', ['-n', hub, 'link', 'set', `p${i}`, 'master', 'br0', 'up']);
      }
    } else {
      await run('ip', ['-n', names[0], 'link', 'add', LAN_IFACE, 'type', 'veth', 'peer', 'name', LAN_IFACE, 'netns', names[1]]);
    }
    for (let i = 0; i < n; i++) {
      await run('ip', ['-n', names[i], 'addr', 'add', `${subnet}.${i + 1}/24`, 'dev', LAN_IFACE]);
      await run('ip', ['-n', names[i], 'link', 'set', LAN_IFACE, 'up']);
      // Without a default route, multicast sends fail (ENETUNREACH): send it on the segment.
      await run('ip', ['-n', names[i], 'route', 'add', '224.0.0.0/4', 'dev', LAN_IFACE]);
    }
  } catch (err) {
    all.forEach(removeNow);
    return { skip: `skipped: cannot make network namespaces here (${(err as Error).message})` };
  }
  return { subnet, namespaces: names.map((name, i) => netns(name, subnet, i + 1)) };
}

function netns(name: string, subnet: string, host: number): Netns {
  const prefix = ['nsenter', `--net=/run/netns/${name}`, '--'];
  const ns: Netns = {
    name,
    address: `${subnet}.${host}`,
    prefix,
    spawn: (command, args, options = {}) => spawn(prefix[0], [...prefix.slice(1), command, ...args], options),
    exec: (command, args) => run(prefix[0], [...prefix.slice(1), command, ...args]),
    async moveTo(newHost: number) {
      const address = `${subnet}.${newHost}`;
      await run('ip', ['-n', name, 'addr', 'del', `${ns.address}/24`, 'dev', LAN_IFACE]);
      await run('ip', ['-n', name, 'addr', 'add', `${address}/24`, 'dev', LAN_IFACE]);
      // Removing the last address on the link took the multicast route with it.
      await run('ip', ['-n', name, 'route', 'replace', '224.0.0.0/4', 'dev', LAN_IFACE]);
      ns.address = address;
    },
  };
  return ns;
}

/** True if the namespace still exists (for the helper's own test). */
export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}
