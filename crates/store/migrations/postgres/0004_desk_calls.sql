-- What an agent's desktop shows of a call held by another node: the screen pop the
-- holding node's call session made (caller, ticket, queue), as the server's JSON, so a
-- desktop on any node shows it. Personal data: a row is deleted a day after it was
-- written (by the next write).
CREATE TABLE desk_calls (
    call_id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX desk_calls_at ON desk_calls (at_ms);
