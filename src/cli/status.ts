import { createDataDir, dataDirExists, missingDataDir } from '../engine/datadir.js';
import { listSharingKeys } from '../engine/store/sharing.js';
import { listVolumes } from '../engine/tree/volumes.js';
import { isDeadMount, rememberedMounts } from '../server/mount-points.js';
import { JSON_OPTION, type Command } from './command.js';
import { printJson } from './format.js';
import { serverInfo, withDataDir } from './use-datadir.js';

async function showStatus(dataDir: string, json = false): Promise<void> {
  await withDataDir(dataDir, false, async (dir) => {
    const server = await serverInfo(dir.path).catch(() => undefined);
    const status = {
      dataDir: dir.path,
      publicKey: dir.publicKey().toString('hex'),
      sharingKeys: listSharingKeys(dir.db),
      volumes: listVolumes(dir.db).map((v) => v.name),
      server: server ? { pid: server.pid, peerAddress: server.peerAddress } : null,
      deadMounts: rememberedMounts(dir.db).filter((r) => isDeadMount(r.dir)),
    };
    if (json) return printJson(status);
    const lines = [
      `Data dir:     ${status.dataDir}`,
      `Public key:   ${status.publicKey}`,
      `Sharing keys: ${status.sharingKeys.join(', ')}`,
      `Volumes:      ${status.volumes.length ? status.volumes.join(', ') : '(none yet: bazil volume create NAME)'}`,
      `Server:       ${server ? `running (pid ${server.pid}), listening on ${server.peerAddress}` : 'not running (start it with `bazil server start`)'}`,
    ];
    for (const m of status.deadMounts) {
      lines.push(`Dead mount:   ${m.volume} on ${m.dir} (its server was stopped without unmounting; \`bazil volume unmount ${m.dir}\` clears it)`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  });
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
    summary: "Show the data dir's public key, sharing keys and volumes, and whether its server runs",
    usage: '[--json]',
    options: [JSON_OPTION],
    examples: ['bazil status', 'bazil status --json'],
    args: [0, 0],
    run: ({ dataDir, flags }) => showStatus(dataDir, flags.json === true),
  },
];
