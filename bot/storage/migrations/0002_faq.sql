-- FAQ: knowledge base, answers given, votes, suggestions and unanswered questions.
-- chat_id 0 is the global set that applies to every community. Times are unix seconds (UTC).

CREATE TABLE faq_entries (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,              -- the community; 0 = global
    key         TEXT    NOT NULL,              -- the human id from the import file ("refund")
    answer      TEXT    NOT NULL,              -- HTML
    answers     TEXT    NOT NULL DEFAULT '{}', -- JSON {"ru": html, "he": html}
    buttons     TEXT    NOT NULL DEFAULT '[]', -- JSON [{"text": …, "url": …}]
    thread_id   INTEGER,                       -- only matches in this forum topic when set
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_by  INTEGER,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (chat_id, key)
);

CREATE TABLE faq_variants (
    id         INTEGER PRIMARY KEY,
    entry_id   INTEGER NOT NULL REFERENCES faq_entries(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    encoder    TEXT    NOT NULL,               -- which encoder made the embedding
    embedding  BLOB    NOT NULL                -- float32 little-endian, L2-normalised
);
CREATE INDEX faq_variants_entry ON faq_variants (entry_id, position);

-- Every answer the bot posted (for the cooldown link and the votes).
CREATE TABLE faq_answers (
    id                   INTEGER PRIMARY KEY,
    chat_id              INTEGER NOT NULL,
    entry_id             INTEGER REFERENCES faq_entries(id) ON DELETE SET NULL,
    message_id           INTEGER,              -- the bot's answer message
    thread_id            INTEGER,
    question_message_id  INTEGER,
    user_id              INTEGER NOT NULL,     -- who asked
    score                REAL,
    how                  TEXT    NOT NULL,     -- answer | suggestion | cooldown
    created_at           INTEGER NOT NULL
);
CREATE INDEX faq_answers_recent ON faq_answers (chat_id, entry_id, created_at);
CREATE INDEX faq_answers_user ON faq_answers (chat_id, user_id, created_at);

CREATE TABLE faq_votes (
    answer_id   INTEGER NOT NULL REFERENCES faq_answers(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    vote        INTEGER NOT NULL,              -- +1 / -1
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (answer_id, user_id)
);

CREATE TABLE faq_unanswered (
    id            INTEGER PRIMARY KEY,
    chat_id       INTEGER NOT NULL,
    message_id    INTEGER NOT NULL,
    thread_id     INTEGER,
    user_id       INTEGER NOT NULL,
    text          TEXT    NOT NULL,
    language      TEXT,
    best_entry_id INTEGER,
    best_score    REAL,
    encoder       TEXT,
    embedding     BLOB,
    status        TEXT    NOT NULL DEFAULT 'open', -- open | resolved | dismissed
    entry_id      INTEGER REFERENCES faq_entries(id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (chat_id, message_id)
);
CREATE INDEX faq_unanswered_open ON faq_unanswered (chat_id, status, created_at);
