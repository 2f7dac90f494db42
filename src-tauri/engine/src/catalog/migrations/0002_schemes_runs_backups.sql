-- Destinations, schemes, runs and backup files. No secret is ever stored here: passwords and
-- keys live in the OS keychain; a destination keeps only the fingerprint it pinned.

CREATE TABLE destination (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL CHECK (kind IN ('local', 'ftp', 'ftps', 'sftp')),
    host                TEXT,                   -- NULL for local
    port                INTEGER CHECK (port IS NULL OR port BETWEEN 1 AND 65535),
    user_name           TEXT,
    folder              TEXT NOT NULL,          -- local path, or the folder on the server
    quota_bytes         INTEGER CHECK (quota_bytes IS NULL OR quota_bytes > 0),
    pinned_fingerprint  TEXT,                   -- TLS certificate or SSH host key SHA-256
    created_at          TEXT NOT NULL
);

CREATE TABLE scheme (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL UNIQUE,       -- NFC, lower case: names are unique ignoring case
    site_id         INTEGER NOT NULL REFERENCES jira_site (id) ON DELETE RESTRICT,
    kind            TEXT NOT NULL CHECK (kind IN ('basic', 'extended')),
    days            INTEGER NOT NULL CHECK (days BETWEEN 1 AND 127),   -- bit 0 = Monday
    time_of_day     TEXT NOT NULL,              -- HH:MM
    time_zone       TEXT NOT NULL,              -- IANA name
    keep            INTEGER NOT NULL CHECK (keep BETWEEN 1 AND 1000),
    destination_id  INTEGER NOT NULL REFERENCES destination (id) ON DELETE RESTRICT,
    folder          TEXT NOT NULL,              -- below the destination's folder
    paused          INTEGER NOT NULL DEFAULT 0,
    last_handled    TEXT NOT NULL,              -- RFC 3339: the last slot run, or when saved/resumed
    created_at      TEXT NOT NULL
);

-- Every attempt. History goes with its scheme; backup files stay (see backup_file).
CREATE TABLE run (
    id              INTEGER PRIMARY KEY,
    scheme_id       INTEGER NOT NULL REFERENCES scheme (id) ON DELETE CASCADE,
    trigger         TEXT NOT NULL CHECK (trigger IN ('schedule', 'catch_up', 'manual')),
    slot            TEXT,                       -- the scheduled slot it stands for
    started_at      TEXT NOT NULL,
    heartbeat_at    TEXT NOT NULL,              -- a live run refreshes it; stale = crashed
    finished_at     TEXT,
    outcome         TEXT NOT NULL
                    CHECK (outcome IN ('running', 'succeeded', 'failed', 'partial', 'interrupted')),
    phases          TEXT NOT NULL DEFAULT '{}', -- JSON: phase -> milliseconds
    bytes           INTEGER,
    error_kind      TEXT,
    error_message   TEXT
);
CREATE INDEX run_by_scheme ON run (scheme_id, started_at DESC, id DESC);
-- A scheme never overlaps itself, whichever process (app or CLI) starts it.
CREATE UNIQUE INDEX run_one_running_per_scheme ON run (scheme_id) WHERE outcome = 'running';

CREATE TABLE backup_file (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    scheme_id         INTEGER REFERENCES scheme (id) ON DELETE SET NULL,  -- NULL: scheme deleted, file kept
    run_id            INTEGER REFERENCES run (id) ON DELETE SET NULL,
    destination_id    INTEGER NOT NULL REFERENCES destination (id) ON DELETE RESTRICT,
    folder            TEXT NOT NULL,
    size              INTEGER NOT NULL CHECK (size >= 0),
    sha256            TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    entity_counts     TEXT NOT NULL DEFAULT '{}',   -- JSON: entity -> count
    partial_sections  TEXT NOT NULL DEFAULT '[]',   -- JSON: [{section, reason}]
    verified          INTEGER NOT NULL DEFAULT 0,
    UNIQUE (destination_id, folder, name)
);
CREATE INDEX backup_by_scheme ON backup_file (scheme_id, created_at DESC);
