"""Find lexicon phrases in a reply's words: longest phrase first, left to right.

Compiled once from the lexicons. Each distinct word is resolved once to the lexicon
terms it can stand for (exact, wildcard or a one-letter typo) and remembered, so a
reply costs a few dictionary look-ups per word.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

from .lexicon import CUE_KINDS, GAP, Lexicons
from .text import BOUNDARY, Word

GAP_WORDS = 3  # "body ... hot" allows "my body is very hot"
FUZZY_MIN = 5  # shorter words have too many neighbours one letter away
CACHE_LIMIT = 200_000
NO_TERMS: frozenset[int] = frozenset()

# Equal-length phrases over the same words: the more alarming reading wins.
KIND_RANK = {
    "urgent": 12, "flag": 11, "persist": 10, "pseudo": 9, "negation": 8, "resolution": 7,
    "third_party": 6, "intensifier": 5, "ok": 4, "admin": 3, "boundary": 2, "list": 1,
    "menu_lead": 0, "unit": 0,
}


@dataclass(frozen=True, slots=True)
class Pattern:
    """A lexicon phrase ready to match: term ids, GAP as -1."""

    ids: tuple[int, ...]
    kind: str
    tag: str | None
    lang: str
    weight: int
    rank: int
    is_cue: bool
    has_negation: bool
    text: str


@dataclass(frozen=True, slots=True)
class Match:
    pattern: Pattern
    start: int  # token indices, end exclusive
    end: int


class Matcher:
    def __init__(self, lexicons: Lexicons) -> None:
        self.lexicons = lexicons
        self._ids: dict[str, int] = {}
        self._term_langs: list[set[str]] = []
        self._texts: list[str] = []  # term id -> term
        self._exact: dict[str, int] = {}
        self._prefixes: dict[str, int] = {}
        self._suffixes: dict[str, int] = {}
        self._contains: list[tuple[str, int]] = []
        self._first: dict[int, list[Pattern]] = {}
        self._fuzzy: dict[str, set[int]] = {}  # a target term with one letter deleted -> ids
        self._words_known: set[str] = set()  # never "corrected" by the typo rule
        self._common_langs: dict[str, set[str]] = {}
        self._word_cache: dict[str, frozenset[int]] = {}
        self._lang_cache: dict[str, frozenset[str]] = {}
        self._alias_cache: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {}
        self._blocker_cache: dict[tuple[str, ...], frozenset[int]] = {}
        self._prefix_lengths: list[int] = []
        self._suffix_lengths: list[int] = []
        self._compile()

    # -- compiling -------------------------------------------------------------------

    def _term_id(self, term: str, lang: str) -> int:
        tid = self._ids.get(term)
        if tid is None:
            tid = self._ids[term] = len(self._term_langs)
            self._term_langs.append(set())
            self._texts.append(term)
            head, tail = term.startswith("*"), term.endswith("*")
            core = term.strip("*")
            if head and tail:
                self._contains.append((core, tid))
            elif head:
                self._suffixes[core] = tid
            elif tail:
                self._prefixes[core] = tid
            else:
                self._exact[core] = tid
        self._term_langs[tid].add(lang)
        return tid

    def _compile(self) -> None:
        fuzzy_targets: dict[str, int] = {}
        for language in self.lexicons.languages.values():
            self._words_known.update(language.common, language.aliases)
            for word in chain(language.common, language.aliases):
                self._common_langs.setdefault(word, set()).add(language.code)
            for phrase in language.phrases:
                ids = tuple(-1 if t == GAP else self._term_id(t, language.code) for t in phrase.terms)
                level = self.lexicons.tags[phrase.tag].level if phrase.tag else phrase.kind
                pattern = Pattern(ids, phrase.kind, phrase.tag, language.code, phrase.weight,
                                  KIND_RANK[level], phrase.kind in CUE_KINDS, phrase.has_negation,
                                  phrase.text)
                self._first.setdefault(ids[0], []).append(pattern)
                for term in phrase.terms:
                    if "*" not in term and term != GAP:
                        if phrase.kind == "symptom" and len(term) >= FUZZY_MIN and not term.isdigit():
                            fuzzy_targets[term] = self._ids[term]
                        else:
                            # Words of cues, "ok" and admin phrases are never typo targets:
                            # a misspelt word must not turn into "fine" or "no".
                            self._words_known.add(term)
        self._words_known.update(fuzzy_targets)
        for term, tid in fuzzy_targets.items():
            for variant in {term, *_deletions(term)}:
                self._fuzzy.setdefault(variant, set()).add(tid)
        for patterns in self._first.values():
            patterns.sort(key=lambda p: (-p.weight, -p.rank))
        self._prefix_lengths = sorted({len(p) for p in self._prefixes})
        self._suffix_lengths = sorted({len(s) for s in self._suffixes})

    # -- words -----------------------------------------------------------------------

    def terms(self, word: str) -> frozenset[int]:
        """The lexicon terms this word can stand for."""
        found = self._word_cache.get(word)
        if found is None:
            if len(self._word_cache) > CACHE_LIMIT:
                self._word_cache.clear()
            found = self._word_cache[word] = self._resolve(word)
        return found

    def _resolve(self, word: str) -> frozenset[int]:
        if word == BOUNDARY:
            return NO_TERMS
        ids = set()
        exact = self._exact.get(word)
        if exact is not None:
            ids.add(exact)
        size = len(word)
        for length in self._prefix_lengths:
            if length > size:
                break
            tid = self._prefixes.get(word[:length])
            if tid is not None:
                ids.add(tid)
        for length in self._suffix_lengths:
            if length > size:
                break
            tid = self._suffixes.get(word[size - length:])
            if tid is not None:
                ids.add(tid)
        for core, tid in self._contains:
            if core in word:
                ids.add(tid)
        if not ids and size >= FUZZY_MIN and word not in self._words_known and not word.isdigit():
            ids.update(self._typo_targets(word))
        return frozenset(ids)

    def _typo_targets(self, word: str) -> set[int]:
        """Symptom words one edit away ("hedache", "breathng", "diarhoea").

        Symmetric deletion: both sides with one letter removed meet on insertions,
        deletions, substitutions and transpositions. Only words starting with the same
        letter, which rules out most accidental neighbours ("never" / "fever").
        """
        found = set(self._fuzzy.get(word, ()))
        for variant in _deletions(word):
            found.update(self._fuzzy.get(variant, ()))
        return {tid for tid in found if self._texts[tid][0] == word[0]}

    def languages_of(self, word: str) -> frozenset[str]:
        """Languages whose lexicon uses this word (for guessing a reply's language)."""
        found = self._lang_cache.get(word)
        if found is None:
            if len(self._lang_cache) > CACHE_LIMIT:
                self._lang_cache.clear()
            langs: set[str] = set(self._common_langs.get(word, ()))
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

    def blockers(self, active: tuple[str, ...]) -> frozenset[int]:
        """Words a "..." gap must not skip: denials and clause breaks ("body is not hot")."""
        found = self._blocker_cache.get(active)
        if found is None:
            found = frozenset(
                p.ids[0]
                for patterns in self._first.values()
                for p in patterns
                if p.kind in ("negation", "boundary") and p.weight == 1 and p.lang in active
            )
            self._blocker_cache[active] = found
        return found

    def expand(self, words: list[Word], active: tuple[str, ...]) -> list[Word]:
        """SMS-speak and contractions to plain words ("cnt" -> "can not", "jai" -> "j ai")."""
        aliases = self.aliases(active)
        out: list[Word] = []
        for word in words:
            replacement = aliases.get(word.text)
            if replacement is None:
                out.append(word)
            else:
                out.extend(Word(text, word.start, word.end) for text in replacement)
        return out

    def find(self, words: list[Word], active: tuple[str, ...]) -> list[Match]:
        """Non-overlapping phrases, left to right, the heaviest at each position."""
        terms = [self.terms(w.text) for w in words]
        blockers = self.blockers(active)
        lang_rank = {code: len(active) - i for i, code in enumerate(active)}
        n = len(words)
        found: list[Match] = []
        i = 0
        while i < n:
            best: Pattern | None = None
            best_key = None
            best_end = 0
            for tid in terms[i]:
                for pattern in self._first.get(tid, ()):
                    if pattern.is_cue and pattern.lang not in lang_rank:
                        continue
                    if best_key is not None and pattern.weight < best_key[0]:
                        break  # sorted heaviest first: nothing later can win
                    end = _match(pattern.ids, 1, i + 1, terms, words, blockers, n)
                    if end < 0:
                        continue
                    key = (pattern.weight, pattern.rank, lang_rank.get(pattern.lang, 0), end - i)
                    if best_key is None or key > best_key:
                        best, best_key, best_end = pattern, key, end
            if best is None:
                i += 1
            else:
                found.append(Match(best, i, best_end))
                i = best_end
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

