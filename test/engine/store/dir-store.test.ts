/** The store suite against `dir:` stores in a directory; unplugging one takes its directory away. */
import { spawn } from 'node:child_process';
import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirStore, initDirStore } from '../../../src/engine/store/dir-store.js';
import { tempDir } from '../../helpers.js';
import { storeSuite } from './store-suite.js';

const DIR_STORE_JS = fileURLToPath(new URL('../../../src/engine/store/dir-store.js', import.meta.url));

/** Runs a put in another process and kills it (-9) once its temp file has some bytes. */
async function killedPut(id: string, path: string, hex: string, size: number): Promise<void> {
  const script = `import { DirStore } from ${JSON.stringify(DIR_STORE_JS)};
    await new DirStore(${JSON.stringify(id)}, ${JSON.stringify(path)}).put(Buffer.from(${JSON.stringify(hex)}, 'hex'), Buffer.alloc(${size}, 7));
    process.stdout.write('done');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const tmp = join(path, 'tmp');
  for (;;) {
    const partial = readdirSync(tmp).filter((f) => f.startsWith('obj-')).some((f) => {
      try {
        return statSync(join(tmp, f)).size > 0;
      } catch {
        return false;
      }
    });
    if (partial || child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 1));
  }
  child.kill('SIGKILL');
  await closed;
  if (out === 'done') throw new Error('the put finished before it could be interrupted');
}

storeSuite('dir', {
  cannotRun: () => undefined,
  unavailableWithinMs: 5_000,
  async make(t) {
    const path = tempDir(t, 'bazil-dir-store-');
    const sid = await initDirStore(path);
    const store = new DirStore(sid, path, 2_000);
    return {
      store,
      interruptPut: (id, bytes) => killedPut(sid, path, id.toString('hex'), bytes.length),
      objectFile(id) {
        const hex = id.toString('hex');
        return join(path, 'objects', hex.slice(0, 2), hex.slice(2));
      },
      async unplug() {
        renameSync(path, `${path}-unplugged`);
        t.after(() => rmSync(`${path}-unplugged`, { recursive: true, force: true }));
      },
    };
  },
});
