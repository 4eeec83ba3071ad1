"""Alembic migrations of every table (SQLite and PostgreSQL)."""
