-- What a flow does after an item's request: a call_ended handler that met an outage keeps
-- the rest of its run here (JSON, opaque to the store); the deliverer resumes it and the
-- requests it records become new items. NULL for an ordinary request.
ALTER TABLE outbox ADD COLUMN resume TEXT;
