//! SQLite storage: interactions, the durable outbox, migrations.
