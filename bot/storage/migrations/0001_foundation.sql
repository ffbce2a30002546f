-- Foundation schema. All *_at / date columns are INTEGER unix seconds (UTC).

CREATE TABLE communities (
    chat_id      INTEGER PRIMARY KEY,          -- 64-bit Telegram chat id
    title        TEXT    NOT NULL DEFAULT '',
    type         TEXT    NOT NULL,             -- group | supergroup | channel
    is_forum     INTEGER NOT NULL DEFAULT 0,
    username     TEXT,
    timezone     TEXT    NOT NULL DEFAULT 'UTC',
    language     TEXT    NOT NULL DEFAULT 'en',
    settings     TEXT    NOT NULL DEFAULT '{}', -- JSON object of per-community overrides
    is_active    INTEGER NOT NULL DEFAULT 1,
    bot_status   TEXT    NOT NULL DEFAULT 'member',
    added_by     INTEGER,
    migrated_to  INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE members (
    chat_id        INTEGER NOT NULL REFERENCES communities(chat_id) ON DELETE CASCADE,
    user_id        INTEGER NOT NULL,
    first_name     TEXT    NOT NULL DEFAULT '',
    username       TEXT,
    language_code  TEXT,
    status         TEXT    NOT NULL DEFAULT 'member',
    joined_at      INTEGER,
    left_at        INTEGER,
    invite_link    TEXT,
    first_seen_at  INTEGER NOT NULL,
    last_seen_at   INTEGER NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);

CREATE TABLE managers (
    user_id           INTEGER PRIMARY KEY,
    first_name        TEXT    NOT NULL DEFAULT '',
    username          TEXT,
    language_code     TEXT,
    has_private_chat  INTEGER NOT NULL DEFAULT 0,  -- started the bot, so it may DM them
    updated_at        INTEGER NOT NULL
);

CREATE TABLE messages (
    id                   INTEGER PRIMARY KEY,
    chat_id              INTEGER NOT NULL,
    message_id           INTEGER NOT NULL,
    thread_id            INTEGER,                 -- forum topic (message_thread_id)
    reply_to_message_id  INTEGER,
    reply_to_user_id     INTEGER,
    thread_key           TEXT    NOT NULL,        -- 't:<topic>' or 'm:<root message id>'
    user_id              INTEGER NOT NULL,
    sender_chat_id       INTEGER,
    text                 TEXT    NOT NULL DEFAULT '',
    date                 INTEGER NOT NULL,
    edited_at            INTEGER,
    is_question          INTEGER,
    sentiment_label      TEXT,                    -- negative | neutral | positive | unclassified
    sentiment_score      REAL,
    seen_count           INTEGER NOT NULL DEFAULT 1,  -- >1: an edit or a redelivered update
    UNIQUE (chat_id, message_id)
);
CREATE INDEX messages_thread ON messages (chat_id, thread_key, date);
CREATE INDEX messages_chat_date ON messages (chat_id, date);
CREATE INDEX messages_user ON messages (chat_id, user_id, date);

-- Small key/value state: the last handled update id, one-off notices already sent.
CREATE TABLE state (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
