"""Find lexicon phrases in a reply's words: the most specific first, no overlaps.

Compiled once from the lexicons. Each distinct word is resolved once to the lexicon
terms it can stand for (exact, wildcard or a one-letter typo) and remembered, so a
reply costs a few dictionary look-ups per word.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

from .lexicon import CUE_KINDS, GAP, Lexicons
from .text import BOUNDARY, Word, squeeze

GAP_WORDS = 3  # "body ... hot" allows "my body is very hot"
FUZZY_MIN = 5  # shorter words have too many neighbours one letter away
# Sheng puts Swahili tense and person prefixes on English verbs: "nilifaint",
# "nimecollapse", "anavomit". Tried only on a word nothing else explains, and only
# towards an English lexicon word of at least ENGLISH_STEM letters.
SHENG_PREFIXES = ("nime", "nili", "nita", "nika", "nina", "ame", "ali", "ata", "aka", "ana",
                  "tume", "tuli", "tuna", "wame", "wali", "wana", "ime", "ili", "ina", "na", "ni")
ENGLISH_STEM = 4
CACHE_LIMIT = 200_000
NO_TERMS: frozenset[int] = frozenset()

# Equal-length phrases in the same language over the same words: the more alarming
# reading wins. "pseudo" ("do not know") only keeps a denial from starting, so any other
# reading of the same words beats it ("do not know ... person" is admin).
KIND_RANK = {
    "urgent": 12, "flag": 11, "persist": 10, "negation": 8, "resolution": 7,
    "affirm": 9, "third_party": 6, "intensifier": 5, "ok": 4, "thanks": 4, "admin": 3, "admin_topic": 3,
    "pseudo": 2, "past": 1, "now": 1, "boundary": 1, "list": 1, "menu_lead": 0, "unit": 0,
}


@dataclass(frozen=True, slots=True)
class Pattern:
    """A lexicon phrase ready to match: term ids, GAP as -1."""

    ids: tuple[int, ...]
    kind: str
    tag: str | None
    lang: str
    weight: int
    rank: float
    is_cue: bool
    has_negation: bool
    text: str


@dataclass(frozen=True, slots=True)
class Match:
    pattern: Pattern
    start: int  # token indices, end exclusive
    end: int


class _Index:
    """Terms by how they match a word: whole, prefix, suffix or contained."""

    def __init__(self) -> None:
        self.exact: dict[str, set[int]] = {}
        self.prefixes: dict[str, set[int]] = {}
        self.suffixes: dict[str, set[int]] = {}
        self.contains: dict[str, set[int]] = {}
        self.prefix_lengths: list[int] = []
        self.suffix_lengths: list[int] = []

    def add(self, term: str, tid: int, key=lambda text: text) -> None:
        head, tail = term.startswith("*"), term.endswith("*")
        core = key(term.strip("*"))
        table = self.contains if head and tail else self.suffixes if head else self.prefixes if tail else self.exact
        table.setdefault(core, set()).add(tid)

    def freeze(self) -> None:
        self.prefix_lengths = sorted({len(p) for p in self.prefixes})
        self.suffix_lengths = sorted({len(p) for p in self.suffixes})

    def lookup(self, word: str, ordinary: bool) -> set[int]:
        ids = set(self.exact.get(word, ()))
        size = len(word)
        for length in self.prefix_lengths:
            if length > size:
                break
            ids.update(self.prefixes.get(word[:length], ()))
        if ordinary:
            return ids
        for length in self.suffix_lengths:
            if length > size:
                break
            ids.update(self.suffixes.get(word[size - length:], ()))
        for core, found in self.contains.items():
            if core in word:
                ids.update(found)
        return ids


class Matcher:
    def __init__(self, lexicons: Lexicons) -> None:
        self.lexicons = lexicons
        self._ids: dict[str, int] = {}
        self._texts: list[str] = []  # term id -> term
        self._term_langs: list[set[str]] = []
        self._written = _Index()  # terms as the lexicon writes them
        self._squeezed = _Index()  # the same with every letter run squeezed ("feverr")
        self._first: dict[int, list[Pattern]] = {}
        self._fuzzy: dict[str, set[str]] = {}  # a symptom word with one letter deleted -> words
        self._ordinary: set[str] = set()  # common words and alias keys: see _resolve
        self._common_langs: dict[str, set[str]] = {}
        self._word_cache: dict[str, frozenset[int]] = {}
        self._guessed: set[str] = set()  # words read only through the one-letter-typo rule
        self._lang_cache: dict[str, frozenset[str]] = {}
        self._alias_cache: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}
        self._cue_cache: dict[tuple[str, ...], tuple[frozenset[int], frozenset[int], frozenset[int]]] = {}
        self._compile()

    # -- compiling -------------------------------------------------------------------

    def _term_id(self, term: str, lang: str) -> int:
        tid = self._ids.get(term)
        if tid is None:
            tid = self._ids[term] = len(self._texts)
            self._texts.append(term)
            self._term_langs.append(set())
            self._written.add(term, tid)
            self._squeezed.add(term, tid, squeeze)
        self._term_langs[tid].add(lang)
        return tid

    def _compile(self) -> None:
        fuzzy_targets: set[str] = set()
        for language in self.lexicons.languages.values():
            self._ordinary.update(language.common, language.aliases)
            for word in chain(language.common, language.aliases):
                self._common_langs.setdefault(word, set()).add(language.code)
            for phrase in language.phrases:
                ids = tuple(-1 if t == GAP else self._term_id(t, language.code) for t in phrase.terms)
                tag = self.lexicons.tags[phrase.tag] if phrase.tag else None
                # "me duele" (pain) gives way to "duele ... cabeza" (headache).
                rank = KIND_RANK[tag.level] - (0.5 if tag.generic else 0) if tag else KIND_RANK[phrase.kind]
                pattern = Pattern(ids, phrase.kind, phrase.tag, language.code, phrase.weight,
                                  rank, phrase.kind in CUE_KINDS, phrase.has_negation, phrase.text)
                self._first.setdefault(ids[0], []).append(pattern)
                # Only symptom words are typo targets: a misspelt word may raise a
                # reply to a flag, never turn it into "fine" or "no".
                if phrase.kind == "symptom":
                    for term in phrase.terms:
                        core = term.strip("*")  # "breath*": "breth" is a typo of "breath"
                        if term != GAP and not term.startswith("*") and len(core) >= FUZZY_MIN and not core.isdigit():
                            fuzzy_targets.add(core)
        # Words that also serve as cues or "fine" ("hakuna", "bien") are never typo
        # targets: "hauna" must not become a denial, nor anything become "fine".
        for language in self.lexicons.languages.values():
            for phrase in language.phrases:
                if phrase.kind != "symptom":
                    fuzzy_targets.difference_update(t.strip("*") for t in phrase.terms)
        for target in fuzzy_targets:
            for variant in {target, *_deletions(target)}:
                self._fuzzy.setdefault(variant, set()).add(target)
        for patterns in self._first.values():
            patterns.sort(key=lambda p: (-p.weight, -p.rank))
        self._written.freeze()
        self._squeezed.freeze()

    # -- words -----------------------------------------------------------------------

    def terms(self, word: str) -> frozenset[int]:
        """The lexicon terms this word can stand for."""
        found = self._word_cache.get(word)
        if found is None:
            if len(self._word_cache) > CACHE_LIMIT:
                self._word_cache.clear()
                self._guessed.clear()
            found = self._word_cache[word] = frozenset(self._resolve(word))
        return found

    def _resolve(self, word: str) -> set[int]:
        if word == BOUNDARY:
            return set()
        # An ordinary word ("nyuma", "feel", "il") is only itself: no word-end or
        # word-part wildcard ("*uma"), no squeezing ("fel" = "fell"), no typo correction.
        ordinary = word in self._ordinary
        ids = self._written.lookup(word, ordinary)
        if not ordinary and len(word) > 4 and word.endswith("in"):
            # SMS English drops the g: "killin", "havin", "breathin", "vomitin"
            ids |= self._written.lookup(word + "g", False)
        if ids or ordinary or word.isdigit():
            return ids
        ids = self._squeezed.lookup(squeeze(word), False)
        if not ids:
            ids = self._sheng(word)
        if not ids and len(word) >= FUZZY_MIN - 1:
            ids = self._typo_targets(word)
            if ids:
                self._guessed.add(word)
        return ids

    def _sheng(self, word: str) -> set[int]:
        """"nilifaint" -> the English "faint": a Swahili prefix on an English word."""
        for prefix in SHENG_PREFIXES:
            stem = word[len(prefix):]
            if word.startswith(prefix) and len(stem) >= ENGLISH_STEM:
                found = {tid for tid in self._written.lookup(stem, stem in self._ordinary)
                         if "en" in self._term_langs[tid]}
                if found:
                    return found
        return set()

    def is_guess(self, word: str) -> bool:
        """True if this word was read as a symptom only by typo correction ("breed" as
        "bleed"): a guess may raise a reply, never reassure it by being denied."""
        self.terms(word)
        return word in self._guessed

    def _typo_targets(self, word: str) -> set[int]:
        """Symptom words one edit away ("hedache", "breathng", "diarhoea").

        Symmetric deletion: both sides with one letter removed meet on insertions,
        deletions, substitutions and transpositions. Only words starting with the same
        letter, which rules out most accidental neighbours ("never" / "fever").
        """
        found = set(self._fuzzy.get(word, ()))  # a letter missing: "chst", "hedache"
        # A changed or extra letter only in longer words: five-letter words have too many
        # real neighbours ("breed" / "bleed", "caian" / "caida", "lagoa" / "llaga").
        if len(word) > FUZZY_MIN:
            for variant in _deletions(word):
                found.update(self._fuzzy.get(variant, ()))
        ids: set[int] = set()
        for target in found:
            if target[0] == word[0]:
                ids.update(self._written.lookup(target, False))
        return ids

    def is_ordinary(self, word: str) -> bool:
        """A common word or SMS-speak of some language ("the", "na", "pero", "thx")."""
        return word in self._ordinary

    def languages_of(self, word: str) -> frozenset[str]:
        """Languages whose lexicon uses this word (for guessing a reply's language)."""
        found = self._lang_cache.get(word)
        if found is None:
            if len(self._lang_cache) > CACHE_LIMIT:
                self._lang_cache.clear()
            # Whole words decide where they exist ("pas" is French even though the
            # English "pass*" would match it); wildcards only for the rest ("kinauma").
            langs: set[str] = set(self._common_langs.get(word, ()))
            for tid in self._written.exact.get(word, ()):
                langs.update(self._term_langs[tid])
            if not langs:
                for tid in self.terms(word):
                    langs.update(self._term_langs[tid])
            found = self._lang_cache[word] = frozenset(langs)
        return found

    # -- replies ---------------------------------------------------------------------

    def aliases(self, active: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
        merged = self._alias_cache.get(active)
        if merged is None:
            merged = {}
            for code in reversed(active):  # the first language wins a disagreement
                merged.update(self.lexicons.languages[code].aliases)
            self._alias_cache[active] = merged
        return merged

    def cues(self, active: tuple[str, ...]) -> tuple[frozenset[int], frozenset[int], frozenset[int]]:
        """Cue patterns that count for these languages, the words gaps must not skip, and
        one-word intensifiers.

        A cue counts in the reply's languages only, and not when one of its words is an
        ordinary word of a language ranked before it: in Portuguese "dor no peito",
        "no" means "in the", not the English "no".
        """
        found = self._cue_cache.get(active)
        if found is None:
            live: set[int] = set()
            blockers: set[int] = set()
            intensifiers: set[int] = set()
            for patterns in self._first.values():
                for p in patterns:
                    if not p.is_cue or p.lang not in active:
                        continue
                    before = active[: active.index(p.lang)]
                    words = [self._texts[t] for t in p.ids if t >= 0]
                    if any(w in self.lexicons.languages[code].common for code in before for w in words):
                        continue
                    live.add(id(p))
                    if p.kind in ("negation", "boundary", "resolution") and p.weight == 1:
                        blockers.add(p.ids[0])  # "body is not hot" is no fever
                    if p.kind == "intensifier" and p.weight == 1:
                        intensifiers.add(p.ids[0])
            found = (frozenset(live), frozenset(blockers), frozenset(intensifiers))
            self._cue_cache[active] = found
        return found

    def intensified(self, words: list[Word], active: tuple[str, ...]) -> set[int]:
        """Positions of one-word intensifiers, also those a "..." gap stepped over
        ("me duele muchísimo la cabeza")."""
        intensifiers = self.cues(active)[2]
        return {i for i, w in enumerate(words) if not self.terms(w.text).isdisjoint(intensifiers)}

    def expand(self, words: list[Word], active: tuple[str, ...]) -> list[Word]:
        """SMS-speak and contractions to plain words ("cnt" -> "can not", "jai" -> "j ai")."""
        aliases = self.aliases(active)
        out: list[Word] = []
        for word in words:
            replacement = aliases.get(word.text)
            if replacement is None and word.text not in self._ordinary and len(squeeze(word.text)) > 1:
                replacement = aliases.get(squeeze(word.text))  # "plzzz", "thnxx" (not "kkkk")
            if replacement is None:
                out.append(word)
            else:
                out.extend(Word(text, word.start, word.end) for text in replacement)
        return out

    def find(self, words: list[Word], active: tuple[str, ...]) -> list[Match]:
        """Non-overlapping phrases in text order, the most specific claiming words first.

        Every phrase found anywhere competes: more words, then the reply's language
        (Swahili "acheni" is not the English "ache*"), then the more alarming kind, then
        the earlier one. So in "me duele mucho el pecho" the chest ("duele ... pecho")
        wins over the plain "me duele".
        """
        terms = [self.terms(w.text) for w in words]
        live, blockers, _ = self.cues(active)
        lang_rank = {code: len(active) - i for i, code in enumerate(active)}
        n = len(words)
        candidates = []
        for i in range(n):
            for tid in terms[i]:
                for pattern in self._first.get(tid, ()):
                    if pattern.is_cue and id(pattern) not in live:
                        continue
                    end = _match(pattern.ids, 1, i + 1, terms, words, blockers, n)
                    if end >= 0:
                        key = (pattern.weight, lang_rank.get(pattern.lang, 0), pattern.rank, -i, i - end)
                        candidates.append((key, pattern, i, end))
        if not candidates:
            return []
        candidates.sort(key=lambda c: c[0], reverse=True)
        taken = [False] * n
        found: list[Match] = []
        for _, pattern, start, end in candidates:
            if not any(taken[start:end]):
                taken[start:end] = [True] * (end - start)
                found.append(Match(pattern, start, end))
        found.sort(key=lambda m: m.start)
        return found


def _match(ids, k, j, terms, words, blockers, n) -> int:
    """End index if ids[k:] match from word j on, else -1."""
    while k < len(ids):
        tid = ids[k]
        if tid == -1:
            for skip in range(GAP_WORDS + 1):
                at = j + skip
                if skip:
                    skipped = at - 1
                    if skipped >= n or words[skipped].text == BOUNDARY or not terms[skipped].isdisjoint(blockers):
                        return -1
                end = _match(ids, k + 1, at, terms, words, blockers, n)
                if end >= 0:
                    return end
            return -1
        if j >= n or tid not in terms[j]:
            return -1
        j += 1
        k += 1
    return j


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}

