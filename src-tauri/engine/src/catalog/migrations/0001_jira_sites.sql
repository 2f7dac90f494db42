-- Jira Cloud sites the user has configured. The API token is never stored here: it lives in
-- the OS keychain under the key derived from (url, email).
CREATE TABLE jira_site (
    id            INTEGER PRIMARY KEY,
    url           TEXT NOT NULL,            -- normalised: scheme://host[:port], no path
    email         TEXT NOT NULL,
    display_name  TEXT,                     -- from /myself at the last successful check
    account_id    TEXT,
    is_admin      INTEGER,                  -- 1/0 from mypermissions ADMINISTER; NULL = never checked
    time_zone     TEXT,                     -- the Jira user's time zone, default for schemes
    last_checked  TEXT,                     -- RFC 3339 UTC of the last successful check
    created_at    TEXT NOT NULL,
    UNIQUE (url, email)
);
