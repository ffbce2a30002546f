-- Growth: invite campaigns, joins and leaves, welcome messages.
-- All *_at columns are INTEGER unix seconds (UTC); chat ids are 64-bit.

-- A named invite link made with createChatInviteLink (/invite_new <campaign>).
CREATE TABLE invite_campaigns (
    id           INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL,
    name         TEXT    NOT NULL,                 -- 1-32 characters, Telegram's limit for link names
    invite_link  TEXT    NOT NULL UNIQUE,
    created_by   INTEGER,                          -- user id of the manager or admin
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    UNIQUE (chat_id, name)
);

-- One row per join or leave. A join reported twice (chat_member update and the
-- new_chat_members service message) is one row: the second report only completes it.
CREATE TABLE member_events (
    id           INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('join', 'leave')),
    at           INTEGER NOT NULL,
    source       TEXT    NOT NULL,                 -- chat_member | service
    invite_link  TEXT,                             -- the link used to join, when Telegram says
    campaign_id  INTEGER REFERENCES invite_campaigns(id) ON DELETE SET NULL,
    via          TEXT,                             -- link | added | join_request | folder | self | NULL
    welcomed     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX member_events_chat ON member_events (chat_id, kind, at);
CREATE INDEX member_events_user ON member_events (chat_id, user_id, at);

-- Welcome messages the bot sent, so they can delete themselves later (survives restarts).
CREATE TABLE welcome_messages (
    chat_id      INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,
    members      INTEGER NOT NULL DEFAULT 1,       -- how many joiners this message greeted
    sent_at      INTEGER NOT NULL,
    delete_at    INTEGER,                          -- NULL: keep
    deleted_at   INTEGER,
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX welcome_messages_due ON welcome_messages (delete_at) WHERE deleted_at IS NULL;

-- Analytics: questions → their first reply, posts → their replies (one lookup per question/post).
CREATE INDEX IF NOT EXISTS messages_reply ON messages (chat_id, reply_to_message_id);
