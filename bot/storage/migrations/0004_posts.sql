-- Scheduled posts, their runs (one row per fire), engagement, and news feeds.
-- All *_at columns are INTEGER unix seconds (UTC); chat ids are 64-bit.

CREATE TABLE posts (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL,                 -- the community
    thread_id       INTEGER,                          -- forum topic (message_thread_id)
    text            TEXT    NOT NULL DEFAULT '',      -- HTML
    media_kind      TEXT,                             -- NULL | 'photo' | 'document'
    media           TEXT,                             -- file_id or URL
    buttons         TEXT    NOT NULL DEFAULT '[]',    -- JSON [[{"text","url"}...]...]
    pin             INTEGER NOT NULL DEFAULT 0,
    unpin_after_min INTEGER,                          -- unpin this many minutes after posting
    silent          INTEGER NOT NULL DEFAULT 0,
    protect         INTEGER NOT NULL DEFAULT 0,
    at_local        TEXT,                             -- one-off: 'YYYY-MM-DD HH:MM[:SS]' in timezone
    cron            TEXT,                             -- recurring: 5-field cron (local wall-clock)
    timezone        TEXT    NOT NULL DEFAULT 'UTC',   -- IANA zone the schedule is read in
    lateness_s      INTEGER NOT NULL DEFAULT 3600,    -- how late a missed fire may still go out
    due_at          INTEGER,                          -- the next fire (UTC); NULL when none is left
    status          TEXT    NOT NULL DEFAULT 'pending',
        -- pending | sending | paused | sent | failed | missed | uncertain | cancelled
    claimed_at      INTEGER,                          -- when status became 'sending'
    last_error      TEXT,
    source          TEXT    NOT NULL DEFAULT 'dialog', -- dialog | import | feed
    feed_item_id    INTEGER,
    created_by      INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK (status IN ('pending', 'sending', 'paused', 'sent', 'failed', 'missed', 'uncertain', 'cancelled'))
);
CREATE INDEX posts_due ON posts (status, due_at);
CREATE INDEX posts_chat ON posts (chat_id, status, due_at);

CREATE TABLE post_runs (
    id          INTEGER PRIMARY KEY,
    post_id     INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    due_at      INTEGER NOT NULL,
    status      TEXT    NOT NULL,      -- sent | failed | missed | uncertain
    chat_id     INTEGER NOT NULL,      -- final chat (after a migration)
    thread_id   INTEGER,
    message_id  INTEGER,               -- the first message (the one links point to)
    message_ids TEXT    NOT NULL DEFAULT '[]',
    error       TEXT,
    late_s      INTEGER NOT NULL DEFAULT 0,
    unpin_at    INTEGER,
    unpinned    INTEGER NOT NULL DEFAULT 0,
    replies     INTEGER NOT NULL DEFAULT 0,
    reactions   INTEGER NOT NULL DEFAULT 0,   -- latest total of message_reaction_count
    reported    INTEGER NOT NULL DEFAULT 0,   -- the managers got the receipt for this run
    created_at  INTEGER NOT NULL
);
CREATE INDEX post_runs_post ON post_runs (post_id, due_at);
CREATE INDEX post_runs_message ON post_runs (chat_id, message_id);
CREATE INDEX post_runs_unpin ON post_runs (unpinned, unpin_at);

CREATE TABLE post_reactions (
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    emoji       TEXT    NOT NULL,
    count       INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (chat_id, message_id, emoji)
);

CREATE TABLE feeds (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL,
    url             TEXT    NOT NULL,
    thread_id       INTEGER,                      -- forum topic its posts go to
    title           TEXT    NOT NULL DEFAULT '',
    etag            TEXT,
    last_modified   TEXT,
    is_active       INTEGER NOT NULL DEFAULT 1,
    errors          INTEGER NOT NULL DEFAULT 0,   -- consecutive failures (back-off)
    last_error      TEXT,
    next_poll_at    INTEGER NOT NULL DEFAULT 0,
    last_polled_at  INTEGER,
    added_by        INTEGER,
    created_at      INTEGER NOT NULL,
    UNIQUE (chat_id, url)
);

CREATE TABLE feed_items (
    id           INTEGER PRIMARY KEY,
    feed_id      INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    chat_id      INTEGER NOT NULL,
    guid         TEXT    NOT NULL,
    link         TEXT,
    title        TEXT    NOT NULL DEFAULT '',
    summary      TEXT    NOT NULL DEFAULT '',
    text         TEXT,                -- the post text a manager wrote with Edit (NULL: built from the item)
    published_at INTEGER,
    score        REAL,
    status       TEXT    NOT NULL,   -- draft | approved | posted | skipped | duplicate | denied | irrelevant
    reason       TEXT,
    duplicate_of INTEGER,
    post_id      INTEGER,
    cards        TEXT    NOT NULL DEFAULT '[]',   -- JSON [[chat_id, message_id, thread_id]] of draft cards
    created_at   INTEGER NOT NULL,
    decided_by   INTEGER,
    decided_at   INTEGER
);
CREATE UNIQUE INDEX feed_items_guid ON feed_items (chat_id, guid);
CREATE INDEX feed_items_link ON feed_items (chat_id, link);
CREATE INDEX feed_items_recent ON feed_items (chat_id, created_at);
