/**
 * Hostile peer messages for the protocol fuzz test, from a seeded generator so
 * a failure replays: valid shapes with hostile values, random JSON, and
 * mutations of real messages. Pure: no I/O.
 */
import { seededRandom } from '../helpers.js';

export type Rng = () => number;

export interface FuzzRequest {
  method: string;
  params: Record<string, unknown>;
  body?: Buffer;
}

/** Values a careless handler trips on: wrong types, edges of numbers, path tricks, prototype keys, control characters. */
const HOSTILE: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  2 ** 32,
  2 ** 53,
  -(2 ** 53),
  1e308,
  '',
  '/',
  '.',
  '..',
  '/..',
  '/../..',
  '/.snap',
  '.snap',
  '/a/../../etc',
  'a\0b',
  '\u0000',
  '\n\rbazil: FORGED line\n',
  '\u001b[31mred\u001b[0m',
  '\ud800',
  '\u2028',
  'x'.repeat(256),
  'y'.repeat(5000),
  '/' + 'd/'.repeat(3000),
  '0'.repeat(64),
  'f'.repeat(64),
  'F'.repeat(64),
  'g'.repeat(64),
  '0'.repeat(63),
  '0'.repeat(65),
  [],
  [[0, 1]],
  [[0, 2 ** 40]],
  [[-1, 1]],
  [[99999, 1]],
  {},
  { __proto__: { polluted: true } },
  JSON.parse('{"__proto__":{"polluted":true}}'),
  { constructor: { prototype: { polluted: true } } },
];

const METHODS = ['volume.info', 'sync.list', 'sync.changed', 'object.get', 'object.has'];
const JUNK_METHODS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '', 'sync.list\nbazil: FORGED', 'x'.repeat(300), 'object.put', 'volume.delete'];
const PARAM_NAMES = ['volume', 'path', 'name', 'id', 'ids', 'forward', 'dir', 'parent', 'cursor', 'proof', 'after', 'limit'];

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
/** A fresh copy of a hostile value, so that no two messages share (and mutate) one object. */
const hostile = (rng: Rng): unknown => {
  const v = pick(rng, HOSTILE);
  return typeof v === 'object' && v !== null ? JSON.parse(JSON.stringify(v)) : v;
};

function hex(rng: Rng, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(rng() * 256).toString(16).padStart(2, '0');
  return s;
}

function randomString(rng: Rng): string {
  const n = Math.floor(rng() * 40);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(rng() < 0.8 ? 32 + Math.floor(rng() * 95) : Math.floor(rng() * 0x10000));
  return s;
}

/** Random JSON of bounded depth and size. */
export function randomJson(rng: Rng, depth = 3): unknown {
  const r = rng();
  if (depth === 0 || r < 0.3) return hostile(rng);
  if (r < 0.45) return randomString(rng);
  if (r < 0.6) return Math.floor(rng() * 2 ** 40) * (rng() < 0.5 ? -1 : 1);
  if (r < 0.8) return Array.from({ length: Math.floor(rng() * 5) }, () => randomJson(rng, depth - 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(rng() * 5); i > 0; i--) o[rng() < 0.5 ? pick(rng, PARAM_NAMES) : randomString(rng)] = randomJson(rng, depth - 1);
  return o;
}

/** Good values the victim really has, so that hostile ones sit beside valid ones and reach deep paths. */
export interface Known {
  volumeId: string;
  volumeName: string;
  objectIds: string[];
  paths: string[];
}

/** One request: a real method with a mix of valid and hostile params, or junk. */
export function fuzzRequest(rng: Rng, known: Known): FuzzRequest {
  const r = rng();
  const method = r < 0.85 ? pick(rng, METHODS) : pick(rng, JUNK_METHODS);
  const valid: Record<string, unknown> = {
    volume: known.volumeId,
    name: known.volumeName,
    path: pick(rng, known.paths),
    id: known.objectIds.length ? pick(rng, known.objectIds) : hex(rng, 32),
    ids: [...known.objectIds.slice(0, Math.floor(rng() * 4)), hex(rng, 32)],
    forward: rng() < 0.5,
  };
  const params: Record<string, unknown> = rng() < 0.1 ? (randomJson(rng) as Record<string, unknown>) : {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return { method, params: {} };
  for (const name of PARAM_NAMES) {
    const x = rng();
    if (x < 0.35 && name in valid) params[name] = valid[name];
    else if (x < 0.6) params[name] = hostile(rng);
    else if (x < 0.7) params[name] = randomJson(rng, 2);
  }
  const body = rng() < 0.1 ? randomBytes(rng, Math.floor(rng() * 70_000)) : undefined;
  return body ? { method, params, body } : { method, params };
}

/** Mutates a JSON value in place at one random spot (a listing a peer answers, say). */
export function mutate(rng: Rng, value: unknown, depth = 0): unknown {
  if (depth > 6 || typeof value !== 'object' || value === null || rng() < 0.15) {
    const r = rng();
    if (typeof value === 'number' && r < 0.5) return pick(rng, [value + 1, value - 1, -value, value * 2 ** 20, 2 ** 32 + value, NaN, 1e300]);
    if (typeof value === 'string' && r < 0.5) return pick(rng, [value + value, value.slice(1), `${value}\u0000`, '.snap', '..', 'x'.repeat(300), '']);
    return rng() < 0.7 ? hostile(rng) : randomJson(rng, 2);
  }
  if (Array.isArray(value)) {
    if (value.length === 0 || rng() < 0.2) {
      value.push(randomJson(rng, 2));
      return value;
    }
    const i = Math.floor(rng() * value.length);
    if (rng() < 0.1) value.splice(i, 1);
    else if (rng() < 0.1) value.push(structuredClone(value[i]));
    else value[i] = mutate(rng, value[i], depth + 1);
    return value;
  }
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 0 || rng() < 0.1) {
    o[pick(rng, PARAM_NAMES)] = randomJson(rng, 2);
    return o;
  }
  const k = pick(rng, keys);
  if (rng() < 0.1) delete o[k];
  else o[k] = mutate(rng, o[k], depth + 1);
  return o;
}

export function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rng() * 256);
  return b;
}

export { seededRandom };
