/** The parts of fuse-native (which ships no types) that Bazil uses. */
declare module 'fuse-native' {
  type Callback = (code: number, ...results: unknown[]) => void;
  export type Ops = Record<string, (...args: any[]) => void>;

  export interface FuseOptions {
    force?: boolean;
    timeout?: number | false;
    fsname?: string;
    subtype?: string;
    autoCache?: boolean;
    defaultPermissions?: boolean;
    uid?: number;
    gid?: number;
    debug?: boolean;
  }

  export default class Fuse {
    constructor(mnt: string, ops: Ops, opts?: FuseOptions);
    readonly mnt: string;
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    protected _fuseOptions(): string;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
    /** True when the native binding was built from the source patched by patches/ (see package.json). */
    static readonly BAZIL_PATCH: boolean;
  }
  export type { Callback };
}
