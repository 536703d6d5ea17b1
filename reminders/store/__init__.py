"""Queries that take a session: the claims and the hot reads, written once for both engines."""
