/**
 * sftp:// stores reach their server the way `bazil pair` does (bootstrap's
 * ssh-target and ssh-session): ~/.ssh/config, known_hosts checked (an unknown
 * host key is refused unless accepted once with `bazil store add --yes`), the
 * agent, then key files. Nothing is asked: the server has no terminal.
 */
import { homedir } from 'node:os';
import { resolveTarget } from '../bootstrap/ssh-target.js';
import { openSsh } from '../bootstrap/ssh-session.js';
import { BazilError } from '../engine/errors.js';
import type { SftpOpener } from '../engine/store/stores.js';

const SFTP_HELP = 'write sftp://[user@]host[:port]/path, e.g. sftp://me@closet.local/srv/bazil';

/** Splits sftp://[user@]host[:port]/path into the SSH destination and the path. */
function splitUrl(url: string): { destination: string; path: string } {
  const rest = url.slice('sftp://'.length);
  const hostEnd = rest.startsWith('[') || rest.includes('@[') ? rest.indexOf('/', rest.indexOf(']')) : rest.indexOf('/');
  if (hostEnd <= 0) throw new BazilError('INVALID_ARGUMENT', `"${url}" has no path: ${SFTP_HELP}`);
  const path = rest.slice(hostEnd);
  if (path === '/' ) throw new BazilError('INVALID_ARGUMENT', `"${url}" names the server's root directory; give the store a directory of its own: ${SFTP_HELP}`);
  return { destination: rest.slice(0, hostEnd), path: path.replace(/\/+$/, '') };
}

export const sftpOpener: SftpOpener = (url, options = {}) => {
  const { destination, path } = splitUrl(url);
  const home = homedir();
  const target = resolveTarget(destination, home);
  const host = target.alias.includes(':') ? `[${target.alias}]` : target.alias;
  return {
    name: `sftp://${target.user}@${host}${target.port === 22 ? '' : `:${target.port}`}${path}`,
    root: path,
    connect: async () => {
      const session = await openSsh(target, { home, yes: options.yes === true, terminal: undefined, say: options.say ?? (() => {}) });
      return { client: session.client, close: () => session.close() };
    },
  };
};
