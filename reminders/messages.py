"""SMS message templates per language, and SMS segment counting.

Templates live in `data/messages/<language>.toml`, one file per language with the same
keys, so a clinician or translator can review them without reading code.

Discretion: a phone is often shared, so templates never name the illness, the
treatment or the clinic's speciality; the clinic is `{clinic}`, the short neutral name
it chose. The patient's name appears only through `{greeting}`, and only when the
caller passes one: callers pass name=None for a patient on a shared phone.

Cost: every rendered message must fit in MAX_SEGMENTS SMS parts. A name with a letter
outside GSM-7 turns the whole message into UCS-2 (70 characters a part instead of 160);
when that would push a message past the limit the name is written without those
accents (María -> Maria), and when even that is too long it is left out: the name is
a courtesy, a third SMS is not. A message still too long in UCS-2 (the Portuguese
check-in) is sent without the accents GSM-7 lacks (inchaço -> inchaco).
"""

from __future__ import annotations

import string
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from reminders.disclosure import check_discreet, disclosing_words
from reminders.errors import InputError
from reminders.languages import LANGUAGES

TEMPLATE_KEYS: tuple[str, ...] = (
    "welcome",
    "checkin",
    "reminder",
    "thanks_ok",
    "flag_ack",
    "urgent_ack",
    "stop_confirm",
    "start_confirm",
    "help",
    "language_changed",
    "unknown_sender",
    "completed",
    "oncall_alert",
    # Answers when the sender cannot be looked up (database unavailable): no values.
    "urgent_generic",
    "received",
    # The danger-sign question after a `flag` reply, and the thanks for a "no" to it.
    "danger_question",
    "danger_no_ack",
)

# Placeholders a template may use. `greeting` is filled by render() from `name`.
PLACEHOLDERS = frozenset({"greeting", "clinic", "clinic_phone", "item_ref"})

MAX_SEGMENTS = 2


class MissingValue(ValueError):
    """A template needs a value the caller did not give (a bug in the caller)."""

    def __init__(self, key: str, language: str, placeholder: str) -> None:
        super().__init__(
            f"message {key!r} ({language}) needs a value for {{{placeholder}}}"
        )
        self.placeholder = placeholder


@dataclass(frozen=True)
class Templates:
    language: str
    greeting_named: str  # uses {name}
    greeting_anonymous: str
    texts: dict[str, str]


def render(
    key: str,
    language: str,
    *,
    clinic: str = "",
    clinic_phone: str = "",
    name: str | None = None,
    **values: str,
) -> str:
    """The message `key` in `language`, filled in.

    name=None (shared phone, or no name known) gives a greeting without a name.
    Raises InputError for an unknown key or language, MissingValue when the template
    needs a value (clinic, clinic_phone, item_ref) that is missing or empty.
    """
    # Memoised: a dispatch pass renders the same few texts thousands of times, and fitting
    # each into two SMS (segments, folding) costs more than the rest of queueing it.
    return _render(key, language, clinic, clinic_phone, name, tuple(sorted(values.items())))


@lru_cache(maxsize=4096)
def _render(key: str, language: str, clinic: str, clinic_phone: str, name: str | None,
            extra: tuple[tuple[str, str], ...]) -> str:
    values = dict(extra)
    if key not in TEMPLATE_KEYS:
        raise InputError("message", f"unknown message {key!r}")
    templates = load_templates(language)
    template = templates.texts[key]
    filled: dict[str, str] = {"clinic": clinic, "clinic_phone": clinic_phone, **values}
    for placeholder in placeholders_of(template):
        if placeholder != "greeting" and not str(filled.get(placeholder, "")).strip():
            raise MissingValue(key, language, placeholder)

    name = name.strip() if name else None
    # María turns a GSM-7 message into UCS-2 (70 characters a part instead of 160);
    # Maria does not. Try the name as written, then folded, then leave it out.
    greetings = [templates.greeting_named.format(name=spelling)
                 for spelling in (dict.fromkeys([name, gsm_fold(name)]) if name else ())]
    greetings.append(templates.greeting_anonymous)
    texts = [template.format_map({**filled, "greeting": greeting}) for greeting in greetings]
    # Still too long: the whole text without the accents GSM-7 lacks. Portuguese needs
    # them in almost every word (inchaço, caroços), and a long message in UCS-2 would
    # take three or four SMS; "inchaco" reads as well and takes two.
    for text in (*texts, *(gsm_fold(t) for t in texts)):
        if segments(text).count <= MAX_SEGMENTS:
            return text
    return gsm_fold(texts[-1])


