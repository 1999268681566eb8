/** Reading a control request's params: each reader names what is wrong, for the client to show. */
import { isAbsolute } from 'node:path';
import { BazilError } from '../engine/errors.js';

export type Params = Record<string, unknown>;

export function text(params: Params, name: string, fallback?: string): string {
  const value = params[name] ?? fallback;
  if (typeof value !== 'string' || value === '') throw new BazilError('INVALID_ARGUMENT', `the request needs "${name}", a non-empty string`);
  return value;
}

export function absolutePath(params: Params, name: string): string {
  const path = text(params, name);
  if (!isAbsolute(path)) throw new BazilError('INVALID_ARGUMENT', `"${name}" must be an absolute path, got ${path}`);
  return path;
}

export function base64Bytes(params: Params, name: string): Buffer {
  const value = text(params, name);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw new BazilError('INVALID_ARGUMENT', `"${name}" must be base64`);
  }
  return Buffer.from(value, 'base64');
}
