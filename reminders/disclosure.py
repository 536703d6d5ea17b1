"""Nothing disclosing reaches an SMS (DESIGN.md): the words that would reveal a diagnosis.

A phone is often shared. A clinic's short name, a message template and a message typed
by staff are all refused when they contain one of these words, in any of the five
languages, whatever the case or accents. Matching is on whole words (so "art" in
"start" or "party" is fine, "ARV" alone is not), after folding accents and case.
"""

from __future__ import annotations

import re
import unicodedata

from reminders.errors import InputError

# Whole words (after lower-casing and removing accents). Multi-word phrases are matched
# with any run of spaces or punctuation between their words.
DISCLOSING_WORDS: tuple[str, ...] = (
    # English
    "hiv", "aids", "art", "arv", "arvs", "antiretroviral", "antiretrovirals",
    "anti retroviral", "antiretroviral therapy", "haart", "iris", "immune reconstitution",
    "viral load", "cd4", "positive living",
    # Kiswahili
    "vvu", "ukimwi", "dawa za kufubaza", "kufubaza virusi", "ushauri nasaha",
    # Spanish
    "vih", "sida", "tar", "tarv", "antirretroviral", "antirretrovirales",
    "terapia antirretroviral", "carga viral",
    # French
    "vih", "sida", "arv", "antiretroviral", "antiretroviraux", "traitement antiretroviral",
    "charge virale",
    # Portuguese
    "hiv", "sida", "aids", "tarv", "antirretroviral", "antirretrovirais",
    "terapia antirretroviral", "carga viral", "soropositivo", "seropositivo",
    "seropositif", "seropositive", "serostatus",
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _pattern(phrase: str) -> str:
    return r"[\W_]+".join(re.escape(word) for word in phrase.split())


_DISCLOSING = re.compile(
    r"(?<![\w])(" + "|".join(sorted({_pattern(w) for w in DISCLOSING_WORDS}, key=len, reverse=True))
    + r")(?![\w])"
)


# Initials written with dots ("H.I.V.", "A.R.V") read as the word itself.
_DOTTED = re.compile(r"(?<![\w.])(?:[^\W\d_]\.){2,}[^\W\d_]?(?![\w])")


def disclosing_words(text: str) -> list[str]:
    """The disclosing words found in `text` (folded), in order; empty when it is safe."""
    folded = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), _fold(text or ""))
    return [match.group(1) for match in _DISCLOSING.finditer(folded)]


def check_discreet(field: str, text: str) -> None:
    """Raise InputError naming `field` when `text` would disclose a diagnosis by SMS."""
    found = disclosing_words(text)
    if found:
        words = ", ".join(dict.fromkeys(w.upper() for w in found))
        raise InputError(field, f"must not contain words that disclose a diagnosis ({words}); "
                                "a phone may be shared")
