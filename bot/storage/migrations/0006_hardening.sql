-- Hardening (issue 13): admins' unfinished dialogs survive a restart; who may use the bot.

-- aiogram FSM records (bot/storage/fsm.py). key: aiogram's DefaultKeyBuilder key (bot, chat, user, destiny).
CREATE TABLE dialogs (
    key         TEXT    PRIMARY KEY,
    state       TEXT,
    data        TEXT    NOT NULL DEFAULT '{}',   -- JSON object
    updated_at  INTEGER NOT NULL
);

-- [access] communities = "approved": a community is served once approved. Communities that existed
-- before this migration were served already, so they stay served.
ALTER TABLE communities ADD COLUMN approved_at INTEGER;
ALTER TABLE communities ADD COLUMN approved_by INTEGER;
ALTER TABLE communities ADD COLUMN access_notice_at INTEGER;  -- when the "not approved" line was sent
UPDATE communities SET approved_at = created_at;
