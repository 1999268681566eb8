/**
 * What to do with one name of a directory when pulling a peer's version of
 * it into ours: the vector time pair rules (Cox & Josephson, "File
 * synchronization with vector time pairs"). A pure function of the two
 * versions' vectors (clock/version.ts), so it can be tested exhaustively.
 * Each version's s is effective (with its replica's own entry at its current
 * epoch).
 * A version that is absent (no entry, no tombstone) is judged by its
 * directory's s: if that covers the other side's creation, it was seen and
 * deleted.
 */
import type { Vector } from '../clock/vector.js';
import { compare, seen, type Clocks } from '../clock/version.js';

/** The tree's kinds (tree.ts Kind, spelled here: reconcile imports nothing of the tree), or deleted. */
export type VersionKind = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'chardev' | 'blockdev' | 'deleted';

export interface Version extends Clocks {
  kind: VersionKind;
  /** Identifies the content (files, symlinks, special files): equal content, equal key. */
  content?: string;
}

export type Decision =
  /** Ours already covers theirs. */
  | { do: 'nothing' }
  /** Theirs supersedes ours: copy it (their deletion deletes ours). */
  | { do: 'take' }
  /** Both changed to the same content, or both deleted it: only the clocks merge. */
  | { do: 'same' }
  /**
   * Directories: decide each entry inside. create: make ours first; ours/theirs:
   * the two directories' s; theirsGone: they deleted it (nothing of theirs inside).
   * deleted: one side deleted the directory, the other changed it; this is the
   * deletion's m. The directory stays only if something live is kept in it.
   */
  | { do: 'merge'; create: boolean; ours: Vector; theirs: Vector; theirsGone: boolean; deleted?: Vector }
  /** Both changed: ours stays, theirs is recorded. */
  | { do: 'conflict' }
  /**
   * We deleted it (deletion m `deleted`), they changed it: theirs is restored,
   * over both (its m covers our deletion too), and the conflict recorded.
   */
  | { do: 'restore'; deleted: Vector }
  /** We changed it, they deleted it: ours stays, their deletion is recorded. */
  | { do: 'keep' };

const NOTHING: Decision = { do: 'nothing' };

/**
 * ours/theirs: the two versions, undefined when absent without a tombstone.
 * oursDir/theirsDir: the directories' s, for absent versions.
 */
export function reconcile(ours: Version | undefined, theirs: Version | undefined, oursDir: Vector, theirsDir: Vector): Decision {
  const oursLive = ours && ours.kind !== 'deleted';
  const theirsLive = theirs && theirs.kind !== 'deleted';
  if (!theirsLive && !oursLive) return bothDeleted(ours, theirs, oursDir, theirsDir);

  if (!theirs) {
    // They have no trace of it: unseen there, or seen and deleted.
    if (!seen(ours!.c, theirsDir)) return NOTHING;
    return changedSince(ours!, theirsDir, theirsDir);
  }
  if (!ours) {
    if (!seen(theirs.c, oursDir)) return takeNew(theirs);
    // We saw it created and kept no trace: deleted here.
    return seen(theirs.m, oursDir) ? NOTHING : restore(theirs, oursDir, oursDir);
  }
  if (ours.kind === 'deleted') return deletedHere(theirs, ours);
  if (theirs.kind === 'deleted') return deletedThere(ours, theirs);

  const relation = compare(ours, theirs);
  if (ours.kind === 'dir' && theirs.kind === 'dir') {
    return relation === 'known' ? NOTHING : { do: 'merge', create: false, ours: ours.s, theirs: theirs.s, theirsGone: false };
  }
  if (relation === 'known') return NOTHING;
  if (relation === 'newer') return { do: 'take' };
  if (ours.kind === theirs.kind && ours.content !== undefined && ours.content === theirs.content) return { do: 'same' };
  return { do: 'conflict' };
}

/**
 * Deleted on both sides (there perhaps without a trace), or deleted there and
 * without a trace here. Their deletion still carries knowledge: its s says
 * which versions it superseded.
 * Dropping it (or the part of it our s lacks) would leave this name judged
 * by the directory's s alone, which may claim the deleter's epoch without
 * what the deletion had seen: a version it superseded, arriving later from a
 * third replica, would then be taken as new, and would get, from the
 * directory, an s that covers the deletion. So their tombstone is kept
 * ('take' for a name we have no trace of) or merged into ours ('same').
 */
function bothDeleted(ours: Version | undefined, theirs: Version | undefined, oursDir: Vector, theirsDir: Vector): Decision {
  if (!theirs) {
    // No trace there: if they saw it made, they deleted it too, and their
    // directory's s covers that deletion (the one m we can give it). Our
    // tombstone then merges theirs: the directory's s, joined at the end of
    // the walk, would otherwise make our tombstone's s claim their deletion
    // while its m lacks it, and a replica that had seen our m but not their
    // deletion would keep what they deleted.
    if (!ours || !seen(ours.c, theirsDir)) return NOTHING;
    theirs = { kind: 'deleted', m: theirsDir, s: theirsDir, c: ours.c };
  }
  const known = ours ? ours.s : oursDir;
  if (seen(theirs.m, known) && seen(theirs.s, known)) return NOTHING;
  return ours ? { do: 'same' } : { do: 'take' };
}

/** A live version of theirs we never saw: copy it (a directory with everything in it). */
function takeNew(theirs: Version): Decision {
  return theirs.kind === 'dir' ? { do: 'merge', create: true, ours: new Map(), theirs: theirs.s, theirsGone: false } : { do: 'take' };
}

/** Ours is deleted (tomb), theirs live. */
function deletedHere(theirs: Version, tomb: Version): Decision {
  if (seen(theirs.m, tomb.s)) return NOTHING;
  if (seen(tomb.m, theirs.s)) return takeNew(theirs); // they saw our deletion, and made it again since
  return restore(theirs, tomb.s, tomb.m);
}

/**
 * Deleted here (deletion m `deleted`, having seen `saw`), changed there:
 * nothing may be lost, so theirs comes back. A directory comes back with what
 * changed in it, not with what we deleted.
 */
function restore(theirs: Version, saw: Vector, deleted: Vector): Decision {
  if (theirs.kind === 'dir') return { do: 'merge', create: true, ours: saw, theirs: theirs.s, theirsGone: false, deleted };
  return { do: 'restore', deleted };
}

/** Ours live, theirs deleted (tomb). */
function deletedThere(ours: Version, tomb: Version): Decision {
  if (seen(tomb.m, ours.s)) return NOTHING;
  return changedSince(ours, tomb.s, tomb.m);
}

/** They deleted (deletion m `deleted`) what they had seen as `saw`: the deletion wins unless ours changed since. */
function changedSince(ours: Version, saw: Vector, deleted: Vector): Decision {
  if (seen(ours.m, saw)) return { do: 'take' };
  // Changed here after they deleted it: keep ours; in a directory, keep what changed.
  if (ours.kind === 'dir') return { do: 'merge', create: false, ours: ours.s, theirs: saw, theirsGone: true, deleted };
  return { do: 'keep' };
}
