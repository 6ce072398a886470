-- Durable HTTP requests, written in the same transaction as the interaction.
-- state: pending | in_flight | uncertain | delivered | dead | dropped
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id          TEXT,
    ordering_key     TEXT NOT NULL,
    connector        TEXT NOT NULL,
    method           TEXT NOT NULL,
    path             TEXT NOT NULL,
    query            TEXT NOT NULL DEFAULT '[]',     -- JSON [["name","value"]]
    headers          TEXT NOT NULL DEFAULT '[]',     -- JSON [["name","value"]]
    body             TEXT,
    marker           TEXT,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    last_status      INTEGER,
    last_error       TEXT,
    last_response    TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_key ON outbox (ordering_key, id);
CREATE INDEX outbox_call ON outbox (call_id);
-- A marker identifies one logical request: recording it twice is a no-op.
CREATE UNIQUE INDEX outbox_marker ON outbox (marker) WHERE marker IS NOT NULL;
