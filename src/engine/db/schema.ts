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
];
