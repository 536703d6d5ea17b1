"""Check-in protocols: when a patient gets a check-in, loaded from data and validated.

A protocol is a TOML file (the packaged one is `data/protocols/default.toml`) that a
clinician can read and a clinic can copy and edit. Its keys are exactly the fields of
`Protocol`. Validation happens once, on load, and names the key that is wrong, so a
bad file is refused with a clear message instead of producing a strange plan later.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from reminders.errors import InputError

# Longer plans are not what this system is for, and a typo like 560 should not pass.
MAX_LAST_DAY = 366


@dataclass(frozen=True)
class Protocol:
    name: str
    last_day: int
    days: tuple[int, ...]  # sorted, every patient
    high_risk_days: tuple[int, ...]  # sorted, added for high-risk patients
    cd4_threshold: int  # cells/uL; high risk when CD4 is below this
    recent_oi_weeks: int  # "an opportunistic infection treated in the last N weeks"
    quiet_start: int  # first quiet hour (local), 0-23
    quiet_end: int  # first hour after quiet hours (local), 0-23
    default_hour: int
    reminder_after_hours: int
    no_response_after_hours: int

    def days_for(self, high_risk: bool) -> tuple[int, ...]:
        """The check-in days for a patient, sorted, each once."""
        if not high_risk:
            return self.days
        return tuple(sorted(set(self.days) | set(self.high_risk_days)))

    def is_quiet_hour(self, hour: int) -> bool:
        """Whether a local wall-clock hour (0-23) is inside quiet hours."""
        if self.quiet_start < self.quiet_end:
            return self.quiet_start <= hour < self.quiet_end
        # The usual case: quiet hours wrap around midnight (20 -> 7).
        return hour >= self.quiet_start or hour < self.quiet_end


def is_high_risk(protocol: Protocol, cd4: int | None, recent_oi: bool) -> bool:
    """High risk: CD4 below the protocol's threshold or a recently treated opportunistic
    infection. An unknown CD4 (None) alone does not make a patient high risk."""
    if cd4 is not None:
        if isinstance(cd4, bool) or not isinstance(cd4, int):
            raise InputError("cd4", "must be a whole number of cells/uL")
        if cd4 < 0:
            raise InputError("cd4", "cannot be negative")
        if cd4 < protocol.cd4_threshold:
            return True
    return bool(recent_oi)


def load_protocol(path: str | Path | None = None) -> Protocol:
    """Load and validate a protocol file; None means the packaged default (cached).

    Raises InputError("protocol", ...) when the file is missing or not TOML, and
    InputError("protocol.<key>", ...) for a bad value.
    """
    if path is None:
        return _configured or _default_protocol()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("protocol", f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("protocol", f"cannot read {path}: {exc}") from None
    return parse_protocol(text)


# The clinic's own protocol file (REMINDERS_PROTOCOL_FILE), set once at start-up.
_configured: Protocol | None = None


def use_protocol_file(path: str | Path | None) -> Protocol:
    """Make the protocol in `path` (None: the packaged one) what load_protocol() returns.

    Called once by each process at start-up, so a bad file stops it with a clear error
    before any patient is planned with it.
    """
    global _configured
    _configured = load_protocol(path) if path is not None else None
    return load_protocol()


@lru_cache(maxsize=1)
def _default_protocol() -> Protocol:
    text = resources.files("reminders").joinpath("data/protocols/default.toml").read_text("utf-8")
    return parse_protocol(text)


def parse_protocol(text: str) -> Protocol:
    """Validate protocol TOML text and build a Protocol."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("protocol", f"not valid TOML: {exc}") from None
    return protocol_from_dict(data)


def protocol_from_dict(data: dict[str, Any]) -> Protocol:
    """Validate a mapping of protocol keys (as read from TOML) and build a Protocol."""
    known = {f.name for f in fields(Protocol)}
    for key in data:
        if key not in known:
            raise InputError(f"protocol.{key}", "unknown key (check the spelling)")
    for key in sorted(known):
        if key not in data:
            raise InputError(f"protocol.{key}", "missing")

    name = data["name"]
    if not isinstance(name, str) or not name.strip():
        raise InputError("protocol.name", "must be a non-empty text")

    last_day = _int(data, "last_day", 1, MAX_LAST_DAY)
    days = _days(data, "days", last_day)
    if not days:
        raise InputError("protocol.days", "must list at least one day")
    high_risk_days = _days(data, "high_risk_days", last_day)
    overlap = sorted(set(days) & set(high_risk_days))
    if overlap:
        # Harmless for the plan, but it means the author thinks they added a check-in
        # that every patient already gets.
        raise InputError("protocol.high_risk_days", f"day {overlap[0]} is already in days")

    quiet_start = _int(data, "quiet_start", 0, 23)
    quiet_end = _int(data, "quiet_end", 0, 23)
    if quiet_start == quiet_end:
        raise InputError("protocol.quiet_end", "must differ from quiet_start")
    default_hour = _int(data, "default_hour", 0, 23)
    reminder_after = _int(data, "reminder_after_hours", 1, 24 * 7)
    no_response_after = _int(data, "no_response_after_hours", 1, 24 * 7)
    if no_response_after <= reminder_after:
        raise InputError(
            "protocol.no_response_after_hours", "must be later than reminder_after_hours"
        )

    protocol = Protocol(
        name=name.strip(),
        last_day=last_day,
        days=days,
        high_risk_days=high_risk_days,
        cd4_threshold=_int(data, "cd4_threshold", 1, 5000),
        recent_oi_weeks=_int(data, "recent_oi_weeks", 1, 52),
        quiet_start=quiet_start,
        quiet_end=quiet_end,
        default_hour=default_hour,
        reminder_after_hours=reminder_after,
        no_response_after_hours=no_response_after,
    )
    if protocol.is_quiet_hour(default_hour):
        raise InputError("protocol.default_hour", f"{default_hour} is inside quiet hours")
    return protocol


def _int(data: dict[str, Any], key: str, low: int, high: int) -> int:
    value = data[key]
    # bool is an int in Python; `true` in a protocol file is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"protocol.{key}", f"must be a whole number, not {value!r}")
    if not low <= value <= high:
        raise InputError(f"protocol.{key}", f"must be between {low} and {high}, not {value}")
    return value


def _days(data: dict[str, Any], key: str, last_day: int) -> tuple[int, ...]:
    value = data[key]
    if not isinstance(value, list):
        raise InputError(f"protocol.{key}", "must be a list of day numbers, like [3, 7]")
    seen: set[int] = set()
    for day in value:
        if isinstance(day, bool) or not isinstance(day, int):
            raise InputError(f"protocol.{key}", f"must hold whole numbers, not {day!r}")
        if not 1 <= day <= last_day:
            raise InputError(f"protocol.{key}", f"day {day} is outside 1..{last_day} (last_day)")
        if day in seen:
            raise InputError(f"protocol.{key}", f"day {day} is listed twice")
        seen.add(day)
    return tuple(sorted(seen))
