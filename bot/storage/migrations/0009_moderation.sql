-- Moderation: what a case is about (reported or suspected messages), member reports, the audit log,
-- warnings, spam marks that teach the detector, and self-deleting notices.
-- All *_at columns are INTEGER unix seconds (UTC). Chat, user and message ids are 64-bit.

-- One message (and its author) that a case is about: reported by members or suspected as spam.
CREATE TABLE mod_subjects (
    id               INTEGER PRIMARY KEY,
    case_id          INTEGER REFERENCES cases(id) ON DELETE SET NULL,
    chat_id          INTEGER NOT NULL,
    message_id       INTEGER NOT NULL,
    thread_id        INTEGER,                  -- forum topic of the message, if any
    user_id          INTEGER NOT NULL,         -- the author (for a channel: the channel id)
    sender_chat_id   INTEGER,                  -- set when the message was sent on behalf of a chat
    author_name      TEXT    NOT NULL DEFAULT '',
    text             TEXT    NOT NULL DEFAULT '',
    kind             TEXT    NOT NULL,         -- report | spam
    protected        TEXT,                     -- why no action may be taken against the author (staff, ...)
    spam_score       REAL,                     -- the detector's score, for kind = 'spam'
    spam_detail      TEXT,
    verdict          TEXT,                     -- spam | ham, once a manager decided
    deleted          INTEGER NOT NULL DEFAULT 0,
    restored_message_id INTEGER,               -- the repost after "Not spam"
    created_at       INTEGER NOT NULL,
    UNIQUE (chat_id, message_id, kind)
);
CREATE INDEX mod_subjects_case ON mod_subjects (case_id);

-- Who reported what: one row per member and message; also the per-member rate limit.
CREATE TABLE mod_reports (
    chat_id      INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,
    reporter_id  INTEGER NOT NULL,
    subject_id   INTEGER REFERENCES mod_subjects(id) ON DELETE CASCADE,
    at           INTEGER NOT NULL,
    PRIMARY KEY (chat_id, message_id, reporter_id)
);
CREATE INDEX mod_reports_reporter ON mod_reports (chat_id, reporter_id, at);

-- The audit log: every moderation action, who took it, when and why, and whether Telegram accepted it.
CREATE TABLE mod_actions (
    id               INTEGER PRIMARY KEY,
    chat_id          INTEGER NOT NULL,
    case_id          INTEGER,
    subject_id       INTEGER,
    target_id        INTEGER,                  -- user id, or the channel id for sender_chat bans
    target_name      TEXT    NOT NULL DEFAULT '',
    action           TEXT    NOT NULL,         -- delete | delete_last | warn | mute | unmute | ban | unban | spam | ham | restore
    actor_id         INTEGER,                  -- NULL: Steward itself (spam policy, warn limit)
    actor_name       TEXT    NOT NULL DEFAULT '',
    reason           TEXT    NOT NULL DEFAULT '',
    until_at         INTEGER,                  -- end of a mute or ban (NULL: forever / not applicable)
    ok               INTEGER NOT NULL,
    error            TEXT,
    at               INTEGER NOT NULL
);
CREATE INDEX mod_actions_chat ON mod_actions (chat_id, at);
CREATE INDEX mod_actions_case ON mod_actions (case_id, at);

-- Warnings count towards the community's warn limit until a mute clears them.
CREATE TABLE mod_warnings (
    id        INTEGER PRIMARY KEY,
    chat_id   INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    actor_id  INTEGER,
    reason    TEXT    NOT NULL DEFAULT '',
    at        INTEGER NOT NULL,
    cleared   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX mod_warnings_user ON mod_warnings (chat_id, user_id, cleared);

-- Messages this deployment's managers marked: the similarity index and the model's lessons.
CREATE TABLE spam_marks (
    id         INTEGER PRIMARY KEY,
    chat_id    INTEGER NOT NULL,
    text       TEXT    NOT NULL,
    label      TEXT    NOT NULL,               -- spam | ham
    actor_id   INTEGER,
    subject_id INTEGER,
    at         INTEGER NOT NULL
);

-- Short notices in groups that delete themselves.
CREATE TABLE mod_notices (
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    delete_at   INTEGER NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX mod_notices_due ON mod_notices (delete_at);

-- The join gate: a join request waits for a one-button check in private, then is approved or declined.
CREATE TABLE mod_join_requests (
    chat_id      INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    user_name    TEXT    NOT NULL DEFAULT '',
    requested_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'pending',  -- pending | approved | declined | failed
    decided_at   INTEGER,
    PRIMARY KEY (chat_id, user_id)
);
CREATE INDEX mod_join_requests_due ON mod_join_requests (state, expires_at);
