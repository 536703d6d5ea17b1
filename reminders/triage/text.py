"""Replies and lexicon phrases reduced to the same plain words.

Both sides go through `words()`, so a clinician writes "fièvre" or "j'ai mal" in a
lexicon and it matches "FIEVRE", "fievreee" and "jai mal" in a reply.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

# A word is letters/digits, possibly joined by apostrophes ("don't", "j'ai"); the
# punctuation that ends a clause is kept as its own token. Everything else (emoji,
# symbols, "#") separates words and is otherwise ignored.
# A few emoji say what a word would ("all good 👍", "🤒🤒"): each becomes a word that
# en.toml maps to "ok" or a symptom ("emojiwell", "emojifever"). Others are ignored, so an
# emoji alone is still a reply a person reads.
EMOJI_PREFIX = "emoji"
EMOJI_WORDS = {
    "👍": "emojiwell", "👌": "emojiwell", "✅": "emojiwell", "💯": "emojiwell", "😊": "emojiwell",
    "🙂": "emojiwell", "😀": "emojiwell", "😃": "emojiwell", "😁": "emojiwell", "😄": "emojiwell",
    "💪": "emojiwell", "🤒": "emojifever", "🥵": "emojifever", "🤢": "emojivomit", "🤮": "emojivomit",
    "🤧": "emojiflu",
}
_TOKEN = re.compile(r"[^\W_]+(?:['’`´][^\W_]+)*|[.!?;,:\n]|" + "|".join(EMOJI_WORDS))
# French elision ("j'ai", "l'oeil", "n'arrive", "qu'il"): split, so "l'oeil" is "l oeil".
# Other apostrophes are dropped ("don't" -> "dont", "I'm" -> "im"): that is how SMS
# writers spell them anyway, and the lexicon's aliases expand both forms alike.
_ELISION = re.compile(r"(qu|[jldnmtsc])['’`´](?=[^\W_])", re.IGNORECASE)
_APOSTROPHES = re.compile(r"['’`´]")
# Letters NFKD does not decompose.
_SPECIAL = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d", "ı": "i"})
# "feverrrr", "sooo", "feeeel": three or more of a letter become two, so real doubles
# survive ("feel" is not "fell", "ill" is not the French "il"). squeeze() goes further
# (every run to one letter) for words that match nothing as written ("feverr", "finee").
# Digits are left alone ("111").
_LONG_RUNS = re.compile(r"([^\W\d_])\1{2,}")
_RUNS = re.compile(r"([^\W\d_])\1+")

BOUNDARY = "|"  # the word that stands for clause-ending punctuation


class Word(NamedTuple):
    text: str  # normalised
    start: int  # span in the original text, for evidence
    end: int


@lru_cache(maxsize=65536)
def normalise(raw: str) -> str:
    """One word: lowercase, no accents, no apostrophes, long letter runs cut to two."""
    text = raw.lower().translate(_SPECIAL)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _APOSTROPHES.sub("", text)
    return _LONG_RUNS.sub(r"\1\1", text)


def squeeze(word: str) -> str:
    """Every repeated letter once: the second chance for "feverr", "okk", "finee"."""
    return _RUNS.sub(r"\1", word)


def words(text: str) -> list[Word]:
    """The words of `text` in order, clause punctuation as BOUNDARY (never two in a row)."""
    out: list[Word] = []
    for match in _TOKEN.finditer(text):
        raw = match.group()
        start = match.start()
        if raw in EMOJI_WORDS:
            out.append(Word(EMOJI_WORDS[raw], start, match.end()))
            continue
        if len(raw) == 1 and raw in ".!?;,:\n":
            if out and out[-1].text != BOUNDARY:
                out.append(Word(BOUNDARY, start, start + 1))
            continue
        elision = _ELISION.match(raw)
        if elision:
            cut = elision.end()
            out.append(Word(normalise(elision.group(1)), start, start + cut - 1))
            raw, start = raw[cut:], start + cut
        out.append(Word(normalise(raw), start, start + len(raw)))
    return out
