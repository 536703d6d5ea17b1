"""Check-in protocols: the packaged default, risk rules and validation of edited files."""

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from reminders.errors import InputError
from reminders.protocols import Protocol, is_high_risk, load_protocol, parse_protocol


def default_data() -> dict:
    text = resources.files("reminders").joinpath("data/protocols/default.toml").read_text("utf-8")
    return tomllib.loads(text)


def to_toml(data: dict) -> str:
    """Just enough TOML writing for flat protocol files."""

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    return "\n".join(f"{k} = {value(v)}" for k, v in data.items()) + "\n"


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "clinic.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    return path


def test_default_protocol_matches_the_design():
    protocol = load_protocol()
    assert protocol.name == "default"
    assert protocol.days == (3, 7, 10, 14, 17, 21, 24, 28, 35, 42, 49, 56)
    assert protocol.last_day == 56
    assert (protocol.quiet_start, protocol.quiet_end, protocol.default_hour) == (20, 7, 9)
    assert (protocol.reminder_after_hours, protocol.no_response_after_hours) == (24, 48)
    assert protocol.cd4_threshold == 100
    assert protocol.recent_oi_weeks == 8


def test_default_protocol_is_cached_and_frozen():
    protocol = load_protocol()
    assert load_protocol() is protocol
    with pytest.raises(AttributeError):
        protocol.last_day = 90  # type: ignore[misc]


def test_high_risk_days_are_extra_checkins_in_weeks_1_to_4():
    protocol = load_protocol()
    assert protocol.high_risk_days
    assert all(1 <= day <= 28 for day in protocol.high_risk_days)
    assert not set(protocol.high_risk_days) & set(protocol.days)


def test_high_risk_plan_leaves_no_gap_longer_than_3_days_in_the_first_month():
    days = load_protocol().days_for(high_risk=True)
    first_month = [0, *[d for d in days if d <= 28]]
    assert max(b - a for a, b in zip(first_month, first_month[1:])) <= 3


def test_days_for_is_sorted_unique_and_adds_high_risk_days():
    protocol = load_protocol()
    standard = protocol.days_for(high_risk=False)
    high = protocol.days_for(high_risk=True)
    assert standard == protocol.days
    assert list(high) == sorted(set(high))
    assert set(high) == set(protocol.days) | set(protocol.high_risk_days)
    assert len(high) > len(standard)


@pytest.mark.parametrize(
    ("cd4", "recent_oi", "expected"),
    [
        (99, False, True),
        (100, False, False),  # "CD4 < 100": 100 itself is not high risk
        (0, False, True),
        (450, False, False),
        (None, False, False),  # unknown CD4 alone is not high risk
        (None, True, True),
        (450, True, True),
    ],
)
def test_is_high_risk(cd4, recent_oi, expected):
    assert is_high_risk(load_protocol(), cd4, recent_oi) is expected


@pytest.mark.parametrize("cd4", [-1, 12.5, "85", True])
def test_is_high_risk_refuses_a_cd4_that_is_not_a_count(cd4):
    with pytest.raises(InputError) as excinfo:
        is_high_risk(load_protocol(), cd4, False)
    assert excinfo.value.field == "cd4"


def test_quiet_hours_wrap_around_midnight():
    protocol = load_protocol()
    quiet = [h for h in range(24) if protocol.is_quiet_hour(h)]
    assert quiet == [0, 1, 2, 3, 4, 5, 6, 20, 21, 22, 23]


def test_a_clinic_copy_loads_from_a_path(tmp_path):
    data = default_data()
    data.update(name="kibera-evening", default_hour=17, days=[2, 9, 30], last_day=30,
                high_risk_days=[1, 4])
    protocol = load_protocol(write(tmp_path, data))
    assert isinstance(protocol, Protocol)
    assert protocol.name == "kibera-evening"
    assert protocol.days_for(high_risk=True) == (1, 2, 4, 9, 30)
    assert load_protocol(str(write(tmp_path, data))) == protocol