def placeholders_of(template: str) -> set[str]:
    """The {names} a template uses."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def load_templates(language: str) -> Templates:
    """The templates of one language (validated and cached)."""
    if language not in LANGUAGES:
        known = ", ".join(LANGUAGES)
        raise InputError("language", f"unknown language {language!r}; use one of {known}")
    return _load(language)


@lru_cache(maxsize=None)
def _load(language: str) -> Templates:
    path = f"data/messages/{language}.toml"
    data = tomllib.loads(resources.files("reminders").joinpath(path).read_text("utf-8"))
    return _validate(language, path, data)


def _validate(language: str, path: str, data: dict[str, Any]) -> Templates:
    # Packaged data: a mistake here is a bug, so plain ValueError with the place.
    greeting = data.get("greeting", {})
    texts = data.get("templates", {})
    if set(data) != {"greeting", "templates"}:
        raise ValueError(f"{path}: expected exactly [greeting] and [templates]")
    if set(greeting) != {"named", "anonymous"}:
        raise ValueError(f"{path}: [greeting] needs exactly `named` and `anonymous`")
    if placeholders_of(greeting["named"]) != {"name"}:
        raise ValueError(f"{path}: greeting.named must use {{name}} and nothing else")
    if placeholders_of(greeting["anonymous"]):
        raise ValueError(f"{path}: greeting.anonymous must not use placeholders")
    missing = [k for k in TEMPLATE_KEYS if k not in texts]
    extra = [k for k in texts if k not in TEMPLATE_KEYS]
    if missing or extra:
        raise ValueError(f"{path}: missing templates {missing}, unknown templates {extra}")
    for key, text in texts.items():
        unknown = placeholders_of(text) - PLACEHOLDERS
        if unknown:
            raise ValueError(f"{path}: {key} uses unknown placeholders {sorted(unknown)}")
    # Nothing disclosing reaches an SMS (DESIGN.md): a phone is often shared.
    for key, text in [("greeting.named", greeting["named"]),
                      ("greeting.anonymous", greeting["anonymous"]), *texts.items()]:
        found = disclosing_words(text)
        if found:
            words = ", ".join(dict.fromkeys(w.upper() for w in found))
            raise ValueError(f"{path}: template {key!r} ({language}) contains words that "
                             f"disclose a diagnosis ({words})")
    return Templates(
        language=language,
        greeting_named=greeting["named"],
        greeting_anonymous=greeting["anonymous"],
        texts={k: texts[k] for k in TEMPLATE_KEYS},
    )


MAX_STAFF_MESSAGE = 320  # characters: two GSM-7 segments at most


def check_staff_message(text: str, field: str = "message") -> str:
    """A message staff type to a patient (from the queue), checked before it is queued:
    not empty, no NUL, at most two SMS segments, and nothing that discloses a diagnosis.
    Returns the stripped text; raises InputError naming `field`."""
    text = (text or "").strip()
    if not text:
        raise InputError(field, "is empty")
    if "\x00" in text:
        raise InputError(field, "must not contain a NUL character")
    if len(text) > MAX_STAFF_MESSAGE or not fits(text):
        raise InputError(field, f"must fit in {MAX_SEGMENTS} SMS segments")
    check_discreet(field, text)
    return text


# --- SMS segments -----------------------------------------------------------------

# GSM 03.38 default alphabet (one septet each). ESC (0x1B) is left out: it only
# introduces the extension table and is not a character a message can contain.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: ESC + the character, two septets each.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM_SINGLE, GSM_PART = 160, 153  # septets; a part loses 7 to the concatenation header
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # code points in the text
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int  # SMS parts needed


def segments(text: str) -> Segments:
    """How a message is sent: encoding, size, and number of SMS parts.

    GSM-7 when every character is in the GSM 03.38 basic or extension table, otherwise
    UCS-2 (one character outside GSM-7 switches the whole message). A single SMS holds
    160 septets / 70 UCS-2 units; concatenated parts hold 153 / 67, and an escape
    sequence or a surrogate pair (an emoji) is never split across two parts.
    An empty text still costs one SMS.
    """
    if all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text):
        sizes = [2 if ch in GSM_EXTENSION else 1 for ch in text]
        return Segments("GSM-7", len(text), sum(sizes), _count(sizes, GSM_SINGLE, GSM_PART))
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return Segments("UCS-2", len(text), sum(sizes), _count(sizes, UCS2_SINGLE, UCS2_PART))


def gsm_fold(text: str) -> str:
    """`text` with the accents GSM-7 lacks taken off (María -> Maria, Conceição ->
    Conceicao); letters GSM-7 has (é, ñ, ü...) are kept. Other scripts are unchanged."""
    out = []
    for ch in text:
        if ch in GSM_BASIC or ch in GSM_EXTENSION:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        out.append(base if base and all(c in GSM_BASIC for c in base) else ch)
    return "".join(out)


def fits(text: str, max_segments: int = MAX_SEGMENTS) -> bool:
    return segments(text).count <= max_segments


def _count(sizes: list[int], single: int, part: int) -> int:
    if sum(sizes) <= single:
        return 1
    count, used = 1, 0
    for size in sizes:
        if used + size > part:  # does not fit whole: starts the next part
            count, used = count + 1, 0
        used += size
    return count
