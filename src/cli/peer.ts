/**
 * `bazil peer ...` and `bazil volume storage add`: introducing data dirs to each
 * other and granting them access. Each works through the server when one runs,
 * else on the data dir directly (the same methods, in process).
 */
import { resolve } from 'node:path';
import type { MethodName, NearbyDevice, Params, PeerGrants, PeerInfo, PeerRef } from '../engine/control/api.js';
import { BazilError } from '../engine/errors.js';
import { parsePublicKey } from '../engine/peer/peers.js';
import { DEFAULT_SHARING_KEY } from '../engine/store/sharing.js';
import { JSON_OPTION, type Command } from './command.js';
import { bazilCommand, printJson } from './format.js';
import { withControl, withServer } from './use-datadir.js';

const BOTH_WAYS = 'Works with or without the server: through it when it runs, else on the data dir directly.';
const KEY_HELP = 'PUBKEY is the peer\'s public key, 64 hex characters: run `bazil debug pubkey` on the other machine to see it.';
const PEER_HELP = 'PUBKEY is the peer\'s public key, its name, or the start of its key that no other peer\'s key starts with.';

/** How a command's answer names the peer: its name and key, or the key alone. */
export const peerShown = (p: PeerRef) => (p.name ? `${p.name} (${p.key})` : p.key);

/** Runs a change, through the server when one runs, else on the data dir. */
function change<M extends MethodName>(dataDir: string, method: M, params: Params<M>) {
  return withControl(dataDir, true, (api) => api.call(method, params));
}

const AT_ONCE = 'It holds at once, also on connections already open: grants are checked on every request.';

const say = (line: string) => process.stdout.write(`${line}\n`);
const hint = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Warns (on stderr) about what a peer does not grant this data dir, with the
 * command to run on that machine: without it, reads fail later as a bare
 * "Permission denied". Nothing when the peer could not be asked.
 */
export function warnMissingGrants(peer: string, grants: PeerGrants | undefined, volume?: string): void {
  if (!grants) return;
  const me = grants.asker || 'THISKEY';
  if (volume !== undefined && grants.volume === false) {
    hint(`Warning: peer ${peer} does not let this data dir sync ${volume}; on that machine, run \`bazil peer volume allow ${me} ${volume}\`.`);
  }
  if (!grants.storage.includes('local')) {
    hint(
      `Warning: peer ${peer} does not let this data dir read its store, so reading content from it fails ("Permission denied"); ` +
        `on that machine, run \`bazil peer storage allow ${me} local\`.`,
    );
  }
}

function peerLine(p: PeerInfo): string {
  const list = (xs: string[]) => (xs.length ? xs.join(',') : '-');
  return [p.publicKey, ...(p.name ? [`name=${p.name}`] : []), `location=${p.location ?? '-'}`, `storage=${list(p.storage)}`, `volumes=${list(p.volumes)}`].join('\t');
}

function nearbyLine(d: NearbyDevice, now: number): string {
  const ago = Math.max(0, Math.round((now - d.lastSeen) / 1000));
  const peer = d.peer ? `peer=${d.peer.name ?? d.peer.key}` : 'peer=-';
  return [d.fingerprint, `host=${d.hostname || '-'}`, `addresses=${d.addresses.join(',') || '-'}`, peer, `seen=${ago}s ago`].join('\t');
}

/** Suggests mounting a volume, unless it is mounted already. */
async function nextMount(dataDir: string, volume: string): Promise<void> {
  const volumes = await withControl(dataDir, false, (api) => api.call('volume.list', {})).catch(() => []);
  if (volumes.find((v) => v.name === volume)?.mounts.length) return;
  hint(`Next: \`${bazilCommand(dataDir, `volume mount ${volume} DIR`)}\`.`);
}

