"""Load and validate the lexicons a clinician reviews (lexicons/*.toml).

`tags.toml` says what each symptom tag means and its level; `<lang>.toml` says which
words and phrases mean each tag, and which words negate, resolve, intensify or point
at someone else. A mistake in a file is a LexiconError naming the file and the key,
raised the first time triage runs (and by the lexicon tests), never a silent skip.

Phrase syntax, shared by every list:
    "night sweats"     words in this order (accents, case, repeated letters ignored)
    "body ... hot"     "..." allows up to three words in between, within one clause
    "breath*"          a word starting with "breath" (breathe, breathing, breathless)
    "*pumua"           a word ending with "pumua" (kupumua, napumua, ninapumua)
    "*koho*"           a word containing "koho"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from .text import BOUNDARY, normalise, words

LEXICON_DIR = Path(__file__).parent / "lexicons"
LANGUAGE_CODES = ("en", "sw", "es", "fr", "pt")
GAP = "..."
MIN_PREFIX = 3  # "breath*" fine, "ab*" would match half the language
MIN_AFFIX = 3

# Kinds of phrase. Symptoms, "ok" and "admin" replies are recognised in every language
# at once (patients mix them); the cues are small function words ("ni", "na", "no",
# "to") that mean different things in different languages, so a cue only counts in
# the reply's languages (see engine.active_languages).
# "admin_topic": words that name what admin is about ("message", "numero") but are not a
# request by themselves: "merci pour le message" is a thank-you, "messages?" is admin.
# "thanks": a thank-you. With something else it is part of a well reply ("fine thanks");
# alone it is admin (DESIGN.md: a plain "thanks" is not a health report).
REPLY_KINDS = ("ok", "admin", "admin_topic", "thanks")
CUE_KINDS = (
    "negation",      # "no", "sina", "sin", "pas", "sem": denies the symptom after it
    "list",          # "or", "wala", "ni", "ou", "nem": keeps a denial going over a list
    "boundary",      # "but", "lakini", "pero", "mais", "mas": ends a denial's reach
    "resolution",    # "gone", "imeisha", "ya se fue": the symptom before it is over
    "persist",       # "not gone", "haijaisha", "sigue": the symptom is still there
    "pseudo",        # "not sure", "sijui": looks like a denial, is not one
    "affirm",        # "it's not that", "si kwamba", "no es que": undoes the denial after it
    "past",          # "had", "last week", "tuve": the clause tells of the past
    "now",           # "now", "sasa", "ya", "maintenant", "agora": the clause tells of now
    "intensifier",   # "very", "sana", "muy", "très", "muito": may make it severe
    "third_party",   # "my child", "mtoto wangu": someone else is ill
    "menu_lead",     # "jibu", "option": may come before a menu digit
    "unit",          # "days", "pills", "siku": after a number, it is not a menu digit
)
SECTIONS = {"language", "common", "aliases", "symptoms", "replies", "cues"}


class LexiconError(ValueError):
    """A lexicon file is wrong: the message names the file, the key and the problem."""


@dataclass(frozen=True)
class Tag:
    name: str
    level: str
    means: str
    severe: str | None = None  # the tag an intensifier turns it into
    event: bool = False  # something that happened (a seizure): "it stopped" does not undo it
    generic: bool = False  # "pain", "unwell": gives way to a specific tag over the same words


@dataclass(frozen=True)
class Phrase:
    text: str  # as the clinician wrote it
    lang: str
    kind: str  # "symptom", a reply kind or a cue kind
    tag: str | None  # symptom tag, for kind "symptom"
    terms: tuple[str, ...]  # normalised terms; GAP for "..."
    weight: int  # number of real (non-gap) terms: longer phrases win
    has_negation: bool = False  # "can't breathe": an outside "no" does not undo it


@dataclass
class Language:
    code: str
    phrases: list[Phrase] = field(default_factory=list)
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    common: frozenset[str] = frozenset()


@dataclass(frozen=True)
class MenuAnswer:
    """What a menu digit means: "ok", a symptom (its tag), or "admin" with a tag."""

    level: str  # "ok", "symptom" or "admin"
    tag: str | None = None


@dataclass
class Lexicons:
    tags: dict[str, Tag]
    combinations: list[tuple[frozenset[str], str]]
    menu: dict[str, MenuAnswer]  # digit -> meaning (menu.toml)
    languages: dict[str, Language]
    menu_words: dict[str, dict[str, str]] = field(default_factory=dict)  # language -> word -> digit


def _fail(path: Path, where: str, problem: str) -> LexiconError:
    return LexiconError(f"{path.name}: {where}: {problem}")


def _read(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise LexiconError(f"{path.name}: file is missing from {path.parent}") from None
    except tomllib.TOMLDecodeError as err:
        raise LexiconError(f"{path.name}: not valid TOML: {err}") from None


def _string_list(path: Path, where: str, value: object) -> list[str]:
    if not isinstance(value, list):
        raise _fail(path, where, "must be a list of phrases")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise _fail(path, where, f"empty or non-text phrase {item!r}")
    return value


def load_tags(path: Path) -> tuple[dict[str, Tag], list[tuple[frozenset[str], str]]]:
    data = _read(path)
    unknown = set(data) - {"tags", "combinations"}
    if unknown:
        raise _fail(path, ", ".join(sorted(unknown)), "unknown section")
    tags: dict[str, Tag] = {}
    for name, spec in data.get("tags", {}).items():
        where = f"tags.{name}"
        if not isinstance(spec, dict):
            raise _fail(path, where, "must be a table")
        extra = set(spec) - {"level", "means", "severe", "event", "generic"}
        if extra:
            raise _fail(path, where, f"unknown key(s) {', '.join(sorted(extra))}")
        level = spec.get("level")
        if level not in ("urgent", "flag"):
            raise _fail(path, where, f"unknown level {level!r} (a symptom is 'urgent' or 'flag')")
        if not str(spec.get("means", "")).strip():
            raise _fail(path, where, "'means' must say what the tag means")
        tags[name] = Tag(name, level, spec["means"], spec.get("severe"), bool(spec.get("event", False)),
                         bool(spec.get("generic", False)))
    if not tags:
        raise _fail(path, "tags", "no tags defined")
    for tag in tags.values():
        if tag.severe is not None and tags.get(tag.severe, None) is None:
            raise _fail(path, f"tags.{tag.name}.severe", f"unknown tag {tag.severe!r}")
    combinations = []
    for i, combo in enumerate(data.get("combinations", [])):
        where = f"combinations[{i}]"
        together, gives = combo.get("tags"), combo.get("gives")
        if not isinstance(together, list) or len(together) < 2:
            raise _fail(path, where, "'tags' must list at least two tags")
        for name in [*together, gives]:
            if name not in tags:
                raise _fail(path, where, f"unknown tag {name!r}")
        combinations.append((frozenset(together), gives))
    return tags, combinations


def load_menu(path: Path, tags: dict[str, Tag]) -> tuple[dict[str, MenuAnswer], dict[str, dict[str, str]]]:
    """The check-in menu's digits and the words for them in each language (menu.toml)."""
    data = _read(path)
    unknown = set(data) - {"digits", "words"}
    if unknown:
        raise _fail(path, ", ".join(sorted(unknown)), "unknown section")
    menu: dict[str, MenuAnswer] = {}
    for digit, meaning in data.get("digits", {}).items():
        where = f"digits.{digit}"
        if not digit.isdigit() or len(digit) != 1:
            raise _fail(path, where, "a menu answer is one digit")
        if meaning == "ok":
            menu[digit] = MenuAnswer("ok")
        elif isinstance(meaning, str) and meaning in tags:
            menu[digit] = MenuAnswer("symptom", meaning)
        elif isinstance(meaning, dict) and set(meaning) == {"admin"} and meaning["admin"] in tags:
            menu[digit] = MenuAnswer("admin", meaning["admin"])
        else:
            raise _fail(path, where, f"needs 'ok', a known tag or {{ admin = \"<tag>\" }}, got {meaning!r}")
    if not menu:
        raise _fail(path, "digits", "no menu digits defined")
    words_by_language: dict[str, dict[str, str]] = {}
    for code, table in data.get("words", {}).items():
        if code not in LANGUAGE_CODES:
            raise _fail(path, f"words.{code}", "unknown language code")
        found: dict[str, str] = {}
        for digit, items in table.items():
            if digit not in menu:
                raise _fail(path, f"words.{code}.{digit}", "not a menu digit")
            for word in _string_list(path, f"words.{code}.{digit}", items):
                normal = [w.text for w in words(word) if w.text != BOUNDARY]
                if len(normal) != 1 or found.get(normal[0], digit) != digit:
                    raise _fail(path, f"words.{code}.{digit}", f"{word!r}: one word, one digit")
                found[normal[0]] = digit
        words_by_language[code] = found
    return menu, words_by_language


