"""Alembic migrations of the core's schema; plugins ship none."""
