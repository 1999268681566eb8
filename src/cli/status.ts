import type { StatusInfo } from '../engine/control/api.js';
import { createDataDir, dataDirExists, missingDataDir } from '../engine/datadir.js';
import { JSON_OPTION, type Command } from './command.js';
import { bazilCommand, printJson } from './format.js';
import { serverInfo, withControl } from './use-datadir.js';

/** One line per volume: where it is mounted, or why it is not. */
function volumeLines(status: StatusInfo): string[] {
  if (status.volumes.length === 0) return [];
  return status.volumes.map((v) => {
    const where = [...v.mounts.map((m) => `mounted on ${m}`), ...(v.problems ?? []).map((p) => `${p.state === 'dead' ? 'DEAD mount' : 'not mounted'} on ${p.dir}`)];
    return `  ${v.name} (sharing key ${v.sharingKey}): ${where.length ? where.join(', ') : 'not mounted'}`;
  });
}

function peerLines(status: StatusInfo, running: boolean): string[] {
  return status.peers.flatMap((p) => {
    const state = p.connected === null ? '' : p.connected ? ', connected' : ', not connected';
    const granted = [...p.storage.map((s) => `read the ${s} store`), ...p.volumes.map((v) => `sync ${v}`)];
    const lines = [
      `  ${p.name ? `${p.name} ` : ''}${p.publicKey} at ${p.location ?? '(no location)'}${state}${p.syncs.length ? `; syncs ${p.syncs.join(', ')} from it` : ''}`,
      `    may here: ${granted.length ? granted.join(', ') : 'nothing'}`,
    ];
    for (const s of p.lastSync) lines.push(`    last sync of ${s.volume}: ${new Date(s.at).toISOString()}${s.error ? `, failed: ${s.error}` : ''}`);
    if (running && p.syncs.length && p.lastSync.length === 0) lines.push('    no sync from it since the server started');
    for (const m of p.missing) lines.push(`    ${m}`);
    return lines;
  });
}

async function showStatus(dataDir: string, json = false): Promise<void> {
  const server = await serverInfo(dataDir).catch(() => undefined);
  const status = await withControl(dataDir, false, (api) => api.call('status', {}));
  if (json) {
    return printJson({
      dataDir: status.dataDir,
      publicKey: status.publicKey,
      sharingKeys: status.sharingKeys,
      volumes: status.volumes.map((v) => v.name),
      server: server ? { pid: server.pid, peerAddress: server.peerAddress } : null,
      deadMounts: status.volumes.flatMap((v) => (v.problems ?? []).filter((p) => p.state === 'dead').map((p) => ({ volume: p.volume, dir: p.dir }))),
      mounts: status.volumes.flatMap((v) => [...v.mounts.map((dir) => ({ volume: v.name, dir, state: 'mounted' })), ...(v.problems ?? [])]),
      peers: status.peers,
      conflicts: status.conflicts,
    });
  }
  const lines = [
    `Data dir:     ${status.dataDir}`,
    `Public key:   ${status.publicKey}`,
    `Sharing keys: ${status.sharingKeys.join(', ')}`,
    `Volumes:      ${status.volumes.length ? status.volumes.map((v) => v.name).join(', ') : `(none yet: ${bazilCommand(dataDir, 'volume create NAME')})`}`,
    ...volumeLines(status),
    `Server:       ${server ? `running (pid ${server.pid}), listening on ${server.peerAddress}` : 'not running (start it with `bazil server start`)'}`,
  ];
  for (const v of status.volumes) {
    for (const m of v.problems ?? []) {
      if (m.state === 'dead') lines.push(`Dead mount:   ${m.volume} on ${m.dir} (its server was stopped without unmounting; \`bazil volume unmount ${m.dir}\` clears it)`);
    }
  }
  lines.push(`Peers:        ${status.peers.length ? status.peers.length : `(none: ${bazilCommand(dataDir, 'peer add PUBKEY')})`}`, ...peerLines(status, server !== undefined));
  if (status.conflicts.length) lines.push(`Conflicts:    ${status.conflicts.length} open; see \`${bazilCommand(dataDir, 'conflicts list')}\``);
  process.stdout.write(lines.join('\n') + '\n');
}

/**
 * Plain `bazil`: set up the default data dir on first use (`mayCreate`), then
 * show where things stand. Any other data dir is made only by `bazil create`.
 */
export async function defaultAction(dataDir: string, mayCreate: boolean): Promise<number> {
  if (!dataDirExists(dataDir)) {
    if (!mayCreate) throw missingDataDir(dataDir);
    createDataDir(dataDir);
    process.stdout.write(`Welcome to bazil. Created a new data dir in ${dataDir}\n\n`);
  }
  await showStatus(dataDir);
  process.stdout.write('\nRun `bazil --help` to see every command.\n');
  return 0;
}

export const statusCommands: Command[] = [
  {
    path: ['status'],
    summary: 'Show where things stand: data dir, key, server, volumes and mounts, peers and grants, conflicts',
    details:
      'Each volume with its mounts (dead ones marked); each peer with its location, whether the server is\n' +
      'connected to it now, the last sync from it, and grants missing on either side with the command that\n' +
      'gives each (the other side is asked only when connected); open conflicts. Works with or without the server.',
    usage: '[--json]',
    options: [JSON_OPTION],
    examples: ['bazil status', 'bazil status --json'],
    args: [0, 0],
    run: ({ dataDir, flags }) => showStatus(dataDir, flags.json === true),
  },
];
