"""Call records: SQLAlchemy 2 async tables, batched recorder, durable spool, Alembic migrations."""
