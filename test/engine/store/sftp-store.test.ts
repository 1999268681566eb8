/**
 * The store suite against sftp:// stores on a real OpenSSH sshd started on
 * loopback, reached as `bazil pair` reaches a server (the server layer's
 * opener: known_hosts checked, key from ~/.ssh). Unplugging stops the sshd
 * and drops its connections.
 */
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SftpStore } from '../../../src/engine/store/sftp-store.js';
import { sftpOpener } from '../../../src/server/sftp-connect.js';
import { startSshd, sshdUnavailable } from '../../helpers/sshd.js';
import { tempDir } from '../../helpers.js';
import { storeSuite } from './store-suite.js';

delete process.env.SSH_AUTH_SOCK; // the key file, not whatever agent the runner has

storeSuite('sftp', {
  cannotRun: sshdUnavailable,
  unavailableWithinMs: 10_000,
  async make(t) {
    const root = tempDir(t, 'bazil-sftp-store-');
    const sshd = await startSshd(t, join(root, 'sshd'));
    const home = join(root, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });
    copyFileSync(join(sshd.dir, 'client_key'), join(home, '.ssh', 'id_ed25519'));
    chmodSync(join(home, '.ssh', 'id_ed25519'), 0o600);
    // The server's host key, known as `ssh` would have recorded it.
    const [type, key] = readFileSync(join(sshd.dir, 'host_key.pub'), 'utf8').split(' ');
    writeFileSync(join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${sshd.port} ${type} ${key}\n`);
    process.env.HOME = home;
    const dir = join(root, 'store');
    const at = sftpOpener(`sftp://root@127.0.0.1:${sshd.port}${dir}`);
    const store = new SftpStore(at.name, at.root, at.connect, 3_000);
    await store.init();
    t.after(() => store.close());
    return {
      store,
      async interruptPut(id, bytes) {
        const put = store.put(id, bytes);
        put.catch(() => {});
        const tmp = join(dir, 'tmp');
        while (!readdirSync(tmp).some((f) => statSync(join(tmp, f), { throwIfNoEntry: false })?.size)) {
          await new Promise((r) => setTimeout(r, 1));
        }
        await store.close(); // the connection drops half way
        if (await put.then(() => true, () => false)) throw new Error('the put finished before it could be interrupted');
      },
      objectFile(id) {
        const hex = id.toString('hex');
        return join(dir, 'objects', hex.slice(0, 2), hex.slice(2));
      },
      unplug: () => sshd.stop(),
    };
  },
});
