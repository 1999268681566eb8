/** Runs test/bootstrap/mdns-fixture.ts in a network namespace and reads the JSON lines it prints. */
import type { ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Netns } from '../helpers/netns.js';

const FIXTURE = fileURLToPath(new URL('./mdns-fixture.js', import.meta.url));

export interface FixtureProcess {
  child: ChildProcess;
  /** Resolves with the first printed line pick() maps to a value (polling), or rejects after ms. */
  waitFor<T>(pick: (line: Record<string, unknown>) => T | undefined, what: string, ms?: number): Promise<T>;
  /** Closes its stdin: it ends what it does (says goodbye) and exits. */
  end(): void;
  exited: Promise<number | null>;
}

/** Starts the fixture in ns; killed at the end of the test if still running. */
export function fixture(t: TestContext, ns: Netns, args: string[]): FixtureProcess {
  const child = ns.spawn(process.execPath, [FIXTURE, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  const lines = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    child,
    exited,
    end: () => child.stdin!.end(),
    async waitFor(pick, what, ms = 15_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        for (const line of lines()) {
          const found = pick(line);
          if (found !== undefined) return found;
        }
        if (Date.now() > deadline) throw new Error(`no ${what} within ${ms / 1000} s; printed:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
