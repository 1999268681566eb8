/**
 * The other machine's half of `bazil pair`, run there over the SSH exec
 * channel as `bazil debug pair-remote hello|introduce`. Each reads at most one
 * JSON request on stdin and prints one JSON answer on stdout, so nothing
 * secret (the volume's sharing key) is ever on a command line or in a log.
 *
 * hello: starts this side's server if it is not running; answers its key,
 * host name and where it listens. introduce: adds the asking side as a peer
 * with its location and grants, and for each volume, adds the volume's
 * sharing key (unless held already), connects the volume from it, reads its
 * content from there and lets it sync back; then proves a handshake to it.
 * `bazil join` runs the same introduction, over the invite's channel.
 */
import { hostname } from 'node:os';
import type { ControlApi } from '../engine/control/api.js';
import { BazilError } from '../engine/errors.js';
import { ensureServer, introduce, type ServerProbe } from './introduce.js';

/** Raised when the request's format changes incompatibly (2: several volumes); an older remote is told apart by its lacking the command. */
export const PAIR_PROTOCOL = 2;

export interface HelloAnswer {
  protocol: number;
  key: string;
  hostname: string;
  /** Where its server listens, as it printed it: [::]:34211. */
  peerAddress: string;
  startedServer: boolean;
}

export interface IntroduceRequest {
  protocol: number;
  key: string;
  hostname: string;
  /** Where the remote reaches the asking side's server. */
  location: string;
  /** The volumes to connect from the asking side, each with its sharing key (name and 32 bytes in base64). */
  volumes: SharedVolume[];
}

export interface SharedVolume {
  name: string;
  sharing: string;
  secret: string;
}

export interface IntroduceAnswer {
  /** What the remote calls the asking side. */
  name: string;
  did: string[];
  /** Where the remote's server reached the asking side (the handshake proof). */
  reached: string;
}

export async function hello(dataDir: string, serverInfo: ServerProbe, publicKey: () => Promise<string>): Promise<HelloAnswer> {
  const { info, started } = await ensureServer(dataDir, serverInfo);
  return { protocol: PAIR_PROTOCOL, key: await publicKey(), hostname: hostname(), peerAddress: info.peerAddress, startedServer: started };
}

export async function answerIntroduction(api: ControlApi, request: IntroduceRequest): Promise<IntroduceAnswer> {
  if (request.protocol !== PAIR_PROTOCOL) {
    throw new BazilError('INVALID_ARGUMENT', `pairing protocol ${request.protocol} is not this bazil's (${PAIR_PROTOCOL}); install the same bazil version on both machines`);
  }
  const { name, did } = await introduce(api, { key: request.key, hostname: request.hostname, location: request.location, volumes: [] });
  for (const v of request.volumes) {
    let sharing = (await api.call('pair.findSharing', { secret: v.secret })).name;
    if (sharing === null) {
      const taken = new Set(await api.call('sharing.list', {}));
      sharing = v.sharing;
      for (let n = 2; taken.has(sharing); n++) sharing = `${v.sharing}-${name}${n > 2 ? `-${n}` : ''}`;
      await api.call('sharing.add', { name: sharing, secret: v.secret });
      did.push(`added the sharing key of ${v.name} as ${sharing}`);
    }
    if (!(await api.call('volume.list', {})).some((x) => x.name === v.name)) {
      await api.call('volume.connect', { peer: request.key, volume: v.name, sharing });
      did.push(`connected volume ${v.name} from ${name}`);
    }
    await api.call('volume.storage.add', { volume: v.name, sharing, backend: `peerkey:${request.key}` }); // adding again changes nothing
  }
  if (request.volumes.length) {
    did.push(...(await introduce(api, { key: request.key, hostname: request.hostname, location: request.location, volumes: request.volumes.map((v) => v.name) })).did);
  }
  const reached = await api.call('peer.connect', { key: request.key });
  return { name, did, reached: reached.address };
}
