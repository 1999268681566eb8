/**
 * Keeps the model fed from the server: connects (and reconnects), subscribes
 * to the event stream, and asks the list methods again when an event says
 * their answer changed (debounced: a burst of events is one refresh), plus a
 * slow poll for what changes without events (cache use, last seen).
 */
import type { ControlApi, MethodName, Params, Result, Subscription } from '../engine/control/api.js';
import { connectControl, type EventHandler } from '../engine/control/client.js';
import type { BazilEvent } from '../engine/events.js';
import { BazilError } from '../engine/errors.js';
import { dropStaleFetches, type Model } from './model.js';

/** A connection to a server: calls, and one event subscription. */
export interface ServerLink {
  api: ControlApi;
  subscribe(params: Params<'events.subscribe'>, handler: EventHandler): Promise<Subscription>;
  close(): void;
}

/** Connects to the server; undefined when none runs. */
export type Connector = () => Promise<ServerLink | undefined>;

/** The data dir's server over its control socket: one connection for calls, one for events. */
export function socketConnector(dataDir: string): Connector {
  return async () => {
    const calls = await connectControl(dataDir);
    if (!calls) return undefined;
    const events = await connectControl(dataDir).catch(() => undefined);
    if (!events) {
      calls.close();
      return undefined;
    }
    return {
      api: calls,
      subscribe: (params, handler) => events.subscribe(params, handler),
      close: () => {
        calls.close();
        events.close();
      },
    };
  };
}

export type Topic = 'status' | 'conflicts' | 'cache' | 'pins' | 'nearby';
const ALL: Topic[] = ['status', 'conflicts', 'cache', 'pins', 'nearby'];

/** Which answers an event makes stale. */
export function topicsOf(e: BazilEvent): Topic[] {
  switch (e.type) {
    case 'conflict.found':
    case 'conflict.resolved':
      return ['status', 'conflicts'];
    case 'sync.finished':
    case 'peer.connected':
    case 'peer.disconnected':
    case 'peer.location':
    case 'mount.added':
    case 'mount.removed':
    case 'mount.died':
    case 'invite.joined':
      return ['status'];
    case 'peer.nearby':
      return ['nearby'];
    case 'fetch.progress':
      return ['cache', 'pins'];
    default:
      return [];
  }
}

export interface FeedOptions {
  /** How soon after an event its answers are asked again (events coming meanwhile join in). */
  debounceMs?: number;
  /** How often everything is asked again anyway. */
  pollMs?: number;
  /** How often to try again while no server answers. */
  retryMs?: number;
}

export class Feed {
  private link?: ServerLink;
  private stale = new Set<Topic>();
  private refreshTimer?: NodeJS.Timeout;
  private pollTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private changeQueued = false;
  private stopped = false;
  /** Where the event stream stands, to resume after a reconnect. */
  private resume: { since: number; instance?: string } = { since: 0 };
  private readonly opts: Required<FeedOptions>;

  constructor(
    private readonly model: Model,
    private readonly connect: Connector,
    opts: FeedOptions = {},
  ) {
    this.opts = { debounceMs: 250, pollMs: 5000, retryMs: 2000, ...opts };
  }

  /** The control API of the server, as long as one answers; the error says what to do when none does. */
  readonly api: ControlApi = {
    call: <M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> => {
      if (!this.link) return Promise.reject(new BazilError('NOT_FOUND', 'the bazil server is not running: press S to start it (or run `bazil server start`)'));
      return this.link.api.call(method, params);
    },
  };

  async start(): Promise<void> {
    this.stopped = false;
    await this.tryConnect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.refreshTimer);
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    this.link?.close();
    this.link = undefined;
  }

  /** Connects now if no server was answering (after it was started). */
  async reconnect(): Promise<void> {
    clearTimeout(this.retryTimer);
    if (!this.link) await this.tryConnect();
  }

  /** Asks for these answers again soon (all when none named). */
  refresh(topics: Topic[] = ALL): void {
    for (const t of topics) this.stale.add(t);
    if (this.refreshTimer || !this.link) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.fetch();
    }, this.opts.debounceMs);
  }

  private async tryConnect(): Promise<void> {
    if (this.stopped) return;
    let link: ServerLink | undefined;
    try {
      link = await this.connect();
    } catch (err) {
      this.down(`cannot reach the bazil server: ${(err as Error).message}`);
      return;
    }
    if (!link) return this.down('not running');
    if (this.stopped) return link.close();
    this.link = link;
    try {
      const server = await link.api.call('ping', {});
      const sub = await link.subscribe({ ...this.resume }, {
        event: (e) => {
          this.resume.since = e.seq;
          this.model.apply(e);
          for (const t of topicsOf(e.event)) this.stale.add(t);
          this.queueChange();
        },
        end: () => {
          if (this.link === link) this.lost(link);
        },
      });
      this.resume.instance = sub.instance;
      this.model.setLink({ state: 'up', server });
    } catch (err) {
      this.lost(link, (err as Error).message);
      return;
    }
    this.pollTimer = setInterval(() => {
      if (dropStaleFetches(this.model)) this.model.changed();
      this.refresh(['status', 'cache', 'pins', 'nearby']);
    }, this.opts.pollMs);
    this.refresh();
  }

  private lost(link: ServerLink, why = 'stopped'): void {
    link.close();
    if (this.link === link) this.link = undefined;
    clearInterval(this.pollTimer);
    this.down(why);
  }

  private down(why: string): void {
    this.model.setLink({ state: 'down', why });
    if (!this.stopped) this.retryTimer = setTimeout(() => void this.tryConnect(), this.opts.retryMs);
  }

  /** One model change per turn of the event loop, however many events came in it. */
  private queueChange(): void {
    if (this.changeQueued) return;
    this.changeQueued = true;
    setImmediate(() => {
      this.changeQueued = false;
      this.model.changed();
      if (this.stale.size) this.refresh([]);
    });
  }

  private async fetch(): Promise<void> {
    const topics = [...this.stale];
    this.stale.clear();
    const api = this.link?.api;
    if (!api) return;
    const ask = async <T>(call: () => Promise<T>): Promise<{ value?: T; error?: string }> => {
      try {
        return { value: await call() };
      } catch (err) {
        return { error: (err as Error).message };
      }
    };
    await Promise.all(
      topics.map(async (t) => {
        switch (t) {
          case 'status':
            return this.model.set('status', await ask(() => api.call('status', {})));
          case 'conflicts':
            this.model.set('conflicts', await ask(() => api.call('conflicts.list', {})));
            if (this.model.showResolved) this.model.set('allConflicts', await ask(() => api.call('conflicts.list', { all: true })));
            return;
          case 'cache':
            return this.model.set('cache', await ask(() => api.call('cache.show', {})));
          case 'pins':
            return this.model.set('pins', await ask(() => api.call('pin.list', {})));
          case 'nearby':
            return this.model.set('nearby', await ask(() => api.call('peer.nearby', {})));
        }
      }),
    );
  }
}
