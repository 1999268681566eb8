/**
 * The import rules of DESIGN.md ("Source layout"), checked by
 * dependency-cruiser with .dependency-cruiser.cjs: the engine imports none of
 * server, fuse, cli, tui; the CLI and the TUI use the control API only; clock
 * and reconcile stay pure; no import cycles. The second test proves each rule
 * is live, on a small tree that breaks them all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

function cruise(cwd: string): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [DEPCRUISE, 'src', '--config', CONFIG, '--no-progress'], { cwd, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the source tree keeps its import rules (dependency-cruiser)', () => {
  const { code, out } = cruise(ROOT);
  assert.equal(code, 0, out);
});

test('each import rule fails a tree that breaks it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bazil-imports-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files: Record<string, string> = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
    'src/server/server.ts': "export const s = 1;\n",
    'src/engine/errors.ts': "export const e = 1;\n",
    'src/engine/tree/tree.ts': "export const t = 1;\n",
    'src/engine/db/open.ts': "export const d = 1;\n",
    'src/engine/control/client.ts': "export const c = 1;\n",
    // engine-stays-below
    'src/engine/node/node.ts': "import { s } from '../../server/server.js';\nexport const n = s;\n",
    // clients-use-control-api (and what it allows)
    'src/cli/main.ts': "import { t } from '../engine/tree/tree.js';\nimport { c } from '../engine/control/client.js';\nimport { e } from '../engine/errors.js';\nexport const m = t + c + e;\n",
    // clock-and-reconcile-pure
    'src/engine/clock/vector.ts': "import { d } from '../db/open.js';\nexport const v = d;\n",
    // fuse-below-server
    'src/fuse/volume-fs.ts': "import { s } from '../server/server.js';\nexport const f = s;\n",
    // no-circular
    'src/engine/sync/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
    'src/engine/sync/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const { code, out } = cruise(dir);
  assert.notEqual(code, 0, out);
  assert.match(out, /engine-stays-below: src\/engine\/node\/node\.ts → src\/server\/server\.ts/);
  assert.match(out, /clients-use-control-api: src\/cli\/main\.ts → src\/engine\/tree\/tree\.ts/);
  assert.doesNotMatch(out, /clients-use-control-api: src\/cli\/main\.ts → src\/engine\/(control|errors)/);
  assert.match(out, /clock-and-reconcile-pure: src\/engine\/clock\/vector\.ts → src\/engine\/db\/open\.ts/);
  assert.match(out, /fuse-below-server: src\/fuse\/volume-fs\.ts → src\/server\/server\.ts/);
  assert.match(out, /no-circular: src\/engine\/sync\/a\.ts/);
});
