import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { BazilError, isBazilError } from '../../../src/engine/errors.js';
import { identityFromSeed } from '../../../src/engine/peer/identity.js';
import { acceptPeer, dialPeer, MAX_OUTSTANDING_CALLS, MAX_SERVING, REQUEST_BYTES_IN_FLIGHT, type PeerConnection, type PeerHandler } from '../../../src/engine/peer/connection.js';
import { clientHandshake, MAGIC } from '../../../src/engine/peer/handshake.js';
import { ByteQueue, encodeRecord, lengthPrefix, MAX_SEALED } from '../../../src/engine/peer/frames.js';

const serverId = identityFromSeed(randomBytes(32));
const clientId = identityFromSeed(randomBytes(32));
const strangerId = identityFromSeed(randomBytes(32));
const HANDSHAKE_TIMEOUT_MS = 300;
const STALL_TIMEOUT_MS = 300;

/** Requests of the "hold" method being handled now, the most at once, and how to let them all answer. */
const held = { now: 0, most: 0, started: 0, release: [] as (() => void)[] };
function releaseHeld(): void {
  for (const r of held.release.splice(0)) r();
}
/** Answers of the "big" method the handler has made. */
let bigAnswers = 0;

/** The server's log, with a way to wait for a line. */
class Log {
  readonly lines: string[] = [];
  private waiters: { re: RegExp; resolve(line: string): void }[] = [];

