"""The reply's words with triage evidence marked, as segments a template escapes one by one.

Pure. Never build HTML here: patient text is untrusted, so the template prints each
segment with autoescaping and wraps the evidence in <mark> itself.
"""

from __future__ import annotations

from typing import NamedTuple


class Segment(NamedTuple):
    text: str
    evidence: bool


def highlight(text: str, evidence: list[str]) -> list[Segment]:
    """Split `text` into segments, marking every (case-insensitive) occurrence of an
    evidence phrase; overlapping matches merge."""
    # Lower-case letter by letter, keeping positions (a few letters grow when lowered).
    lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    marked = [False] * len(text)
    for phrase in {p.lower() for p in evidence if p and p.strip()}:
        start = lowered.find(phrase)
        while start != -1:
            for i in range(start, start + len(phrase)):
                marked[i] = True
            start = lowered.find(phrase, start + len(phrase))
    segments: list[Segment] = []
    for i, char in enumerate(text):
        if segments and segments[-1].evidence == marked[i]:
            segments[-1] = Segment(segments[-1].text + char, marked[i])
        else:
            segments.append(Segment(char, marked[i]))
    return segments
