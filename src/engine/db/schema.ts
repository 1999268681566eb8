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
];
