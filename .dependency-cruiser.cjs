/**
 * The import rules of the source tree (DESIGN.md, "Source layout"): arrows
 * point down only. test/imports.test.ts runs dependency-cruiser with this
 * file and fails on any violation not listed in `knownViolations` below; by
 * hand: npx depcruise src --config .dependency-cruiser.cjs
 */

/**
 * What the CLI and the TUI may import of the engine and the server: the
 * control API (methods, events, the socket client), the one error type, how
 * names are checked and shown (names.ts: one spelling of file names everywhere),
 * and the process they host for `bazil server run`. The in-process API (commands
 * run with no server) is to come through one entry, src/engine/api.ts.
 */
const CLIENT_API = [
  '^src/engine/control/',
  '^src/engine/events[.]ts$',
  '^src/engine/errors[.]ts$',
  '^src/engine/names[.]ts$',
  '^src/engine/api[.]ts$',
  '^src/server/server[.]ts$',
];

/**
 * Imports that break the rules today, each named: listed so the check holds
 * against anything new while they are being removed. Delete a line as soon as
 * its import is gone (an entry that no longer occurs changes nothing, so keep
 * the list honest by hand).
 */
const KNOWN = [
  // The CLI reaching past the control API (issue 12, client side: one typed API, in process or over the socket).
  ...[
    ['src/cli/create.ts', 'src/engine/datadir.ts'],
    ['src/cli/main.ts', 'src/engine/datadir.ts'],
    ['src/cli/peer.ts', 'src/engine/peer/peers.ts'],
    ['src/cli/peer.ts', 'src/engine/store/sharing.ts'],
    ['src/cli/server.ts', 'src/engine/datadir.ts'],
    ['src/cli/sharing.ts', 'src/engine/store/sharing.ts'],
    ['src/cli/status.ts', 'src/engine/datadir.ts'],
    ['src/cli/sync.ts', 'src/engine/store/sharing.ts'],
    ['src/cli/use-datadir.ts', 'src/engine/datadir.ts'],
    ['src/cli/volume.ts', 'src/engine/store/sharing.ts'],
    ['src/cli/volume.ts', 'src/server/mount-points.ts'],
    // The commands that need no server run the server's own method table in process (one
    // implementation); that table belongs in the engine, behind the in-process API's one entry.
    ['src/cli/use-datadir.ts', 'src/server/methods.ts'],
    // "Next:" hints name the data dir unless it is the default one.
    ['src/cli/format.ts', 'src/engine/datadir.ts'],
  ].map(([from, to]) => ({ type: 'dependency', from, to, rule: { severity: 'error', name: 'clients-use-control-api' } })),
  // Cycles (issue 12, client side): the control methods and the sync methods import each other; help is loaded by the command list it is in.
  ...[
    ['src/server/methods.ts', 'src/server/sync-methods.ts'],
    ['src/cli/commands.ts', 'src/cli/help.ts'],
  ].map(([from, to]) => ({ type: 'cycle', from, to, cycle: [from, to].map((name) => ({ name, dependencyTypes: [] })), rule: { severity: 'error', name: 'no-circular' } })),
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle ties modules that should be layered; break it by moving what both need down.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'engine-stays-below',
      comment: 'The engine is everything that is Bazil\'s logic: it imports none of the process (server), the FUSE edge, the CLI or the TUI.',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: '^src/(server|fuse|cli|tui|bootstrap)/' },
    },
    {
      name: 'engine-without-fuse',
      comment: 'No FUSE in the engine: the FUSE edge is src/fuse/.',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: 'node_modules/fuse-native/' },
    },
    {
      name: 'fuse-below-server',
      comment: 'The FUSE edge adapts the engine\'s tree to the kernel; the server wires it, not the other way round.',
      severity: 'error',
      from: { path: '^src/fuse/' },
      to: { path: '^src/(server|cli|tui|bootstrap)/' },
    },
    {
      name: 'clients-use-control-api',
      comment: 'The CLI and the TUI are clients: they use the control API, never the engine\'s or the server\'s internals.',
      severity: 'error',
      from: { path: '^src/(cli|tui)/' },
      to: { path: '^src/(engine|server|fuse)/', pathNot: CLIENT_API },
    },
    {
      name: 'clock-and-reconcile-pure',
      comment: 'clock/ and sync/reconcile.ts are pure functions of their inputs: they import only clock/.',
      severity: 'error',
      from: { path: '^src/engine/(clock/|sync/reconcile[.]ts$)' },
      to: { pathNot: '^src/engine/clock/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.tsx', '.js'] },
    knownViolations: KNOWN,
  },
};