def test_days_may_be_listed_in_any_order(tmp_path):
    data = default_data()
    data["days"] = [14, 3, 7]
    assert load_protocol(write(tmp_path, data)).days == (3, 7, 14)


def test_quiet_hours_need_not_wrap_midnight(tmp_path):
    data = default_data()
    data.update(quiet_start=0, quiet_end=6, default_hour=9)
    protocol = load_protocol(write(tmp_path, data))
    assert protocol.is_quiet_hour(0) and protocol.is_quiet_hour(5)
    assert not protocol.is_quiet_hour(6) and not protocol.is_quiet_hour(23)


@pytest.mark.parametrize(
    ("change", "field", "reason_part"),
    [
        ({"days": [3, 7, 57]}, "protocol.days", "outside 1..56"),
        ({"days": [0, 7]}, "protocol.days", "outside 1..56"),
        ({"days": [3, 7, 7]}, "protocol.days", "twice"),
        ({"days": [3, 7.5]}, "protocol.days", "whole numbers"),
        ({"days": [3, "7"]}, "protocol.days", "whole numbers"),
        ({"days": [3, True]}, "protocol.days", "whole numbers"),
        ({"days": []}, "protocol.days", "at least one"),
        ({"days": 7}, "protocol.days", "list"),
        ({"high_risk_days": [1, 60]}, "protocol.high_risk_days", "outside 1..56"),
        ({"high_risk_days": [1, 1]}, "protocol.high_risk_days", "twice"),
        ({"high_risk_days": [1, 7]}, "protocol.high_risk_days", "already in days"),
        ({"last_day": 0}, "protocol.last_day", "between"),
        ({"last_day": 49}, "protocol.days", "outside 1..49"),
        ({"quiet_start": 24}, "protocol.quiet_start", "between 0 and 23"),
        ({"quiet_end": -1}, "protocol.quiet_end", "between 0 and 23"),
        ({"quiet_end": 20}, "protocol.quiet_end", "differ"),
        ({"default_hour": 25}, "protocol.default_hour", "between 0 and 23"),
        ({"default_hour": 9.5}, "protocol.default_hour", "whole number"),
        ({"default_hour": 21}, "protocol.default_hour", "quiet hours"),
        ({"default_hour": 6}, "protocol.default_hour", "quiet hours"),
        ({"reminder_after_hours": 0}, "protocol.reminder_after_hours", "between"),
        ({"no_response_after_hours": 24}, "protocol.no_response_after_hours", "later"),
        ({"cd4_threshold": "100"}, "protocol.cd4_threshold", "whole number"),
        ({"name": ""}, "protocol.name", "non-empty"),
        ({"dayz": [3]}, "protocol.dayz", "unknown key"),
    ],
)
def test_a_bad_value_is_refused_naming_the_key(tmp_path, change, field, reason_part):
    data = default_data()
    data.update(change)
    with pytest.raises(InputError) as excinfo:
        load_protocol(write(tmp_path, data))
    assert excinfo.value.field == field
    assert reason_part in excinfo.value.reason


@pytest.mark.parametrize("key", sorted(default_data()))
def test_every_key_is_required(tmp_path, key):
    data = default_data()
    del data[key]
    with pytest.raises(InputError) as excinfo:
        load_protocol(write(tmp_path, data))
    assert excinfo.value.field == f"protocol.{key}"
    assert excinfo.value.reason == "missing"


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(InputError) as excinfo:
        load_protocol(tmp_path / "nope.toml")
    assert excinfo.value.field == "protocol"
    assert "not found" in excinfo.value.reason


def test_broken_toml_is_refused():
    with pytest.raises(InputError) as excinfo:
        parse_protocol("days = [3, 7\n")
    assert excinfo.value.field == "protocol"
    assert "TOML" in excinfo.value.reason