  readonly add = (line: string): void => {
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (!w.re.test(line)) return true;
      w.resolve(line);
      return false;
    });
  };

  /** The next line (from now on) that matches. */
  next(re: RegExp): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line matched ${re}; got:\n${this.lines.join('\n')}`)), 2000);
      this.waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }
}

const handle: PeerHandler = async ({ method, params, body, binding }) => {
  switch (method) {
    case 'echo':
      return { result: params, ...(body ? { body: Buffer.from(body).reverse() } : {}) };
    case 'slow':
      await new Promise((r) => setTimeout(r, Number(params.ms)));
      return { result: params.tag };
    case 'fail':
      throw new BazilError('CONFLICT', 'the two versions disagree; pick one');
    case 'binding':
      return { result: binding.toString('hex') };
    case 'hold':
      held.started += 1;
      held.most = Math.max(held.most, ++held.now);
      await new Promise<void>((r) => held.release.push(r));
      held.now -= 1;
      return { result: params.n };
    case 'big':
      bigAnswers += 1;
      return { result: {}, body: Buffer.alloc(4 << 20) };
    case 'crash':
      throw new Error('secret detail at /home/someone/.bazil');
    default:
      throw new BazilError('INVALID_ARGUMENT', `no method ${method}`);
  }
};

let server: Server;
let port: number;
const log = new Log();
const accepted: PeerConnection[] = [];
const sockets = new Set<Socket>();

before(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    acceptPeer(socket, {
      identity: serverId,
      isKnown: (key) => key.equals(clientId.publicKey),
      handle,
      log: log.add,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      stallTimeoutMs: STALL_TIMEOUT_MS,
      onConnection: (conn) => accepted.push(conn),
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

function dial(opts: Partial<Parameters<typeof dialPeer>[0]> = {}): Promise<PeerConnection> {
  return dialPeer({ host: '127.0.0.1', port, identity: clientId, expectKey: serverId.publicKey, ...opts });
}

/** A good client still gets served. */
async function stillServes(): Promise<void> {
  const conn = await dial();
  try {
    assert.deepEqual((await conn.call('echo', { still: 'here' })).result, { still: 'here' });
  } finally {
    conn.close();
  }
}

async function rawSocket(): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  return socket;
}

/** A raw socket that has done a valid handshake, for sending hand-made frames. */
async function handshaken(): Promise<{ socket: Socket; session: Awaited<ReturnType<typeof clientHandshake>> }> {
  const socket = await rawSocket();
  const session = await clientHandshake(socket, { identity: clientId, expectKey: serverId.publicKey, where: `127.0.0.1:${port}` });
  socket.resume(); // to see the server close it
  socket.on('error', () => {});
  return { socket, session };
}

test('both ends share a channel binding that no other connection has', async () => {
  const a = await dial();
  const b = await dial();
  try {
    const seenA = (await a.call<string>('binding')).result;
    assert.equal(a.binding.length, 32);
    assert.equal(seenA, a.binding.toString('hex'));
    assert.notEqual((await b.call<string>('binding')).result, seenA);
  } finally {
    a.close();
    b.close();
  }
});

test('a call carries params and a 4 MiB body both ways', async () => {
  const conn = await dial();
  try {
    assert.ok(conn.remoteKey.equals(serverId.publicKey));
    assert.match(conn.remoteAddress, /^127\.0\.0\.1:\d+$/);
    const body = randomBytes(4 * 1024 * 1024);
    const { result, body: back } = await conn.call('echo', { name: 'x', n: 3, nested: { ok: true } }, body);
    assert.deepEqual(result, { name: 'x', n: 3, nested: { ok: true } });
    assert.ok(back && back.equals(Buffer.from(body).reverse()));
    // No body stays no body; an empty one stays empty.
    assert.equal((await conn.call('echo', {})).body, undefined);
    assert.deepEqual((await conn.call('echo', {}, Buffer.alloc(0))).body, Buffer.alloc(0));
    assert.ok(accepted.some((c) => c.remoteKey.equals(clientId.publicKey)));
  } finally {
    conn.close();
  }
});

test('calls run concurrently and answers come back in any order', async () => {
  const conn = await dial();
  try {
    const order: string[] = [];
    const slow = conn.call('slow', { ms: 150, tag: 'slow' }).then((r) => order.push(r.result as string));
    const fast = conn.call('slow', { ms: 10, tag: 'fast' }).then((r) => order.push(r.result as string));
    const many = Promise.all(Array.from({ length: 50 }, (_, i) => conn.call('echo', { i })));
    const results = await many;
    assert.deepEqual(
      results.map((r) => r.result),
      Array.from({ length: 50 }, (_, i) => ({ i })),
    );
    await Promise.all([slow, fast]);
    assert.deepEqual(order, ['fast', 'slow']);
  } finally {
    conn.close();
  }
});

test("a handler's error arrives with its code and message; other errors as INTERNAL without details", async () => {
  const conn = await dial();
  try {
    await assert.rejects(conn.call('fail'), (err) => isBazilError(err, 'CONFLICT') && err.message === 'the two versions disagree; pick one');
    const line = log.next(/internal error answering "crash"/);
    await assert.rejects(conn.call('crash'), (err) => isBazilError(err, 'INTERNAL') && !err.message.includes('secret'));
    assert.match(await line, /secret detail/); // the details stay in the server's log
    // The connection is still good.
    assert.deepEqual((await conn.call('echo', { a: 1 })).result, { a: 1 });
  } finally {
    conn.close();
  }
});

test('the server can call the client over the same connection', async () => {
  const conn = await dial({
    identity: clientId,
    handle: async ({ peer, method, params }) => ({ result: { method, params, from: peer.toString('hex') } }),
  });
  try {
    const back = accepted.filter((c) => c.remoteKey.equals(clientId.publicKey)).at(-1)!;
    const { result } = await back.call('notify', { volume: 'v' });
    assert.deepEqual(result, { method: 'notify', params: { volume: 'v' }, from: serverId.publicKey.toString('hex') });
    // And both directions at once.
    const [a, b] = await Promise.all([conn.call('echo', { x: 1 }), back.call('notify', { y: 2 })]);
    assert.deepEqual(a.result, { x: 1 });
    assert.deepEqual((b.result as { params: unknown }).params, { y: 2 });
  } finally {
    conn.close();
  }
});

test('pending calls reject when the connection closes; a call can time out', async () => {
  const conn = await dial();
  await assert.rejects(conn.call('slow', { ms: 300, tag: 't' }, undefined, 30), (err) => isBazilError(err, 'NOT_FOUND') && /did not answer "slow"/.test(err.message));
  const pending = conn.call('slow', { ms: 300, tag: 't' });
  setTimeout(() => conn.close(), 20);
  await assert.rejects(pending, (err) => isBazilError(err, 'NOT_FOUND') && /closed/.test(err.message));
  await conn.closed;
  await assert.rejects(conn.call('echo'), (err) => isBazilError(err, 'NOT_FOUND'));
});

test('an unknown client key is refused, and a known client still gets in', async () => {
  const hex = strangerId.publicKey.toString('hex');
  const line = log.next(/refused a peer connection/);
  await assert.rejects(
    dial({ identity: strangerId }),
    (err) => isBazilError(err, 'UNAUTHORIZED') && err.message.includes(`bazil peer add ${hex}`) && /does not know/.test(err.message),
  );
  assert.match(await line, new RegExp(`^refused a peer connection from ${hex} at 127\\.0\\.0\\.1:\\d+: unknown key; add it with \`bazil peer add ${hex}\`$`));
  await stillServes();
});

test('a client that expects another key refuses the server', async () => {
  await assert.rejects(dial({ expectKey: strangerId.publicKey }), (err) => isBazilError(err, 'UNAUTHORIZED') && /not the peer you meant to reach/.test(err.message));
  await stillServes();
});

