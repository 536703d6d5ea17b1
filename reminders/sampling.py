"""Which replies triage called ok go to staff review: a fixed share, chosen by message id.

Deterministic, so a test (and a second look at the list) sees the same sample, and the
same rule runs in Python and in SQL (`sql_sampled`). The multiplier is odd and prime to
BUCKETS, so every run of BUCKETS consecutive ids holds exactly `threshold(rate)` sampled
ids, spread over the run rather than bunched at its start.
"""

from __future__ import annotations

import sqlalchemy as sa

BUCKETS = 10_000
_MULTIPLIER = 2_654_435_761  # Knuth's multiplicative hash constant


def threshold(rate: float) -> int:
    if not 0 <= rate <= 1:
        raise ValueError("rate must be between 0 and 1")
    return round(rate * BUCKETS)


def bucket(message_id: int) -> int:
    return (message_id * _MULTIPLIER) % BUCKETS


def sampled(message_id: int, rate: float) -> bool:
    return bucket(message_id) < threshold(rate)


def sql_sampled(column: sa.ColumnElement[int], rate: float) -> sa.ColumnElement[bool]:
    """The same test as `sampled`, as a SQL condition (64-bit arithmetic on both engines)."""
    product = sa.cast(column, sa.BigInteger) * sa.literal(_MULTIPLIER, sa.BigInteger)
    return (product % BUCKETS) < threshold(rate)
