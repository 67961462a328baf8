"""Revisions of the core's schema, oldest first."""