def _terms(path: Path, where: str, phrase: str, aliases: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """A phrase as normalised terms: words (aliases expanded), wildcards, gaps."""
    terms: list[str] = []
    for piece in phrase.split():
        if piece == GAP:
            terms.append(GAP)
            continue
        head, tail = piece.startswith("*"), piece.endswith("*")
        core = piece.strip("*")
        if "*" in core or (head or tail) and not core:
            raise _fail(path, where, f"{phrase!r}: '*' goes only at the start or end of a word")
        found = [w.text for w in words(core) if w.text != BOUNDARY]
        if not found:
            raise _fail(path, where, f"{phrase!r}: {piece!r} has no letters or digits")
        if head or tail:
            if len(found) != 1:
                raise _fail(path, where, f"{phrase!r}: a wildcard word must be one word")
            shortest = MIN_PREFIX if not head else MIN_AFFIX
            if len(found[0]) < shortest:
                raise _fail(path, where, f"{phrase!r}: {piece!r} is too short for a wildcard")
            terms.append(("*" if head else "") + found[0] + ("*" if tail else ""))
            continue
        for word in found:
            terms.extend(aliases.get(word, (word,)))
    if terms[0] == GAP or terms[-1] == GAP:
        raise _fail(path, where, f"{phrase!r}: '...' must stand between two words")
    if any(a == b == GAP for a, b in zip(terms, terms[1:])):
        raise _fail(path, where, f"{phrase!r}: two '...' in a row")
    return tuple(terms)


def _aliases(path: Path, data: object) -> dict[str, tuple[str, ...]]:
    if not isinstance(data, dict):
        raise _fail(path, "aliases", "must be a table of word = \"replacement\"")
    aliases = {}
    for key, value in data.items():
        if not isinstance(value, str) or not value.strip():
            raise _fail(path, f"aliases.{key}", "needs a non-empty replacement")
        source = [w.text for w in words(key) if w.text != BOUNDARY]
        if len(source) != 1:
            raise _fail(path, f"aliases.{key}", "an alias replaces exactly one word")
        aliases[source[0]] = tuple(w.text for w in words(value) if w.text != BOUNDARY)
    return aliases


def load_language(path: Path, code: str, tags: dict[str, Tag], base_aliases: dict[str, tuple[str, ...]]) -> Language:
    data = _read(path)
    unknown = set(data) - SECTIONS
    if unknown:
        raise _fail(path, ", ".join(sorted(unknown)), "unknown section")
    if data.get("language") != code:
        raise _fail(path, "language", f"must be {code!r}, got {data.get('language')!r}")
    own = _aliases(path, data.get("aliases", {}))
    # A language's phrases are read with English's SMS-speak too, as its replies are.
    aliases = {**base_aliases, **own}
    common = frozenset(normalise(w) for w in _string_list(path, "common", data.get("common", [])))
    language = Language(code, aliases=own, common=common)

    def add(kind: str, tag: str | None, where: str, items: object) -> None:
        for text in _string_list(path, where, items):
            terms = _terms(path, where, text, aliases)
            weight = sum(t != GAP for t in terms)
            language.phrases.append(Phrase(text, code, kind, tag, terms, weight))

    symptoms = data.get("symptoms", {})
    if not isinstance(symptoms, dict) or not symptoms:
        raise _fail(path, "symptoms", "must be a table of tag = [phrases]")
    for tag, items in symptoms.items():
        if tag not in tags:
            raise _fail(path, f"symptoms.{tag}", "unknown tag (add it to tags.toml first)")
        add("symptom", tag, f"symptoms.{tag}", items)
    replies = data.get("replies", {})
    for kind, items in replies.items():
        if kind not in REPLY_KINDS:
            raise _fail(path, f"replies.{kind}", f"unknown kind (one of {', '.join(REPLY_KINDS)})")
        add(kind, None, f"replies.{kind}", items)
    cues = data.get("cues", {})
    for kind, items in cues.items():
        if kind not in CUE_KINDS:
            raise _fail(path, f"cues.{kind}", f"unknown kind (one of {', '.join(CUE_KINDS)})")
        add(kind, None, f"cues.{kind}", items)
    for kind in ("ok", "admin"):
        if not any(p.kind == kind for p in language.phrases):
            raise _fail(path, f"replies.{kind}", "must list at least one phrase")
    negation_words = {p.terms[0] for p in language.phrases if p.kind == "negation" and p.weight == 1}
    if not negation_words:
        raise _fail(path, "cues.negation", "must list at least one single-word negation")
    # A symptom phrase that carries its own negation ("can't breathe", "siwezi
    # kupumua", "no puedo respirar") must not be undone by an outside "no"; nor a well
    # phrase ("i don't have no problem", "no tengo ningún problema": a double negative).
    language.phrases = [
        Phrase(p.text, p.lang, p.kind, p.tag, p.terms, p.weight,
               has_negation=p.kind in ("symptom", "ok", "thanks") and any(t in negation_words for t in p.terms))
        for p in language.phrases
    ]
    return language


@cache
def load(directory: Path = LEXICON_DIR) -> Lexicons:
    """All lexicons, validated; read once per process."""
    tags, combinations = load_tags(directory / "tags.toml")
    menu, menu_words = load_menu(directory / "menu.toml", tags)
    english = load_language(directory / "en.toml", "en", tags, {})
    languages = {"en": english}
    for code in LANGUAGE_CODES[1:]:
        languages[code] = load_language(directory / f"{code}.toml", code, tags, english.aliases)
    return Lexicons(tags, combinations, menu, languages, menu_words)
