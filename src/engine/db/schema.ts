/**
 * The database schema as an ordered list of migrations. The database's
 * user_version is the number of migrations applied; never edit a migration that
 * has shipped, append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: identity, sharing keys, volumes.
  `
  CREATE TABLE identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seed BLOB NOT NULL CHECK (length(seed) = 32),
    public_key BLOB NOT NULL CHECK (length(public_key) = 32)
  );
  CREATE TABLE sharing_keys (
    name TEXT PRIMARY KEY,
    secret BLOB NOT NULL CHECK (length(secret) = 32),
    created_at INTEGER NOT NULL
  );
  CREATE TABLE volumes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    volume_id BLOB NOT NULL UNIQUE CHECK (length(volume_id) = 32),
    sharing_key TEXT NOT NULL REFERENCES sharing_keys (name),
    created_at INTEGER NOT NULL
  );
  `,
  // 2: the live tree of each volume, and snapshots.
  `
  CREATE TABLE nodes (
    ino INTEGER PRIMARY KEY,
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    parent INTEGER NOT NULL,           -- the directory's ino; a volume's root is its own parent
    name TEXT NOT NULL,                -- '' for the root
    kind INTEGER NOT NULL,             -- 1 file, 2 directory, 3 symlink
    mode INTEGER NOT NULL,             -- permission bits
    size INTEGER NOT NULL DEFAULT 0,
    mtime INTEGER NOT NULL,            -- milliseconds since the epoch
    ctime INTEGER NOT NULL,
    data BLOB,                         -- a small file's bytes, kept inline
    manifest BLOB,                     -- a larger file's encoded manifest root
    target TEXT,                       -- a symlink's target
    UNIQUE (parent, name)
  );
  -- A directory's link count is 2 + its subdirectories: counted from this index.
  CREATE INDEX nodes_subdirs ON nodes (parent) WHERE kind = 2;
  CREATE TABLE snapshots (
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    root BLOB NOT NULL,                -- hash of the root directory object's manifest
    created_at INTEGER NOT NULL,
    PRIMARY KEY (volume, name)
  );
  `,
  // 3: peers and grants, version vectors on the tree, tombstones, conflicts.
  `
  CREATE TABLE peers (
    public_key BLOB PRIMARY KEY CHECK (length(public_key) = 32),
    location TEXT,                     -- HOST:PORT where its server listens
    added_at INTEGER NOT NULL
  );
  -- Grants: what a peer may ask of this data dir.
  CREATE TABLE peer_storage (          -- the peer may read objects from this store ('local')
    peer BLOB NOT NULL REFERENCES peers (public_key) ON DELETE CASCADE,
    backend TEXT NOT NULL,
    PRIMARY KEY (peer, backend)
  );
  CREATE TABLE peer_volumes (          -- the peer may sync this volume
    peer BLOB NOT NULL REFERENCES peers (public_key) ON DELETE CASCADE,
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    PRIMARY KEY (peer, volume)
  );
  -- Where a volume's content may be fetched from, besides the local store.
  CREATE TABLE volume_storage (
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    peer BLOB NOT NULL REFERENCES peers (public_key) ON DELETE CASCADE,
    PRIMARY KEY (volume, peer)
  );
  -- Peers a volume was connected from (bazil volume connect): it syncs with them.
  CREATE TABLE volume_peers (
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    peer BLOB NOT NULL REFERENCES peers (public_key) ON DELETE CASCADE,
    PRIMARY KEY (volume, peer)
  );
  -- A volume's epoch: the counter its local changes are stamped with. It ticks
  -- when a peer has been shown the changes of the current epoch.
  ALTER TABLE volumes ADD COLUMN epoch INTEGER NOT NULL DEFAULT 1;
  -- Vectors name replicas by these ids; id 0 is this data dir and is not listed.
  CREATE TABLE replicas (
    id INTEGER PRIMARY KEY,
    public_key BLOB NOT NULL UNIQUE CHECK (length(public_key) = 32)
  );
  -- Version vectors (clock/vector.ts encoding). NULL m or c: made here at epoch 1.
  -- s is stored relative to the parent: a node's sync vector is the join of
  -- its own and its ancestors'.
  ALTER TABLE nodes ADD COLUMN m BLOB;
  ALTER TABLE nodes ADD COLUMN s BLOB;
  ALTER TABLE nodes ADD COLUMN c BLOB;
  -- A deleted entry: what was deleted when, so the deletion syncs.
  CREATE TABLE tombstones (
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    parent INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind INTEGER NOT NULL,
    m BLOB NOT NULL,
    s BLOB,                            -- the whole sync vector, not relative
    c BLOB,
    PRIMARY KEY (parent, name)
  );
  -- Versions that met a different local one in a sync: kept until resolved, and after.
  CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY,
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    path TEXT NOT NULL,                -- from the volume's root: /dir/name
    peer BLOB NOT NULL,                -- the peer the other version came from
    local_deleted INTEGER NOT NULL,    -- 1: deleted here, edited there (their version was restored)
    kind INTEGER NOT NULL,             -- their version: 0 deleted, else as nodes.kind
    mode INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0,
    mtime INTEGER NOT NULL DEFAULT 0,
    data BLOB,
    manifest BLOB,
    target TEXT,
    m BLOB,
    s BLOB,
    c BLOB,
    created_at INTEGER NOT NULL,
    resolved_at INTEGER,
    resolution TEXT                    -- mine, theirs, both, or superseded (a later sync settled it)
  );
  CREATE INDEX conflicts_open ON conflicts (volume, path) WHERE resolved_at IS NULL;
  `,
  // 4: times to the nanosecond, and the access time.
  `
  ALTER TABLE nodes ADD COLUMN mtime_ns INTEGER NOT NULL DEFAULT 0; -- nanoseconds past mtime's millisecond
  ALTER TABLE nodes ADD COLUMN atime INTEGER;                       -- milliseconds; NULL: never set, reads as mtime
  ALTER TABLE nodes ADD COLUMN atime_ns INTEGER NOT NULL DEFAULT 0;
  `,
  // 5: where each volume was mounted: the server mounts it there again when it starts.
  `
  CREATE TABLE mounts (
    volume INTEGER PRIMARY KEY REFERENCES volumes (id) ON DELETE CASCADE,
    dir TEXT NOT NULL UNIQUE            -- absolute path of the mount point
  );
  `,
  // 6: the cache: where each object is known to live besides here, pins, and the budget.
  `
  -- A store that confirmed holding an object: by sending it (a fetch) or by answering
  -- object.has. Nothing is recorded on a guess. kept: the holder said it keeps the
  -- object (pinned there, or its only copy there), not merely caches it.
  CREATE TABLE object_where (
    id BLOB NOT NULL,
    store TEXT NOT NULL,               -- peer:HEX (later dir:, s3:, ...)
    kept INTEGER NOT NULL,
    since INTEGER NOT NULL,            -- ms: first confirmed (since it last lacked it)
    seen INTEGER NOT NULL,             -- ms: last confirmed
    PRIMARY KEY (id, store)
  ) WITHOUT ROWID;
  CREATE INDEX object_where_kept ON object_where (id) WHERE kept = 1;
  -- When this store last told a peer it keeps an object: the peer may have evicted its
  -- copy on that word, so only confirmations from others newer than this let it go here.
  CREATE TABLE object_told (
    id BLOB PRIMARY KEY,
    at INTEGER NOT NULL                -- ms
  ) WITHOUT ROWID;
  CREATE TABLE pins (
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    path TEXT NOT NULL,                -- from the volume's root: /dir/name
    created_at INTEGER NOT NULL,
    PRIMARY KEY (volume, path)
  );
  CREATE TABLE cache_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    budget INTEGER,                    -- bytes; NULL: the default
    min_free INTEGER                   -- bytes of free disk never gone under; NULL: the default
  );
  `,
  // 7: peers have names (`bazil peer add KEY NAME`, `bazil peer rename`, set by `bazil pair`).
  `
  ALTER TABLE peers ADD COLUMN name TEXT;
  CREATE UNIQUE INDEX peers_name ON peers (name) WHERE name IS NOT NULL;
  `,
  // 8: names as bytes. File names, symlink targets and paths in a volume are the
  // bytes programs gave, which need not be UTF-8 (engine/names.ts): they are BLOBs,
  // compared and ordered byte by byte, and only BLOBs (a TEXT value would never
  // equal one). What was stored as text becomes its UTF-8 bytes. SQLite cannot
  // change a column's type: the tables are copied, keeping inodes and ids.
  `
  CREATE TABLE nodes_8 (
    ino INTEGER PRIMARY KEY,
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    parent INTEGER NOT NULL,           -- the directory's ino; a volume's root is its own parent
    name BLOB NOT NULL CHECK (typeof(name) = 'blob'), -- x'' for the root
    kind INTEGER NOT NULL,             -- 1 file, 2 directory, 3 symlink
    mode INTEGER NOT NULL,             -- permission bits
    size INTEGER NOT NULL DEFAULT 0,
    mtime INTEGER NOT NULL,            -- milliseconds since the epoch
    ctime INTEGER NOT NULL,
    data BLOB,                         -- a small file's bytes, kept inline
    manifest BLOB,                     -- a larger file's encoded manifest root
    target BLOB CHECK (typeof(target) IN ('blob', 'null')), -- a symlink's target
    m BLOB,
    s BLOB,
    c BLOB,
    mtime_ns INTEGER NOT NULL DEFAULT 0,
    atime INTEGER,
    atime_ns INTEGER NOT NULL DEFAULT 0,
    UNIQUE (parent, name)
  );
  INSERT INTO nodes_8 (ino, volume, parent, name, kind, mode, size, mtime, ctime, data, manifest, target, m, s, c, mtime_ns, atime, atime_ns)
    SELECT ino, volume, parent, CAST(name AS BLOB), kind, mode, size, mtime, ctime, data, manifest, CAST(target AS BLOB), m, s, c, mtime_ns, atime, atime_ns FROM nodes;
  DROP TABLE nodes;
  ALTER TABLE nodes_8 RENAME TO nodes;
  CREATE INDEX nodes_subdirs ON nodes (parent) WHERE kind = 2;

  CREATE TABLE tombstones_8 (
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    parent INTEGER NOT NULL,
    name BLOB NOT NULL CHECK (typeof(name) = 'blob'),
    kind INTEGER NOT NULL,
    m BLOB NOT NULL,
    s BLOB,                            -- the whole sync vector, not relative
    c BLOB,
    PRIMARY KEY (parent, name)
  );
  INSERT INTO tombstones_8 SELECT volume, parent, CAST(name AS BLOB), kind, m, s, c FROM tombstones;
  DROP TABLE tombstones;
  ALTER TABLE tombstones_8 RENAME TO tombstones;

  CREATE TABLE conflicts_8 (
    id INTEGER PRIMARY KEY,
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    path BLOB NOT NULL CHECK (typeof(path) = 'blob'), -- from the volume's root: /dir/name
    peer BLOB NOT NULL,                -- the peer the other version came from
    local_deleted INTEGER NOT NULL,    -- 1: deleted here, edited there (their version was restored)
    kind INTEGER NOT NULL,             -- their version: 0 deleted, else as nodes.kind
    mode INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0,
    mtime INTEGER NOT NULL DEFAULT 0,
    data BLOB,
    manifest BLOB,
    target BLOB CHECK (typeof(target) IN ('blob', 'null')),
    m BLOB,
    s BLOB,
    c BLOB,
    created_at INTEGER NOT NULL,
    resolved_at INTEGER,
    resolution TEXT                    -- mine, theirs, both, or superseded (a later sync settled it)
  );
  INSERT INTO conflicts_8 (id, volume, path, peer, local_deleted, kind, mode, size, mtime, data, manifest, target, m, s, c, created_at, resolved_at, resolution)
    SELECT id, volume, CAST(path AS BLOB), peer, local_deleted, kind, mode, size, mtime, data, manifest, CAST(target AS BLOB), m, s, c, created_at, resolved_at, resolution FROM conflicts;
  DROP TABLE conflicts;
  ALTER TABLE conflicts_8 RENAME TO conflicts;
  CREATE INDEX conflicts_open ON conflicts (volume, path) WHERE resolved_at IS NULL;

  CREATE TABLE pins_8 (
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    path BLOB NOT NULL CHECK (typeof(path) = 'blob'), -- from the volume's root: /dir/name
    created_at INTEGER NOT NULL,
    PRIMARY KEY (volume, path)
  );
  INSERT INTO pins_8 SELECT volume, CAST(path AS BLOB), created_at FROM pins;
  DROP TABLE pins;
  ALTER TABLE pins_8 RENAME TO pins;
  `,
  // 9: snapshot deletions (they sync, so a snapshot deleted on one peer goes on all), and
  // what each peer has seen of a volume (a tombstone is forgotten once every peer has).
  `
  CREATE TABLE snapshot_deletions (
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    root BLOB NOT NULL,                -- the deleted snapshot's root (a name may be reused)
    deleted_at INTEGER NOT NULL,
    PRIMARY KEY (volume, name, root)
  );
  CREATE TABLE peer_seen (
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    peer BLOB NOT NULL CHECK (length(peer) = 32),
    s BLOB,                            -- the peer's whole root sync vector (clock/vector.ts), in local replica ids
    at INTEGER NOT NULL,               -- ms: when it listed its root to us
    PRIMARY KEY (volume, peer)
  );
  `,
  // 10: extended attributes (user.* only), per inode; they go with the inode. Hard links:
  // an inode's other names (nodes holds its first), each with the vectors that make it an
  // entry of its own to peers (its creation, what it has seen). Special files' device numbers.
  `
  CREATE TABLE xattrs (
    ino INTEGER NOT NULL,
    name BLOB NOT NULL CHECK (typeof(name) = 'blob'), -- the full name's bytes: user.NAME
    value BLOB NOT NULL,
    PRIMARY KEY (ino, name)
  ) WITHOUT ROWID;
  CREATE TRIGGER nodes_xattrs_gone AFTER DELETE ON nodes BEGIN DELETE FROM xattrs WHERE ino = old.ino; END;
  CREATE TABLE links (
    parent INTEGER NOT NULL,
    name BLOB NOT NULL CHECK (typeof(name) = 'blob'),
    ino INTEGER NOT NULL,              -- a file's inode in nodes
    s BLOB,                            -- as nodes.s, for this name
    c BLOB,                            -- when this name was made
    PRIMARY KEY (parent, name)
  ) WITHOUT ROWID;
  CREATE INDEX links_ino ON links (ino);
  -- The tree moves a removed first name's inode to another name first: this is for a volume's deletion.
  CREATE TRIGGER nodes_links_gone AFTER DELETE ON nodes BEGIN DELETE FROM links WHERE ino = old.ino; END;
  -- Special files (kinds 4 FIFO, 5 socket, 6 character device, 7 block device): a device's number.
  ALTER TABLE nodes ADD COLUMN rdev INTEGER NOT NULL DEFAULT 0;
  `,
  // 11: remote stores (dir:, sftp://) and the volumes that fetch content from them.
  `
  CREATE TABLE stores (
    name TEXT PRIMARY KEY,             -- as the where-table names it: dir:ID, sftp://user@host:port/path
    kind TEXT NOT NULL,                -- dir | sftp
    location TEXT NOT NULL,            -- dir: the path it was last found at; sftp: its URL
    added_at INTEGER NOT NULL,
    seen_at INTEGER                    -- ms: when it last answered (null: never since added)
  );
  CREATE TABLE volume_stores (
    volume INTEGER NOT NULL REFERENCES volumes (id) ON DELETE CASCADE,
    store TEXT NOT NULL REFERENCES stores (name) ON DELETE CASCADE,
    PRIMARY KEY (volume, store)
  );
  `,
];
