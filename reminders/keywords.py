"""SMS keywords (STOP, START, HELP, a language change), read before triage.

Pure: `parse_keyword(text)` looks only at the text. A keyword counts only when it is
the whole message, give or take case, accents, spaces and punctuation ("stop",
" STOP!! ", "Stop."); a sentence that contains one ("I want to stop the pills") is not
a keyword and goes to triage. The words live in data/keywords.toml.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .languages import LANGUAGES

KEYWORDS_FILE = Path(__file__).parent / "data" / "keywords.toml"
ACTIONS = ("stop", "start", "help", "language")

_NOT_WORD = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Keyword:
    action: str  # "stop" | "start" | "help" | "language"
    language: str | None = None  # the code asked for, with action "language"


@dataclass(frozen=True)
class _Table:
    actions: dict[str, str]  # folded keyword -> action
    prefixes: frozenset[str]  # "lang", "idioma", ...
    names: dict[str, str]  # folded language name or code -> code


def _words(text: str) -> list[str]:
    """Lowercase ASCII words: accents dropped, punctuation and spaces as separators."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return [w for w in _NOT_WORD.split(text) if w]


@cache
def _table(path: Path = KEYWORDS_FILE) -> _Table:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    actions: dict[str, str] = {}
    for action, words in data["actions"].items():
        if action not in ACTIONS or action == "language":
            raise ValueError(f"{path.name}: actions.{action}: unknown action")
        for word in words:
            key = "".join(_words(word))
            if not key:
                raise ValueError(f"{path.name}: actions.{action}: empty keyword {word!r}")
            if actions.get(key, action) != action:
                raise ValueError(f"{path.name}: {word!r} is both {actions[key]} and {action}")
            actions[key] = action
    names = {code: code for code in LANGUAGES}
    for code, words in data["language"]["names"].items():
        if code not in LANGUAGES:
            raise ValueError(f"{path.name}: language.names.{code}: unknown language code")
        for word in words:
            names["".join(_words(word))] = code
    prefixes = frozenset("".join(_words(p)) for p in data["language"]["prefixes"])
    return _Table(actions, prefixes, names)


def parse_keyword(text: str) -> Keyword | None:
    """The keyword this whole message is, or None (then it is a reply to triage)."""
    table = _table()
    words = _words(text or "")
    if not words:
        return None
    joined = "".join(words)  # "Stop all", "opt-out" -> "stopall", "optout"
    action = table.actions.get(joined)
    if action is not None:
        return Keyword(action)
    if len(words) == 1 and joined in table.names and joined not in LANGUAGES:
        return Keyword("language", table.names[joined])  # "SWAHILI", not a bare "sw"
    if len(words) == 2 and words[0] in table.prefixes and words[1] in table.names:
        return Keyword("language", table.names[words[1]])  # "LANG SW", "IDIOMA español"
    return None
