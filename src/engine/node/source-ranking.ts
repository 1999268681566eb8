/**
 * Which source to ask first for an object: the one expected to answer
 * soonest. Each source's fetches are timed (a moving average of seconds per
 * object, so latency and throughput both count) and the fetches already in
 * flight to it are counted, so parallel reads spread over several fast peers
 * rather than queueing on one. The content store asks the sources in this
 * order and falls back to the next on a failure.
 *
 * A source never measured is tried early (it may be the fast one), but only
 * one fetch at a time until its first answer. A failure counts as a very slow
 * fetch (one that lacks the object answers NOT_FOUND: only its time counts):
 * the source goes to the back, still there as a fallback. A measure
 * older than STALE_MS no longer keeps a source at the back, so a peer that
 * was slow (or down) is tried again once in a while.
 */
import { isBazilError } from '../errors.js';
import type { ObjectSource } from '../store/content.js';

/** What a source not yet measured is assumed to take, per object, when idle: fast enough to be tried. */
const UNMEASURED_S = 0.005;
/** What a source still answering its first fetch is assumed to take: after every measured one. */
const FIRST_ANSWER_S = 1;
/** A failed fetch counts as this slow. */
const FAILED_S = 5;
/** Weight of the newest fetch in the moving average. */
const ALPHA = 0.3;
/** Past this age a measure stops holding a source back. */
const STALE_MS = 30_000;

interface Measure {
  /** Moving average of seconds per object; undefined before the first answer. */
  seconds?: number;
  /** When the last fetch ended (ms). */
  at: number;
  inFlight: number;
}

export class SourceRanking {
  private readonly measures = new Map<string, Measure>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The sources, soonest expected first, each timed as it is used. */
  rank(sources: ObjectSource[]): ObjectSource[] {
    const expected = new Map(sources.map((s) => [s, this.expected(s.store)]));
    // sort is stable: equal expectations keep the order the volume lists its stores in.
    return [...sources].sort((a, b) => expected.get(a)! - expected.get(b)!).map((s) => this.timed(s));
  }

  /** Seconds the next fetch from this store is expected to take, counting the ones queued before it. */
  expected(store: string): number {
    const m = this.measures.get(store);
    if (!m || m.seconds === undefined) return m?.inFlight ? FIRST_ANSWER_S * (m.inFlight + 1) : UNMEASURED_S;
    const seconds = this.now() - m.at > STALE_MS ? Math.min(m.seconds, UNMEASURED_S) : m.seconds;
    return seconds * (m.inFlight + 1);
  }

  private timed(source: ObjectSource): ObjectSource {
    return {
      ...source,
      get: async (id) => {
        const m = this.measure(source.store);
        m.inFlight++;
        const start = this.now();
        const took = (failed: boolean) => {
          m.inFlight--;
          const seconds = failed ? FAILED_S : (this.now() - start) / 1000;
          m.seconds = m.seconds === undefined ? seconds : m.seconds + ALPHA * (seconds - m.seconds);
          m.at = this.now();
        };
        try {
          const got = await source.get(id);
          took(false);
          return got;
        } catch (err) {
          took(!isBazilError(err, 'NOT_FOUND'));
          throw err;
        }
      },
    };
  }

  private measure(store: string): Measure {
    let m = this.measures.get(store);
    if (!m) this.measures.set(store, (m = { at: 0, inFlight: 0 }));
    return m;
  }
}
