-- The shared queue's log (issue 15, decision 0019): every input of the routing core
-- (a call enqueued or gone, an agent registered or set to a state, an offer's result, a
-- timer's tick, a node gone), in the one order every node applies them in. `seq` and
-- `at_ms` (the database's clock, never going back) come from `acd_log_head`, whose row
-- lock serializes appends: the order of `seq` is the order of commits.
CREATE TABLE acd_log (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    node TEXT NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE acd_log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    at_ms BIGINT NOT NULL
);

INSERT INTO acd_log_head (id, seq, at_ms) VALUES (1, 0, 0);
