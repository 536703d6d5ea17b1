"""Temperatures in a reply: "temp is 39.5", "fiebre de 39,6", "body hot, 40", "102F".

DESIGN.md makes a very high fever urgent: 39 C / 102 F or more. A number in those
ranges counts as a temperature when a degree unit follows it ("40 C", "40 grados") or
when the reply speaks of fever or heat anyway (the engine checks that); never when a
unit of time or quantity follows ("fever for 40 days", "took 39 pills": the lexicons'
"unit" cues).
"""

from __future__ import annotations

import re

CELSIUS_HIGH = (39.0, 43.0)  # 39 C and above; above 43 it is not a body temperature
FAHRENHEIT_HIGH = (102.0, 110.0)

# A number with an optional decimal ("39.5", "39,6"), not part of a longer number, a
# date or a phone number; then an optional degree unit.
_NUMBER = re.compile(
    r"(?<![\d.,/:])(\d{2,3})(?:[.,](\d))?(?![\d/:]|[.,]\d{2})"
    r"(\s*(?:°|º|deg\w*|degr\w*|grad\w*|grau\w*|digrii|celsius|fahrenheit|[cf](?![^\W\d_])))?",
    re.IGNORECASE,
)


def high_temperatures(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, has_unit) of each very high temperature written in `text`."""
    found = []
    for match in _NUMBER.finditer(text):
        value = float(match.group(1) + "." + (match.group(2) or "0"))
        unit = bool(match.group(3))
        low, high = CELSIUS_HIGH if value < 100 else FAHRENHEIT_HIGH
        if low <= value <= high:
            found.append((match.start(), match.end(), unit))
    return found