export const peerCommands: Command[] = [
  {
    path: ['peer', 'add'],
    summary: 'Introduce a peer: another data dir, by its public key, with a name if you like',
    usage: 'PUBKEY [NAME]',
    details:
      `${KEY_HELP}\nNAME (letters, digits, ".", "_", "-"; unique here) is how lists and messages show it, and what\n` +
      'commands accept in place of its key (`bazil peer rename` changes it).\n' +
      'Adding a peer grants it nothing: allow it to read the local store with `bazil peer storage allow`,\n' +
      'and to sync a volume with `bazil peer volume allow`. If this side will connect to the peer, say where\n' +
      `its server listens with \`bazil peer location set\`.\n${BOTH_WAYS}`,
    examples: ['bazil peer add $BLACK', 'bazil peer add $BLACK black', 'bazil peer add "$(bazil -data-dir=path/to/black debug pubkey)"'],
    args: [1, 2],
    async run({ dataDir, args }) {
      const key = parsePublicKey(args[0]).toString('hex');
      const added = await change(dataDir, 'peer.add', args[1] === undefined ? { key } : { key, name: args[1] });
      say(`Added peer ${peerShown(added)}.`);
      hint(
        `Next: if this side will connect to it, tell bazil where its server listens: \`${bazilCommand(dataDir, `peer location set ${key} HOST:PORT`)}\`; ` +
          `to share with it: \`${bazilCommand(dataDir, `peer storage allow ${key} local`)}\` and \`${bazilCommand(dataDir, `peer volume allow ${key} VOLUME`)}\`.`,
      );
    },
  },
  {
    path: ['peer', 'rename'],
    summary: 'Name a peer, or change its name',
    usage: 'PUBKEY NAME',
    details:
      `${PEER_HELP}\nNAME is letters, digits, ".", "_" or "-" (at most 32, starting with a letter or digit), unique here;\n` +
      `an empty NAME ("") takes the name away. Names are local: the peer does not see them.\n${BOTH_WAYS}`,
    examples: ['bazil peer rename $BLACK black', 'bazil peer rename black laptop', 'bazil peer rename 3f2a laptop'],
    args: [2, 2],
    async run({ dataDir, args }) {
      const renamed = await change(dataDir, 'peer.rename', { key: args[0], name: args[1] });
      say(renamed.name ? `Peer ${renamed.key} is now named ${renamed.name}${renamed.was && renamed.was !== renamed.name ? ` (was ${renamed.was})` : ''}.` : `Peer ${renamed.key} has no name now.`);
    },
  },
  {
    path: ['peer', 'remove'],
    summary: 'Forget a peer: its location and every grant; its open connections are closed',
    usage: 'PUBKEY',
    details:
      `${PEER_HELP}\n` +
      'The peer can no longer connect, and volumes stop syncing with it and fetching content from it.\n' +
      'What already came from it stays. To take back only one grant, use `bazil peer storage deny` or\n' +
      `\`bazil peer volume deny\`. ${AT_ONCE}\n${BOTH_WAYS}`,
    examples: ['bazil peer remove $BLACK'],
    args: [1, 1],
    async run({ dataDir, args }) {
      const removed = await change(dataDir, 'peer.remove', { key: args[0] });
      const { closed } = removed;
      say(`Removed peer ${peerShown(removed)}${closed ? `; closed its ${closed} open connection${closed === 1 ? '' : 's'}` : ''}.`);
    },
  },
  {
    path: ['peer', 'list'],
    summary: 'List peers, where they listen, and what they may do here',
    usage: '[--json]',
    details:
      'One line per peer, tab-separated: PUBKEY, name=NAME (when it has one), location=HOST:PORT,\n' +
      'storage=BACKENDS (what it may read here), volumes=NAMES (what it may sync). A "-" means none or\n' +
      'not set. With --json, also whether\n' +
      `the server is connected to it now (\`bazil status\` shows that too).\n${BOTH_WAYS}`,
    options: [JSON_OPTION],
    examples: ['bazil peer list', 'bazil peer list --json'],
    args: [0, 0],
    async run({ dataDir, flags }) {
      const { peers, connected } = await withControl(dataDir, false, async (api) => ({
        peers: await api.call('peer.list', {}),
        // Only a running server has connections: null without one.
        connected: await api.call('peer.connected', {}).catch(() => undefined),
      }));
      const rows = peers.map((p) => ({ ...p, connected: connected ? connected.includes(p.publicKey) : null }));
      if (flags.json === true) return printJson(rows);
      if (peers.length === 0) hint('No peers yet; add one with `bazil peer add PUBKEY` (its key: `bazil debug pubkey` on the other machine).');
      for (const p of peers) say(peerLine(p));
    },
  },
  {
    path: ['peer', 'nearby'],
    summary: 'List the bazil servers heard on the LAN (mDNS), known peers or not',
    usage: '[--json]',
    details:
      'One line per device, tab-separated, the most recently heard first: FINGERPRINT (of its public key,\n' +
      'as it announces it), host=NAME (the host name it announces), addresses=HOST:PORT,... (where it says it\n' +
      'listens), peer=NAME (the known peer it is, once a handshake at that address proved its key; "-" for a\n' +
      'device not known, which gets nothing from this data dir), seen=Ns ago. A device not heard for 2 minutes\n' +
      'is dropped. A known peer heard at a new address gets it as its location (after that handshake).\n' +
      'Needs the server, with discovery on (not --no-discovery, not BAZIL_DISCOVERY=0).',
    options: [JSON_OPTION],
    examples: ['bazil peer nearby', 'bazil peer nearby --json'],
    args: [0, 0],
    async run({ dataDir, flags }) {
      const devices = await withServer(dataDir, (server) => server.call('peer.nearby', {}));
      if (flags.json === true) return printJson(devices);
      if (devices.length === 0) hint('No bazil server heard on the LAN yet (servers announce themselves every so often; try again in a minute).');
      const now = Date.now();
      for (const d of devices) say(nearbyLine(d, now));
    },
  },
  {
    path: ['peer', 'location', 'set'],
    summary: "Say where a peer's server listens (HOST:PORT)",
    usage: 'PUBKEY HOST:PORT',
    details:
      `${PEER_HELP}\n` +
      'HOST is a name, an IPv4 address or a bracketed IPv6 address; PORT is the one the peer\'s\n' +
      '`bazil server run` printed (34211 unless that was taken). Needed on the side that connects,\n' +
      `e.g. before \`bazil volume connect\` or \`bazil volume sync\`. Setting it again replaces it.\n${BOTH_WAYS}`,
    examples: ['bazil peer location set $WHITE white.local:34211', 'bazil peer location set $WHITE 192.0.2.7:34211', 'bazil peer location set $WHITE [::1]:34211'],
    args: [1, 2],
    async run({ dataDir, args }) {
      const location = args[1];
      if (location === undefined) {
        throw new BazilError(
          'INVALID_ARGUMENT',
          `missing HOST:PORT: where the peer's server listens, as its \`bazil server run\` printed it, e.g. \`bazil peer location set ${args[0]} white.local:34211\``,
        );
      }
      const peer = await change(dataDir, 'peer.location.set', { key: args[0], location });
      say(`Peer ${peerShown(peer)} is at ${location}.`);
      hint(`Next, to use one of its volumes: \`${bazilCommand(dataDir, `volume connect -sharing=NAME ${peer.name ?? peer.key} VOLUME`)}\`.`);
    },
  },
  {
    path: ['peer', 'storage', 'allow'],
    summary: "Let a peer read this data dir's store",
    usage: 'PUBKEY local',
    details:
      `${PEER_HELP}\nThe only backend is "local", this data dir's content store. The content stays encrypted: the peer\n` +
      `can only read what it holds the sharing key of. Allowing it again changes nothing.\n${BOTH_WAYS}`,
    examples: ['bazil peer storage allow $BLACK local'],
    args: [2, 2],
    async run({ dataDir, args }) {
      const backend = args[1];
      const peer = await change(dataDir, 'peer.storage.allow', { key: args[0], backend });
      say(`Peer ${peerShown(peer)} may read the ${backend} store.`);
      hint(`Next, to let it sync a volume: \`${bazilCommand(dataDir, `peer volume allow ${peer.name ?? peer.key} VOLUME`)}\`.`);
    },
  },
  {
    path: ['peer', 'storage', 'deny'],
    summary: "Stop a peer from reading this data dir's store",
    usage: 'PUBKEY local',
    details: `${PEER_HELP}\nTakes back \`bazil peer storage allow\`. ${AT_ONCE}\nDenying what was not allowed says so and changes nothing.\n${BOTH_WAYS}`,
    examples: ['bazil peer storage deny $BLACK local'],
    args: [2, 2],
    async run({ dataDir, args }) {
      const backend = args[1];
      const peer = await change(dataDir, 'peer.storage.deny', { key: args[0], backend });
      say(`Peer ${peerShown(peer)} may no longer read the ${backend} store.`);
    },
  },
  {
    path: ['peer', 'volume', 'allow'],
    summary: 'Let a peer sync a volume',
    usage: 'PUBKEY VOLUME',
    details:
      `${PEER_HELP}\n` +
      'The peer may then connect to the volume and sync it. It also needs the volume\'s sharing key,\n' +
      'copied by some safe means, and usually read access to the store (`bazil peer storage allow`).\n' +
      `Allowing it again changes nothing.\n${BOTH_WAYS}`,
    examples: ['bazil peer volume allow $BLACK myfiles'],
    args: [2, 2],
    async run({ dataDir, args }) {
      const volume = args[1];
      const peer = await change(dataDir, 'peer.volume.allow', { key: args[0], volume });
      say(`Peer ${peerShown(peer)} may sync volume ${volume}.`);
      hint(
        `Next, on the peer: add this volume's sharing key (\`bazil sharing add NAME <KEYFILE\`), then ` +
          `\`bazil volume connect -sharing=NAME PUBKEY ${volume}\` with this data dir's key (\`bazil debug pubkey\`).`,
      );
    },
  },
  {
    path: ['peer', 'volume', 'deny'],
    summary: 'Stop a peer from syncing a volume',
    usage: 'PUBKEY VOLUME',
    details:
      `${PEER_HELP}\nTakes back \`bazil peer volume allow\`: the peer can no longer list or pull the volume here. ${AT_ONCE}\n` +
      `Denying what was not allowed says so and changes nothing.\n${BOTH_WAYS}`,
    examples: ['bazil peer volume deny $BLACK myfiles'],
    args: [2, 2],
    async run({ dataDir, args }) {
      const volume = args[1];
      const peer = await change(dataDir, 'peer.volume.deny', { key: args[0], volume });
      say(`Peer ${peerShown(peer)} may no longer sync volume ${volume}.`);
    },
  },
  {
    path: ['volume', 'storage', 'add'],
    summary: 'Let a volume fetch content it lacks from a peer or a store (dir:, sftp://)',
    usage: '[-sharing=NAME] VOLUME peerkey:PUBKEY|dir:PATH|sftp://[user@]host[:port]/path',
    options: [{ name: 'sharing', type: 'string', value: 'NAME', help: "the volume's sharing key (a check: it must match)", default: DEFAULT_SHARING_KEY }],
    details:
      'peerkey:PUBKEY names a known peer (see `bazil peer add`) by its key, its name or a unique key\n' +
      'prefix; it must allow this data dir to read its store.\n' +
      'dir:PATH and sftp://... name a store (see `bazil store`); a new one is added as `bazil store add` does.\n' +
      'The local store is always used, so "local" is accepted and changes nothing. Adding a peer again\n' +
      `changes nothing.\n${BOTH_WAYS}`,
    examples: ['bazil volume storage add -sharing=friends myfiles peerkey:$WHITE', 'bazil volume storage add myfiles dir:/media/usb/bazil'],
    args: [2, 2],
    async run({ dataDir, args, flags }) {
      const [volume, typed] = args;
      const sharing = flags.sharing as string;
      const backend = typed.startsWith('dir:') ? `dir:${resolve(typed.slice(4))}` : typed; // the server's working directory is not ours
      const { grants } = await change(dataDir, 'volume.storage.add', { volume, sharing, backend });
      if (backend === 'local') {
        say(`Volume ${volume} always uses the local store; nothing changed.`);
        return;
      }
      if (/^(dir:|sftp:\/\/)/.test(backend)) {
        say(`Volume ${volume} may fetch content from store ${backend}.`);
        return;
      }
      const peer = backend.slice('peerkey:'.length).trim().toLowerCase();
      say(`Volume ${volume} may fetch content from peer ${peer}.`);
      warnMissingGrants(peer, grants);
      await nextMount(dataDir, volume);
    },
  },
];
