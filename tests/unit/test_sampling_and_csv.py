"""The review sample (same in Python and SQL) and formula-safe CSV cells."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from reminders import sampling
from reminders.csv_export import safe_cell, to_csv


def test_every_run_of_ten_thousand_ids_holds_exactly_the_share():
    for start in (1, 12_345, 10**9):
        picked = sum(sampling.sampled(i, 0.05) for i in range(start, start + sampling.BUCKETS))
        assert picked == 500


def test_the_sample_is_spread_not_bunched():
    picked = [i for i in range(1, 1001) if sampling.sampled(i, 0.05)]
    assert 30 <= len(picked) <= 70
    assert max(picked) > 900 and min(picked) < 100


def test_rate_bounds():
    assert not any(sampling.sampled(i, 0.0) for i in range(1, 1000))
    assert all(sampling.sampled(i, 1.0) for i in range(1, 1000))
    with pytest.raises(ValueError):
        sampling.threshold(1.5)


def test_sql_and_python_pick_the_same_ids():
    engine = sa.create_engine("sqlite://")
    table = sa.Table("ids", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
    ids = list(range(1, 3000)) + [2_000_000_000]
    with engine.begin() as connection:
        table.create(connection)
        connection.execute(sa.insert(table), [{"id": i} for i in ids])
        picked = connection.execute(
            sa.select(table.c.id).where(sampling.sql_sampled(table.c.id, 0.05))).scalars().all()
    assert sorted(picked) == [i for i in ids if sampling.sampled(i, 0.05)]


@pytest.mark.parametrize("value", ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_get_a_leading_quote(value):
    assert safe_cell(value) == "'" + value


def test_plain_cells_are_unchanged():
    assert safe_cell("niko sawa") == "niko sawa"
    assert safe_cell(None) == ""
    assert safe_cell(3) == "3"
    assert to_csv(["a", "b"], [["x,y", "=z"]]) == 'a,b\r\n"x,y",\'=z\r\n'
