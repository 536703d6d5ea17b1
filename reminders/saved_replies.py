"""Saved replies for staff to send from the queue (data: data/saved_replies.toml). Pure."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reminders.errors import InputError
from reminders.languages import LANGUAGES

_FILE = Path(__file__).resolve().parent / "data" / "saved_replies.toml"


@dataclass(frozen=True)
class SavedReply:
    key: str
    label: str
    texts: dict[str, str]  # language -> template

    def render(self, language: str, **values: str) -> str:
        return self.texts.get(language, self.texts["en"]).format(**values)


@cache
def saved_replies() -> dict[str, SavedReply]:
    data = tomllib.loads(_FILE.read_text(encoding="utf-8"))
    replies = {}
    for key, entry in data.items():
        missing = [lang for lang in LANGUAGES if lang not in entry]
        if missing:
            raise ValueError(f"saved reply {key}: no text for {', '.join(missing)}")
        replies[key] = SavedReply(key, entry["label"], {lang: entry[lang] for lang in LANGUAGES})
    return replies


def get(key: str) -> SavedReply:
    try:
        return saved_replies()[key]
    except KeyError:
        raise InputError("saved_reply", f"{key!r} is not a saved reply") from None
