"""Use cases: each takes a session (and a gateway or `now` where it needs them).

The CLI, the API, the pages and the scheduled jobs all call these; none holds rules of
its own.
"""
