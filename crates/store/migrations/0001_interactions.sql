-- One row per call, answered or not. Times are Unix milliseconds (UTC).
CREATE TABLE interactions (
    call_id            TEXT PRIMARY KEY NOT NULL,
    ani                TEXT NOT NULL,
    dnis               TEXT NOT NULL,
    user_id            TEXT,
    ticket_id          TEXT,
    language           TEXT,
    menu_path          TEXT NOT NULL DEFAULT '[]',   -- JSON [{"key":"1","node":"queue"}]
    queue              TEXT,
    priority           INTEGER,
    arrived_at         INTEGER NOT NULL,
    answered_at        INTEGER,
    queued_at          INTEGER,
    offered_at         INTEGER,
    agent_answered_at  INTEGER,
    ended_at           INTEGER,
    wait_ms            INTEGER,
    talk_ms            INTEGER,
    agent_id           TEXT,
    agent_name         TEXT,
    end_reason         TEXT,
    end_detail         TEXT,
    flow_errors        TEXT NOT NULL DEFAULT '[]',   -- JSON [{"node":"n","message":"m"}]
    updated_at         INTEGER NOT NULL
);
CREATE INDEX interactions_arrived ON interactions (arrived_at);
CREATE INDEX interactions_ani ON interactions (ani, arrived_at);
CREATE INDEX interactions_ticket ON interactions (ticket_id, arrived_at);
