-- Escalation: cases opened for negative threads, their history, cards, pending replies, feedback.
-- All *_at columns are INTEGER unix seconds (UTC). Chat and user ids are 64-bit.

CREATE TABLE cases (
    id                 INTEGER PRIMARY KEY,
    chat_id            INTEGER NOT NULL,
    thread_key         TEXT    NOT NULL,          -- 't:<topic>' or 'm:<root message id>' (messages.thread_key)
    topic_id           INTEGER,                   -- forum topic of the thread in the community, if any
    state              TEXT    NOT NULL DEFAULT 'open',
                       -- open | taken | answered | snoozed | resolved | dismissed | expired (shadow only)
    shadow             INTEGER NOT NULL DEFAULT 0, -- recorded in observe mode: nobody was notified
    reasons            TEXT    NOT NULL DEFAULT '', -- comma-separated: very_negative,pile_on,reply_to_staff,keyword
    detail             TEXT    NOT NULL DEFAULT '', -- the policy's explanation, in English (logs, reports)
    keyword            TEXT,                       -- the keyword that matched, if any
    severity           REAL    NOT NULL DEFAULT 0, -- highest negative score seen in the thread
    negative_members   INTEGER NOT NULL DEFAULT 0, -- distinct members posting negatively
    message_count      INTEGER NOT NULL DEFAULT 0, -- thread messages seen since the case opened (incl. the trigger)
    first_message_id   INTEGER NOT NULL,           -- the message that tripped the policy
    last_message_id    INTEGER NOT NULL,           -- the thread's latest member message (replies go here)
    opened_at          INTEGER NOT NULL,
    last_activity_at   INTEGER NOT NULL,
    taken_by           INTEGER,
    taken_by_name      TEXT,
    taken_at           INTEGER,
    answered_by        INTEGER,
    answered_by_name   TEXT,
    first_response_at  INTEGER,                    -- first answer (through the bot or in the chat)
    response_seconds   INTEGER,                    -- first_response_at - opened_at
    snoozed_until      INTEGER,
    closed_by          INTEGER,
    closed_by_name     TEXT,
    closed_at          INTEGER,                    -- resolved / dismissed / expired
    last_reminded_at   INTEGER,
    reminders          INTEGER NOT NULL DEFAULT 0
);
-- At most one case per thread that is not closed.
CREATE UNIQUE INDEX cases_one_active ON cases (chat_id, thread_key) WHERE closed_at IS NULL;
CREATE INDEX cases_state ON cases (state, opened_at);
CREATE INDEX cases_chat ON cases (chat_id, opened_at);

-- Every transition: who and when.
CREATE TABLE case_events (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    actor_id    INTEGER,                -- NULL: Steward itself
    actor_name  TEXT,
    action      TEXT    NOT NULL,       -- opened | taken | answered | resolved | dismissed | snoozed | woke | reminded | expired
    from_state  TEXT,
    to_state    TEXT,
    note        TEXT                    -- e.g. the answer that was posted
);
CREATE INDEX case_events_case ON case_events (case_id, at);

-- Copies of a case card (managers' group, or one DM per manager), edited in place.
CREATE TABLE case_cards (
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    thread_id   INTEGER,                -- forum topic in the managers' group
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX case_cards_case ON case_cards (case_id);

-- "Reply" pressed: the manager's next message in that chat is the answer. Survives restarts.
CREATE TABLE case_pending_replies (
    user_id     INTEGER NOT NULL,
    chat_id     INTEGER NOT NULL,       -- where the manager must write (managers' group or private chat)
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, chat_id)
);

-- Feedback per community: how many closed cases were real (resolved) or false alarms (dismissed).
CREATE TABLE escalation_feedback (
    chat_id     INTEGER PRIMARY KEY,
    resolved    INTEGER NOT NULL DEFAULT 0,
    dismissed   INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
);

-- Every threshold change made from feedback.
CREATE TABLE escalation_tuning (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor_id    INTEGER,
    case_id     INTEGER,
    setting     TEXT    NOT NULL,       -- e.g. escalation.very_negative
    old_value   TEXT    NOT NULL,
    new_value   TEXT    NOT NULL,
    reason      TEXT    NOT NULL
);
CREATE INDEX escalation_tuning_chat ON escalation_tuning (chat_id, at);
