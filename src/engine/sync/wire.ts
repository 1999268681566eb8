/**
 * The shapes of a directory listing: as it crosses the wire between peers
 * (WirePage, WireEntry: replica keys by position, each entry's s relative to
 * the page's) and as received, checked and mapped to local replica ids
 * (Entry). listing.ts makes and reads them; validate.ts checks them.
 *
 * Names (and symlink targets) are bytes, any but '/' and NUL. They travel as
 * the engine's string of their bytes (engine/names.ts): valid UTF-8 as its
 * text, each other byte 0xNN as the lone surrogate U+DC00+0xNN, which JSON
 * writes as the escape \udcNN (so the frame stays ASCII there and loses
 * nothing). Each name has exactly one such spelling; validate.ts refuses any
 * other string.
 */
import type { Clocks } from '../clock/version.js';
import type { Kind } from '../tree/tree.js';
import type { Xattr } from '../tree/xattrs.js';
import type { WireVector } from './replicas.js';

export interface WireEntry {
  /** The name's bytes, spelled as above. */
  name: string;
  kind: Kind | 'deleted';
  mode?: number;
  size?: number;
  mtime?: number;
  /** Nanoseconds past mtime's millisecond; absent: 0. */
  mtimeNs?: number;
  /** base64 */
  data?: string;
  /** base64 of the encoded manifest root */
  manifest?: string;
  target?: string;
  /** A device's number (character and block devices only). */
  rdev?: number;
  /** Extended attributes (files and directories), in name order: [base64 name, base64 value]. */
  xattrs?: [string, string][];
  /** A directory's inode on the sender: its handle, with the listed directory's ino and its name. */
  ino?: number;
  m: WireVector;
  /** Relative to the page's s: the entry's s is the join of both. */
  s: WireVector;
  c: WireVector;
}

export interface WirePage {
  /** The listed directory's inode on the sender. */
  ino: number;
  /** Replica keys (hex) the vectors index; the first is the sender. */
  replicas: string[];
  m: WireVector;
  /**
   * The directory's own stored s (relative to its parent's; the root's is
   * whole) with the sender's epoch: the receiver joins it to the directory's
   * s from the parent's listing, so no listing walks up the tree.
   */
  s: WireVector;
  /** In name order (byte by byte, as SQLite orders BLOBs), all after the page's cursor. */
  entries: WireEntry[];
  /** More entries follow: ask again after this name (the last of this page). */
  next?: string;
}

/** A received entry, in local replica ids, its s made whole. */
export interface Entry extends Clocks {
  name: string;
  kind: Kind | 'deleted';
  mode: number;
  size: number;
  mtime: number;
  mtimeNs?: number;
  data: Buffer | null;
  manifest: Buffer | null;
  target: string | null;
  /** A device's number; 0 for the rest. */
  rdev: number;
  /** Extended attributes, in name order. */
  xattrs: Xattr[];
  /** A directory's inode on the sender (its handle); null for the rest. */
  ino: number | null;
}