test('a peer that is not running is reported as NOT_FOUND', async () => {
  const idle = createServer();
  idle.listen(0, '127.0.0.1');
  await once(idle, 'listening');
  const freePort = (idle.address() as AddressInfo).port;
  await new Promise((r) => idle.close(r));
  await assert.rejects(dial({ port: freePort }), (err) => isBazilError(err, 'NOT_FOUND') && /cannot reach peer .* is its server running\?/.test(err.message));
});

test('a dial under way gives up at once when aborted', async () => {
  const silentSockets: Socket[] = [];
  const silent = createServer((s) => void silentSockets.push(s)); // accepts, never answers the handshake
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  try {
    const stop = new AbortController();
    const dialing = dial({ port: (silent.address() as AddressInfo).port, signal: stop.signal, timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 100));
    stop.abort(new Error('the server is stopping'));
    await assert.rejects(dialing, (err) => isBazilError(err, 'NOT_FOUND') && /the server is stopping/.test(err.message));
    await assert.rejects(dial({ signal: stop.signal }), /did not connect to .*the server is stopping/);
  } finally {
    for (const s of silentSockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

test('garbage instead of the magic is dropped', async () => {
  const line = log.next(/during the handshake: .*does not speak the bazil peer protocol/);
  const socket = await rawSocket();
  socket.on('error', () => {});
  socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await Promise.all([line, once(socket, 'close')]);
  await stillServes();
});

test('a truncated handshake is dropped', async () => {
  const line = log.next(/during the handshake: the connection closed in the middle of the handshake/);
  const socket = await rawSocket();
  socket.on('error', () => {});
  socket.end(Buffer.concat([MAGIC, encodeRecord(randomBytes(32)).subarray(0, 20)]));
  await Promise.all([line, once(socket, 'close')]);
  await stillServes();
});

test('a handshake message over the cap is dropped', async () => {
  const line = log.next(/during the handshake: a record of \d+ bytes is over the limit/);
  const socket = await rawSocket();
  socket.on('error', () => {});
  socket.write(Buffer.concat([MAGIC, lengthPrefix(1 << 30)]));
  await Promise.all([line, once(socket, 'close')]);
  await stillServes();
});

test('a handshake that stalls times out', async () => {
  const line = log.next(new RegExp(`did not finish within ${HANDSHAKE_TIMEOUT_MS} ms`));
  const socket = await rawSocket();
  socket.on('error', () => {});
  socket.write(MAGIC);
  await Promise.all([line, once(socket, 'close')]);
  await stillServes();
});

test('a frame length over the cap is refused before its body is read', async () => {
  const { socket } = await handshaken();
  const line = log.next(/dropped the connection with peer .*: a record of \d+ bytes is over the limit/);
  socket.write(lengthPrefix(MAX_SEALED + 1)); // no body follows: the server must not wait for one
  await Promise.all([line, once(socket, 'close')]);
  await stillServes();
});

test('a frame whose tag does not verify drops the connection', async () => {
  const { socket } = await handshaken();
  const line = log.next(/dropped the connection with peer .*: a frame failed authentication/);
  socket.write(encodeRecord(randomBytes(100)));
  await Promise.all([line, once(socket, 'close')]);
  await stillServes();
});

test('a malformed message header drops the connection', async () => {
  for (const [header, expect] of [
    [Buffer.from('nope!'), /not JSON/],
    [Buffer.from('{"method":"echo"}'), /no valid "id"/],
    [Buffer.from('{"id":1}'), /neither a request/],
  ] as const) {
    const { socket, session } = await handshaken();
    const line = log.next(new RegExp(`dropped the connection with peer .*: .*${expect.source}`));
    for (const b of session.sealer.seal([lengthPrefix(header.length), header])) socket.write(b);
    await Promise.all([line, once(socket, 'close')]);
  }
  await stillServes();
});

/** Seals and writes a request on a raw handshaken socket. */
function rawRequest(peer: { socket: Socket; session: Awaited<ReturnType<typeof clientHandshake>> }, id: number, method: string, params = {}): void {
  const header = Buffer.from(JSON.stringify({ id, method, params }));
  for (const b of peer.session.sealer.seal([lengthPrefix(header.length), header])) peer.socket.write(b);
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

test('more calls than a side may have outstanding wait their turn; a few are served at once; all are answered', async () => {
  const conn = await dial();
  try {
    Object.assign(held, { now: 0, most: 0, started: 0 });
    const calls = Array.from({ length: 3 * MAX_OUTSTANDING_CALLS }, (_, n) => conn.call('hold', { n }));
    await until(() => held.now === MAX_SERVING, `${MAX_SERVING} requests are being served`);
    await new Promise((r) => setTimeout(r, 50)); // time for more to start, were the limit not kept
    assert.equal(held.most, MAX_SERVING);
    while (held.started < calls.length || held.now > 0) {
      releaseHeld();
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.deepEqual(
      (await Promise.all(calls)).map((r) => r.result),
      calls.map((_, n) => n),
    );
    assert.equal(held.most, MAX_SERVING);
  } finally {
    releaseHeld();
    conn.close();
  }
});

test('calls with big bodies go out only while their bytes outstanding stay under the limit; all are answered', async () => {
  const conn = await dial();
  try {
    Object.assign(held, { now: 0, most: 0, started: 0 });
    const body = Buffer.alloc(4 << 20);
    const calls = Array.from({ length: 8 }, (_, n) => conn.call('hold', { n }, body));
    const fit = Math.floor(REQUEST_BYTES_IN_FLIGHT / body.length) - 1; // each is a little over 4 MiB
    await until(() => held.now === fit, `${fit} requests of 4 MiB are being served`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(held.most, fit);
    while (held.started < calls.length || held.now > 0) {
      releaseHeld();
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.deepEqual(
      (await Promise.all(calls)).map((r) => r.result),
      calls.map((_, n) => n),
    );
  } finally {
    releaseHeld();
    conn.close();
  }
});

test('a peer that sends more requests than it may is read again once answers go out, and gets every answer', async () => {
  const peer = await handshaken();
  Object.assign(held, { now: 0, most: 0, started: 0 });
  const n = 3 * MAX_OUTSTANDING_CALLS;
  for (let id = 1; id <= n; id++) rawRequest(peer, id, 'hold', { n: id });
  const answers = new ByteQueue();
  let answered = 0;
  peer.socket.on('data', (b: Buffer) => {
    answers.push(b);
    for (let r = answers.nextRecord(MAX_SEALED); r; r = answers.nextRecord(MAX_SEALED)) {
      peer.session.opener.open(r);
      answered++;
    }
  });
  await until(() => held.now === MAX_SERVING, 'the first requests are being served');
  for (let i = 0; i < 2000 && answered < n; i++) {
    releaseHeld();
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(answered, n);
  assert.equal(held.most, MAX_SERVING);
  peer.socket.destroy();
  await stillServes();
});

test('a peer that reads none of its answers stops getting new ones made, and is served again once it reads', async () => {
  const peer = await handshaken();
  peer.socket.pause(); // reads nothing
  bigAnswers = 0;
  const n = 2 * MAX_OUTSTANDING_CALLS;
  for (let id = 1; id <= n; id++) rawRequest(peer, id, 'big');
  await new Promise((r) => setTimeout(r, 500));
  // The socket buffers take some, then the server stops making answers of 4 MiB.
  assert.ok(bigAnswers < n / 2, `the server made ${bigAnswers} answers of 4 MiB for a peer that reads none`);
  let got = 0;
  peer.socket.on('data', (b: Buffer) => (got += b.length));
  peer.socket.resume();
  await until(() => bigAnswers === n && got >= n * (4 << 20), 'every answer is made and arrives once the peer reads');
  peer.socket.destroy();
  await stillServes();
});

test('a frame begun and not finished is dropped after the stall timeout; a quiet connection is not', async () => {
  const quiet = await handshaken();
  const stalled = await handshaken();
  const line = log.next(new RegExp(`dropped the connection with peer .*: it sent part of a frame, then nothing for ${STALL_TIMEOUT_MS / 1000} s`));
  stalled.socket.write(Buffer.concat([lengthPrefix(4 << 20), randomBytes(1000)]));
  await Promise.all([line, once(stalled.socket, 'close')]);
  await new Promise((r) => setTimeout(r, 2 * STALL_TIMEOUT_MS));
  assert.equal(quiet.socket.closed, false, 'a connection with nothing half sent stays');
  rawRequest(quiet, 1, 'echo', { still: 'open' });
  quiet.socket.destroy();
  await stillServes();
});

test('the frame reader copes with any segmentation', () => {
  const bodies = [randomBytes(0), randomBytes(1), randomBytes(5), randomBytes(3000), randomBytes(7)];
  const wire = Buffer.concat(bodies.map(encodeRecord));
  for (const step of [1, 2, 3, 4, 5, 7, 1000, wire.length]) {
    const q = new ByteQueue();
    const got: Buffer[] = [];
    for (let i = 0; i < wire.length; i += step) {
      q.push(wire.subarray(i, i + step));
      for (let r = q.nextRecord(4096); r !== undefined; r = q.nextRecord(4096)) got.push(r);
    }
    assert.deepEqual(got, bodies, `chunks of ${step}`);
    assert.equal(q.size, 0);
  }
  const q = new ByteQueue();
  q.push(lengthPrefix(5000).subarray(0, 3));
  assert.equal(q.nextRecord(4096), undefined);
  q.push(lengthPrefix(5000).subarray(3));
  assert.throws(() => q.nextRecord(4096), /over the limit/);
});
