/**
 * What a connection costs before it has proven a key: anyone who reaches the
 * peer port can open one, and each makes the server compute a key exchange and
 * a signature and maybe write a log line. Both are limited per source address
 * here, so a flood from one address neither starves the main thread nor
 * drowns the log (nor fills the disk behind it).
 */

/** Handshakes one address may have in progress at once: a real peer has one or two. */
export const MAX_HANDSHAKES_PER_ADDRESS = 8;
/** Handshakes in progress at once from everywhere: each holds a socket and a timer for up to 10 s. */
export const MAX_HANDSHAKES = 64;
/** New connections an address may open in a burst, then RATE_PER_SECOND: reconnects after a drop fit easily. */
export const BURST_PER_ADDRESS = 20;
export const RATE_PER_SECOND = 5;
/** Log lines about unauthenticated connections from one address, per window; further ones are counted, not written. */
export const LOG_LINES_PER_ADDRESS = 5;
/** The same, from all addresses together: many addresses (an IPv6 prefix, say) must not flood the log either. */
export const LOG_LINES_TOTAL = 100;
export const LOG_WINDOW_MS = 60_000;
/** Per-address state is kept for at most this many addresses; idle ones are forgotten first. */
const MAX_TRACKED = 4096;

interface AddressState {
  tokens: number;
  /** When tokens was last brought up to date. */
  at: number;
  active: number;
}

export class HandshakeAdmission {
  private readonly addresses = new Map<string, AddressState>();
  private active = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Whether a new connection from address may start a handshake; if so, call done(address) once it ends. */
  admit(address: string): boolean {
    if (this.active >= MAX_HANDSHAKES) return false;
    const state = this.stateOf(address);
    if (state.active >= MAX_HANDSHAKES_PER_ADDRESS || state.tokens < 1) return false;
    state.tokens -= 1;
    state.active += 1;
    this.active += 1;
    return true;
  }

  /** A handshake admitted for address has ended (proven, refused or dropped). */
  done(address: string): void {
    const state = this.addresses.get(address);
    if (!state || state.active === 0) return;
    state.active -= 1;
    this.active -= 1;
  }

  private stateOf(address: string): AddressState {
    const t = this.now();
    let state = this.addresses.get(address);
    if (!state) {
      if (this.addresses.size >= MAX_TRACKED) this.forgetIdle(t);
      state = { tokens: BURST_PER_ADDRESS, at: t, active: 0 };
      this.addresses.set(address, state);
    }
    state.tokens = Math.min(BURST_PER_ADDRESS, state.tokens + ((t - state.at) / 1000) * RATE_PER_SECOND);
    state.at = t;
    return state;
  }

  /** Drops addresses with no handshake in progress whose bucket has refilled: they would start the same anyway. */
  private forgetIdle(t: number): void {
    for (const [address, s] of this.addresses) {
      if (s.active === 0 && s.tokens + ((t - s.at) / 1000) * RATE_PER_SECOND >= BURST_PER_ADDRESS) this.addresses.delete(address);
    }
  }
}

/**
 * Passes at most LOG_LINES_PER_ADDRESS lines per address, and LOG_LINES_TOTAL
 * in all, per window to log; how many were held back is said by one line when
 * the address (or, for the total, any address) is next heard from after the
 * window.
 */
export class AddressLogLimiter {
  private readonly windows = new Map<string, { start: number; lines: number; held: number }>();
  private total = { start: 0, lines: 0, held: 0 };

  constructor(
    private readonly log: (line: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  line(address: string, line: string): void {
    const t = this.now();
    if (t - this.total.start >= LOG_WINDOW_MS) {
      if (this.total.held > 0) this.log(`left out ${this.total.held} lines about connections from many addresses`);
      this.total = { start: t, lines: 0, held: 0 };
    }
    let w = this.windows.get(address);
    if (w && t - w.start >= LOG_WINDOW_MS) {
      this.flush(address, w);
      w = undefined;
    }
    if (!w) {
      if (this.windows.size >= MAX_TRACKED) this.forgetOld(t);
      if (this.windows.size >= MAX_TRACKED) {
        this.total.held += 1; // too many addresses at once to count each: the line goes uncounted by address
        return;
      }
      w = { start: t, lines: 0, held: 0 };
      this.windows.set(address, w);
    }
    if (w.lines < LOG_LINES_PER_ADDRESS && this.total.lines >= LOG_LINES_TOTAL) {
      this.total.held += 1;
    } else if (w.lines < LOG_LINES_PER_ADDRESS) {
      w.lines += 1;
      this.total.lines += 1;
      this.log(line);
      if (this.total.lines === LOG_LINES_TOTAL) this.log(`more lines about connections from any address in the next ${LOG_WINDOW_MS / 1000} s are left out`);
      else if (w.lines === LOG_LINES_PER_ADDRESS) this.log(`more lines about connections from ${address} in the next ${LOG_WINDOW_MS / 1000} s are left out`);
    } else {
      w.held += 1;
    }
  }

  private flush(address: string, w: { held: number }): void {
    this.windows.delete(address);
    if (w.held > 0) this.log(`left out ${w.held} lines about connections from ${address}`);
  }

  private forgetOld(t: number): void {
    for (const [address, w] of this.windows) if (t - w.start >= LOG_WINDOW_MS) this.flush(address, w);
  }
}
