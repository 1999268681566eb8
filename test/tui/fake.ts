/**
 * A fake control API and model states for the terminal UI's component tests
 * (a unit test of the UI's logic: the server's side is tested with real
 * servers elsewhere, and end to end in tui-e2e.test.ts).
 */
import type { ConflictInfo, ControlApi, MethodName, Params, PeerStatus, Result, StatusInfo, VolumeInfo } from '../../src/engine/control/api.js';
import { BazilError } from '../../src/engine/errors.js';
import { Model } from '../../src/tui/model.js';

export type Answers = { [M in MethodName]?: (params: Params<M>) => Result<M> | Promise<Result<M>> };

export function fakeApi(answers: Answers = {}): { api: ControlApi; calls: [MethodName, unknown][] } {
  const calls: [MethodName, unknown][] = [];
  const api: ControlApi = {
    async call<M extends MethodName>(method: M, params: Params<M>): Promise<Result<M>> {
      calls.push([method, params]);
      const fn = answers[method] as ((p: Params<M>) => Result<M>) | undefined;
      if (!fn) throw new BazilError('INVALID_ARGUMENT', 'this server cannot do that yet: update bazil');
      return fn(params);
    },
  };
  return { api, calls };
}

export const KEY_A = 'a1'.repeat(32);
export const KEY_B = 'b2'.repeat(32);

export function peer(key: string, name: string | null, over: Partial<PeerStatus> = {}): PeerStatus {
  return { publicKey: key, name, location: '127.0.0.1:34211', storage: ['local'], volumes: ['photos'], connected: true, syncs: ['photos'], storageFor: ['photos'], lastSync: [], missing: [], ...over };
}

export function volume(name: string, over: Partial<VolumeInfo> = {}): VolumeInfo {
  return { name, sharingKey: 'default', mounts: [`/home/me/${name}`], ...over };
}

export function conflict(path: string, over: Partial<ConflictInfo> = {}): ConflictInfo {
  return { volume: 'photos', path, where: `/home/me/photos${path}`, peer: KEY_A, peerName: 'white', theirs: 'file, 2048 bytes, modified 2026-11-29T08:00:00.000Z', localDeleted: false, createdAt: Date.now() - 120_000, resolution: null, ...over };
}

export function status(over: Partial<StatusInfo> = {}): StatusInfo {
  return { dataDir: '/home/me/.local/share/bazil', publicKey: KEY_B, sharingKeys: ['default'], volumes: [], peers: [], conflicts: [], ...over };
}

/** A model as the feed leaves it once the server answered. */
export function modelWith(s: StatusInfo, extra: { conflicts?: ConflictInfo[] } = {}): Model {
  const m = new Model();
  m.setLink({ state: 'up', server: { pid: 4242, peerAddress: '[::]:34211', dataDir: s.dataDir } });
  m.set('status', { value: s });
  m.set('conflicts', { value: extra.conflicts ?? [] });
  m.set('nearby', { error: 'this server cannot do that yet: update bazil' });
  return m;
}
