-- The PostgreSQL schema: the same tables and columns as SQLite's migrations 0001-0004
-- (times are Unix milliseconds, UTC; JSON kept as text), plus what several nodes sharing
-- one database need: the node that claimed an in-flight outbox item, and node leases.

CREATE TABLE interactions (
    call_id            TEXT PRIMARY KEY NOT NULL,
    ani                TEXT NOT NULL,
    dnis               TEXT NOT NULL,
    user_id            TEXT,
    ticket_id          TEXT,
    language           TEXT,
    menu_path          TEXT NOT NULL DEFAULT '[]',
    queue              TEXT,
    priority           BIGINT,
    arrived_at         BIGINT NOT NULL,
    answered_at        BIGINT,
    queued_at          BIGINT,
    offered_at         BIGINT,
    agent_answered_at  BIGINT,
    ended_at           BIGINT,
    wait_ms            BIGINT,
    talk_ms            BIGINT,
    agent_id           TEXT,
    agent_name         TEXT,
    end_reason         TEXT,
    end_detail         TEXT,
    flow_errors        TEXT NOT NULL DEFAULT '[]',
    updated_at         BIGINT NOT NULL
);
CREATE INDEX interactions_arrived ON interactions (arrived_at);
CREATE INDEX interactions_ani ON interactions (ani, arrived_at);
CREATE INDEX interactions_ticket ON interactions (ticket_id, arrived_at);

-- state: pending | in_flight | uncertain | delivered | dead | dropped
CREATE TABLE outbox (
    id               BIGSERIAL PRIMARY KEY,
    call_id          TEXT,
    ordering_key     TEXT NOT NULL,
    connector        TEXT NOT NULL,
    method           TEXT NOT NULL,
    path             TEXT NOT NULL,
    query            TEXT NOT NULL DEFAULT '[]',
    headers          TEXT NOT NULL DEFAULT '[]',
    body             TEXT,
    marker           TEXT,
    state            TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    delivered_at     BIGINT,
    last_status      BIGINT,
    last_error       TEXT,
    last_response    TEXT,
    resume           TEXT,
    -- The node whose worker holds the item in flight (NULL in every other state).
    claimed_by       TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_key ON outbox (ordering_key, id);
CREATE INDEX outbox_call ON outbox (call_id);
CREATE UNIQUE INDEX outbox_marker ON outbox (marker) WHERE marker IS NOT NULL;
CREATE INDEX outbox_waiting ON outbox (ordering_key, id)
    WHERE state IN ('pending', 'in_flight', 'uncertain');
CREATE INDEX outbox_claimed ON outbox (claimed_by) WHERE state = 'in_flight';

-- One row per running node (its outbox worker): renewed every few seconds; a node whose
-- lease ran out is removed by another node, which makes its in-flight items uncertain.
-- Times are the database's clock (milliseconds), so nodes' clocks need not agree.
CREATE TABLE nodes (
    node          TEXT PRIMARY KEY NOT NULL,
    -- Which process holds the name (random per start): a second process given the same
    -- name cannot renew the first one's lease.
    incarnation   TEXT NOT NULL,
    started_at    BIGINT NOT NULL,
    renewed_at    BIGINT NOT NULL,
    lease_until   BIGINT NOT NULL
);
