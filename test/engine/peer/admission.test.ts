/** The limits on connections that have not proven a key: pure logic, on a clock the test moves. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddressLogLimiter,
  BURST_PER_ADDRESS,
  HandshakeAdmission,
  LOG_LINES_PER_ADDRESS,
  LOG_LINES_TOTAL,
  LOG_WINDOW_MS,
  MAX_HANDSHAKES,
  MAX_HANDSHAKES_PER_ADDRESS,
  RATE_PER_SECOND,
} from '../../../src/engine/peer/admission.js';

test('an address may have a few handshakes at once, and open connections at a bounded rate', () => {
  let now = 0;
  const a = new HandshakeAdmission(() => now);
  for (let i = 0; i < MAX_HANDSHAKES_PER_ADDRESS; i++) assert.ok(a.admit('192.0.2.1'));
  assert.equal(a.admit('192.0.2.1'), false, 'over the handshakes in progress');
  assert.ok(a.admit('192.0.2.2'), 'another address is not affected');
  // Ended handshakes free their place, until the burst is spent.
  let admitted = MAX_HANDSHAKES_PER_ADDRESS;
  for (let i = 0; i < 100; i++) {
    a.done('192.0.2.1');
    if (a.admit('192.0.2.1')) admitted++;
  }
  assert.equal(admitted, BURST_PER_ADDRESS);
  // Then RATE_PER_SECOND come back each second.
  for (let i = 0; i < MAX_HANDSHAKES_PER_ADDRESS; i++) a.done('192.0.2.1');
  now += 1000;
  let later = 0;
  while (a.admit('192.0.2.1')) later++;
  assert.equal(later, RATE_PER_SECOND);
});

test('handshakes in progress are limited in all, across addresses', () => {
  const a = new HandshakeAdmission(() => 0);
  let admitted = 0;
  for (let i = 0; i < 1000; i++) if (a.admit(`10.0.${i >> 8}.${i & 255}`)) admitted++;
  assert.equal(admitted, MAX_HANDSHAKES);
  a.done('10.0.0.0');
  assert.ok(a.admit('198.51.100.1'));
  a.done('203.0.113.9'); // never admitted: changes nothing
  assert.equal(a.admit('198.51.100.2'), false);
});

test('log lines about one address are limited per window; the next window says how many were left out', () => {
  let now = 0;
  const lines: string[] = [];
  const limiter = new AddressLogLimiter((l) => lines.push(l), () => now);
  for (let i = 0; i < 50; i++) limiter.line('192.0.2.1', `line ${i}`);
  limiter.line('192.0.2.2', 'other address');
  assert.deepEqual(lines, [
    ...Array.from({ length: LOG_LINES_PER_ADDRESS }, (_, i) => `line ${i}`),
    `more lines about connections from 192.0.2.1 in the next ${LOG_WINDOW_MS / 1000} s are left out`,
    'other address',
  ]);
  lines.length = 0;
  now += LOG_WINDOW_MS;
  limiter.line('192.0.2.1', 'again');
  assert.deepEqual(lines, [`left out ${50 - LOG_LINES_PER_ADDRESS} lines about connections from 192.0.2.1`, 'again']);
});

test('log lines from many addresses are limited in all too', () => {
  let now = 0;
  const lines: string[] = [];
  const limiter = new AddressLogLimiter((l) => lines.push(l), () => now);
  for (let i = 0; i < 1000; i++) limiter.line(`2001:db8::${i.toString(16)}`, `line ${i}`);
  assert.equal(lines.length, LOG_LINES_TOTAL + 1);
  assert.equal(lines.at(-1), `more lines about connections from any address in the next ${LOG_WINDOW_MS / 1000} s are left out`);
  lines.length = 0;
  now += LOG_WINDOW_MS;
  limiter.line('192.0.2.1', 'again');
  assert.deepEqual(lines, [`left out ${1000 - LOG_LINES_TOTAL} lines about connections from many addresses`, 'again']);
});
