/** Every CLI command, in the order `bazil --help` lists them. */
import type { Command } from './command.js';
import { cacheCommands } from './cache.js';
import { storeCommands } from './store.js';
import { checkCommands } from './check.js';
import { createCommands } from './create.js';
import { debugCommands } from './debug.js';
import { eventsCommands } from './events.js';
import { helpCommands } from './help.js';
import { inviteCommands } from './invite.js';
import { pairCommands } from './pair.js';
import { peerCommands } from './peer.js';
import { syncCommands } from './sync.js';
import { serverCommands } from './server.js';
import { sharingCommands } from './sharing.js';
import { statusCommands } from './status.js';
import { tuiCommands } from './tui.js';
import { volumeCommands } from './volume.js';

export const COMMANDS: Command[] = [...createCommands, ...statusCommands, ...tuiCommands, ...serverCommands, ...sharingCommands, ...volumeCommands, ...peerCommands, ...pairCommands, ...inviteCommands, ...syncCommands, ...cacheCommands, ...storeCommands, ...checkCommands, ...eventsCommands, ...debugCommands, ...helpCommands];
