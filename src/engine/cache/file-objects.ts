/**
 * The objects a file's content is made of: its data chunks and the manifest
 * nodes under its root (the root itself lives in the tree). Used to pin a file
 * (fetch them, keep them) and to say where it is (which of them are here).
 */
import type { ContentStore } from '../store/content.js';
import { decodeNode, isHole, storedOf, type ManifestNode } from '../store/manifest.js';

export interface FileObject {
  id: Buffer;
  /** Plaintext hash: what the content store reads it by. */
  h: Buffer;
  /** File bytes it holds (a data chunk), or 0 (a manifest node). */
  bytes: number;
}

export interface FileObjects {
  objects: FileObject[];
  /** Data bytes under manifest nodes that could not be read (not here, and not fetched): their chunks are not listed. */
  unlisted: number;
}

/**
 * Walks a file's manifest. With `fetch`, missing manifest nodes are fetched
 * (and a failure to fetch throws); without, only nodes already here are read.
 */
export async function fileObjects(store: ContentStore, manifest: Buffer, isLocal: (id: Buffer) => boolean, fetch: boolean): Promise<FileObjects> {
  const out: FileObjects = { objects: [], unlisted: 0 };
  const walk = async (node: ManifestNode): Promise<void> => {
    for (const e of node.entries) {
      if (isHole(e)) continue;
      const id = store.objectId(e.h);
      if (node.level === 0) {
        out.objects.push({ id, h: e.h, bytes: e.span });
        continue;
      }
      out.objects.push({ id, h: e.h, bytes: 0 });
      if (!fetch && !isLocal(id)) out.unlisted += storedOf(e);
      else await walk(await store.getManifest(e.h));
    }
  };
  await walk(decodeNode(manifest, 'a manifest root'));
  return out;
}
