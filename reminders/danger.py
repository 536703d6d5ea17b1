"""The danger-sign question's answer: is this reply a yes, a no, or something else?

After a `flag` reply the patient is asked once whether they have any red flag now
("... Reply 1 for yes, 2 for no", DESIGN.md). While that question is open, the next
reply is read here first:

- yes: "1" (or "one", "moja", "uno" ... as the whole reply), a yes word in the patient's
  words ("yes", "ndiyo", "si", "oui", "sim" and friends, data/danger.toml), or ANY red
  flag triage finds in the reply ("2, but I can't breathe" is a yes);
- no: "2" (or its words), "no", "hapana", "non", "não" ...;
- other: anything else, which is triaged as an ordinary reply.

A yes word of the patient's own language or of English counts at the start of a longer
reply; a word of another language only as the whole reply ("si" is also Kiswahili for
"is not"). When in doubt the higher reading wins: "yes, I'm fine" is a yes.

Pure: no database, no clock. The English "YES" is also a Twilio opt-in keyword; the
caller decides (services/danger.py) that while the question is open it answers it.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from reminders.triage import TriageResult, triage

YES, NO, OTHER = "yes", "no", "other"
DIGITS = {"1": YES, "2": NO}  # the question's own menu

_WORD = re.compile(r"[^\W_]+(?:['’`´][^\W_]+)*")


@dataclass(frozen=True)
class DangerAnswer:
    kind: str  # "yes" | "no" | "other"
    evidence: list[str]  # the patient's words that decided, as written
    # What the reply says besides the answer ("2, but the fever is worse"), triaged; None
    # when it says nothing else.
    extra: TriageResult | None = None


@dataclass(frozen=True)
class _Words:
    yes: dict[str, tuple[tuple[str, ...], ...]]  # language -> phrases, longest first
    no: dict[str, tuple[tuple[str, ...], ...]]
    frame: tuple[tuple[str, ...], ...]
    fillers: tuple[tuple[str, ...], ...]


def _fold(word: str) -> str:
    word = unicodedata.normalize("NFKD", word.casefold())
    return re.sub(r"['’`´]", "", "".join(ch for ch in word if not unicodedata.combining(ch)))


def _phrases(items: list[str]) -> tuple[tuple[str, ...], ...]:
    found = {tuple(_fold(w) for w in _WORD.findall(item)) for item in items}
    return tuple(sorted((p for p in found if p), key=len, reverse=True))


@cache
def _words() -> _Words:
    text = resources.files("reminders").joinpath("data/danger.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return _Words(
        yes={code: _phrases(items) for code, items in data["yes"].items()},
        no={code: _phrases(items) for code, items in data["no"].items()},
        frame=_phrases(data["frame"]["words"]),
        fillers=_phrases(data["fillers"]["words"]),
    )


def _starts_with(words: list[str], phrases: tuple[tuple[str, ...], ...]) -> int:
    """Length of the longest phrase `words` starts with (0 when none)."""
    for phrase in phrases:
        if tuple(words[:len(phrase)]) == phrase:
            return len(phrase)
    return 0


def _only_fillers(words: list[str], fillers: tuple[tuple[str, ...], ...]) -> bool:
    while words:
        size = _starts_with(words, fillers)
        if not size:
            return False
        words = words[size:]
    return True


def read_answer(text: str, language: str | None = None) -> DangerAnswer:
    """Read a reply sent while the danger-sign question is open."""
    whole = triage(text, language)
    if whole.level == "urgent":
        return DangerAnswer(YES, list(whole.evidence), whole)
    table = _words()
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text or "")]
    words = [_fold(text[a:b]) for a, b in spans]
    start = 0
    while start < len(words) and (size := _starts_with(words[start:], table.frame)):
        start += size  # "jibu 1", "reply: yes"
    if start >= len(words):
        return DangerAnswer(OTHER, [])
    first = words[start]
    lead = 0
    kind = OTHER
    if first.isdigit() or whole.menu in DIGITS:
        # A digit, or a digit word as the whole reply ("one", "moja"): triage's menu
        # reading already refused counts ("2 days ago") and words inside sentences.
        if whole.menu in DIGITS and (first == whole.menu or len(words) - start == 1):
            kind, lead = DIGITS[whole.menu], 1
    else:
        own = tuple(dict.fromkeys(c for c in (language, "en") if c))
        for answer, lists in ((YES, table.yes), (NO, table.no)):
            for code, phrases in lists.items():
                size = _starts_with(words[start:], phrases)
                rest = words[start + size:]
                if size and (code in own or _only_fillers(rest, table.fillers)):
                    kind, lead = answer, size
                    break
            if kind != OTHER:
                break
    if kind == OTHER:
        return DangerAnswer(OTHER, [])
    evidence = [text[spans[start][0]:spans[start + lead - 1][1]]]
    rest_words = words[start + lead:]
    if not rest_words or _only_fillers(rest_words, table.fillers):
        return DangerAnswer(kind, evidence)
    if first.isdigit() or whole.menu in DIGITS:
        # "2, but the fever is worse": read what follows the digit without the menu.
        extra = triage(text[spans[start + lead][0]:], language)
    else:
        extra = whole  # "no fever" is read whole: the "no" denies what follows
    return DangerAnswer(kind, evidence, extra)
