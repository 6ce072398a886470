-- Head-of-key lookups: "is an earlier item of this key still waiting?" reads only the items
-- that still wait (pending, in flight, uncertain). Without it that probe walked every
-- delivered item of the key first, so selecting due items cost (items waiting) x (items
-- delivered per key): a backlog on a few busy tickets drained at a few items per second.
CREATE INDEX outbox_waiting ON outbox (ordering_key, id)
    WHERE state IN ('pending', 'in_flight', 'uncertain');
