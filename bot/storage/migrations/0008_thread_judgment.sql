-- Escalation judged on the thread: threads waiting for a peer to settle them, and each case's signals.

-- A thread whose matter is ordinary (not urgent) waits until due_at for a peer to settle it; the
-- escalation check (EscalationService.tick) judges it again then, also after a restart.
CREATE TABLE escalation_watch (
    chat_id           INTEGER NOT NULL,
    thread_key        TEXT    NOT NULL,          -- messages.thread_key
    topic_id          INTEGER,                   -- forum topic of the thread, if any
    due_at            INTEGER NOT NULL,          -- unix seconds: judge again at or after this
    first_message_id  INTEGER NOT NULL,          -- the message that raised the matter
    last_message_id   INTEGER NOT NULL,          -- the thread's latest message when last judged
    detail            TEXT    NOT NULL DEFAULT '', -- what it waits on, in plain words
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (chat_id, thread_key)
);
CREATE INDEX escalation_watch_due ON escalation_watch (due_at);

-- The judgment behind a case: one JSON list of {signal, value, text} (shown by /case ID why).
ALTER TABLE cases ADD COLUMN signals TEXT NOT NULL DEFAULT '';
