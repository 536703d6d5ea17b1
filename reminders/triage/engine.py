"""triage(text, language=None): one reply -> level, symptoms and the words behind them.

Pure and deterministic: the lexicons are read once per process, nothing else is read,
nothing is written. The steps:

1. words: lowercase, accents off, repeated letters squeezed, clause punctuation kept;
2. languages: the ones the words look like, the one given, and English (patients mix
   English into every language); small cue words only count in these languages;
3. aliases: SMS-speak and contractions to plain words ("cnt" -> "can not");
4. phrases: the most specific lexicon phrases, without overlaps (matcher.py);
5. reading: denials, resolutions, intensifiers, someone else (reading.py);
6. decision: the highest level found; nothing understood is "flag"/"unclear", never ok;
   a word that only names an admin topic ("message", "numero") makes a reply admin
   only in a question or with nothing else said ("obrigada pela mensagem" is ok); a
   denial of a word only guessed by typo correction, or an inability ("i cant
   bleed"), is never ok;
   and "ok" only when nothing substantial is left unexplained: a reassuring opener does
   not vouch for what follows it ("fine thanks. oh and my hand wont grip the cup"), nor
   for a word we cannot read after a "but" ("niko poa lakini <unknown words>");
7. a temperature of 39 C / 102 F or more next to a fever word or a unit is fever_high
   (temperature.py); a plain thank-you is admin with intent "thanks" (nobody to call).
"""

from __future__ import annotations

from functools import cache

from .lexicon import LANGUAGE_CODES, Lexicons, load
from .matcher import Match, Matcher
from .reading import Mention, clauses, read
from .result import LEVEL_RANK, TriageResult
from .temperature import high_temperatures
from .text import BOUNDARY, Word, words

# An "ok" reply with this many content words that no phrase, cue or ordinary word
# explains is read by a person ("flag"/"unclear"): something may be said we cannot read.
UNEXPLAINED_LIMIT = 3
SHORT_WORD = 2
# The contrast words of each language's boundary cues: what follows them is what matters.
CONTRAST = frozenset({"but", "however", "though", "although", "except", "lakini", "ila", "ingawa",
                      "pero", "aunque", "sino", "mais", "cependant", "pourtant", "par contre", "mas",
                      "porem", "contudo"})
# "can not", "siwezi", "no puedo", "je peux pas", "não consigo": before a symptom word
# these say the patient is unable to do something, not that a symptom is absent
# ("i cant bleed" for "i cant breathe"), so such a "denial" never makes a reply ok.
INABILITY = frozenset({
    "can", "could", "unable", "able", "siwezi", "sikuweza", "hawezi", "hakuweza", "puedo",
    "podia", "pude", "puede", "peux", "pouvais", "pouvait", "peut", "arrive", "arrivais",
    "consigo", "conseguia", "consegui", "consegue",
})  # words this short ("oh", "ya", "im") are never counted as content


@cache
def matcher() -> Matcher:
    """The compiled lexicons (built on first use, then shared)."""
    return Matcher(load())


def triage(text: str, language: str | None = None) -> TriageResult:
    """Sort one reply into urgent, flag, admin or ok, saying which words decided it."""
    compiled = matcher()
    lexicons = compiled.lexicons
    given = language.strip().lower() if isinstance(language, str) else None
    if given not in lexicons.languages:
        given = None
    found = words(text)
    looks_like = detect(compiled, found)
    # What the words look like first, then the enrolled language, then English.
    active = tuple(dict.fromkeys(c for c in (*looks_like, given, "en") if c))
    tokens = compiled.expand(found, active)
    matches = compiled.find(tokens, active)
    reading = read(tokens, matches, lexicons, compiled.intensified(tokens, active))
    mentions = reading.mentions
    answer = menu_answer(tokens, matches, lexicons, active, given)
    digit, menu_digit, menu_admin = None, None, None
    if answer is not None:
        digit, menu_digit = answer
        if not tokens[digit].text.isdigit():  # "five" is the digit, not a typo for "fever"
            mentions = [m for m in mentions if not m.start <= digit < m.end]
        meaning = lexicons.menu[menu_digit]
        if meaning.level == "admin":
            menu_admin = meaning.tag  # "6": please call me, a request, not a symptom
        else:
            here = clauses(tokens, matches)[digit]
            mentions = [*mentions, Mention(meaning.tag, digit, digit + 1, here)]
    mentions = [*mentions, *temperatures(text, tokens, matches, mentions)]
    # A denial of a word only guessed to be a symptom ("i cant breed" read as "bleed")
    # says nothing reassuring: it leaves the reply to a person, never "ok".
    doubtful = any(m.state == "denied" and any(compiled.is_guess(tokens[i].text) or tokens[i].text in INABILITY
                                               for i in range(max(m.start - 1, 0), m.end))
                   for m in mentions if m.tag)
    result_language = given or (looks_like[0] if len(looks_like) == 1 else None)
    result = _decide(text, tokens, mentions, reading.admin, reading.third_party, lexicons,
                     result_language, menu_digit, digit, menu_admin)
    if result.level == "ok" and doubtful:
        return TriageResult("flag", ["unclear"], result.evidence, result.language, result.denied, result.menu)
    if result.level == "ok" or result.intent == "thanks":
        left = unexplained(compiled, tokens, matches, digit)
        # "fine, but <words we cannot read>": a well word settles only what it covers,
        # and what comes after a "but" is the part the patient wanted to say.
        after_but = contrasted(tokens, matches)
        if len(left) >= UNEXPLAINED_LIMIT or any(i in after_but for i in left):
            shown = [text[tokens[i].start:tokens[i].end] for i in left]
            return TriageResult("flag", ["unclear"], _unique([*result.evidence, *shown]), result.language,
                                result.denied, result.menu)
    return result


FEVER_TAGS = frozenset({"fever", "rigors", "fever_high"})


def temperatures(text: str, tokens: list[Word], matches: list[Match], mentions: list[Mention]) -> list[Mention]:
    """A very high temperature ("39.5", "40 grados", "103F") as a fever_high mention: with
    a degree unit, or in a reply that speaks of fever; not before "days" or "pills"."""
    found = high_temperatures(text)
    if not found:
        return []
    feverish = any(m.tag in FEVER_TAGS and m.state == "present" for m in mentions)
    units = {i for m in matches if m.pattern.kind == "unit" for i in range(m.start, m.end)}
    here = clauses(tokens, matches)
    out = []
    for start, end, has_unit in found:
        inside = [i for i, w in enumerate(tokens) if w.start >= start and w.end <= end and w.text != BOUNDARY]
        # "fever for 40 days", and in Swahili the unit comes first: "homa siku 40"
        if not inside or inside[-1] + 1 in units or inside[0] - 1 in units or not (has_unit or feverish):
            continue
        out.append(Mention("fever_high", inside[0], inside[-1] + 1, here[inside[0]]))
    return out


def contrasted(tokens: list[Word], matches: list[Match]) -> set[int]:
    """Positions of the words after a contrast ("but", "lakini", "pero", "mais", "mas")."""
    starts = [m.start for m in matches if m.pattern.kind == "boundary" and m.pattern.text in CONTRAST]
    return set(range(min(starts), len(tokens))) if starts else set()


def unexplained(compiled: Matcher, tokens: list[Word], matches: list[Match], digit: int | None) -> list[int]:
    """Positions of content words that no phrase or cue covers and that are not ordinary
    words, numbers or fillers: what an "ok" reply says that triage did not understand."""
    covered = [False] * len(tokens)
    for m in matches:
        covered[m.start:m.end] = [True] * (m.end - m.start)
    if digit is not None:
        covered[digit] = True
    return [
        i for i, word in enumerate(tokens)
        if not covered[i] and word.text != BOUNDARY and len(word.text) > SHORT_WORD
        and not any(ch.isdigit() for ch in word.text) and not compiled.is_ordinary(word.text)
    ]


def detect(compiled: Matcher, found: list[Word]) -> list[str]:
    """The languages most of the words belong to (several on a tie, none if unknown)."""
    counts = dict.fromkeys(LANGUAGE_CODES, 0)
    for word in found:
        if word.text != BOUNDARY:
            for code in compiled.languages_of(word.text):
                counts[code] += 1
    top = max(counts.values())
    if not top:
        return []
    # On a tie English goes last: it is read in every reply anyway, and the other
    # language's small words should win ("fine, dor no peito": "no" is Portuguese).
    return sorted((code for code, count in counts.items() if count == top), key=lambda code: code == "en")


def menu_answer(tokens: list[Word], matches: list[Match], lexicons: Lexicons,
                active: tuple[str, ...] = (), given: str | None = None) -> tuple[int, str] | None:
    """(index, digit) if the reply answers the menu ("2", "#2", "jibu 1", "2 please", "moja").

    The digit must come first (after words like "jibu" or "option") and must not be
    a count: "2 days of fever" and "I took 2 pills" are not menu answers. A digit
    written as a word ("one", "moja", "uno", "un", "um") counts only in the reply's
    with nothing after it ("un peu de fievre" is an article), and not when it is an
    ordinary word of the patient's own language (the English filler "um").
    """
    roles = {}
    for m in matches:
        if m.pattern.kind in ("menu_lead", "unit"):
            for i in range(m.start, m.end):
                roles[i] = m.pattern.kind
        elif m.pattern.kind == "past":
            roles[m.start] = "unit"  # "2 days ago": a count before a time phrase, not menu 2
    for i, word in enumerate(tokens):
        if word.text == BOUNDARY or roles.get(i) == "menu_lead":
            continue
        after = i + 1
        if word.text in lexicons.menu:
            if after < len(tokens) and (tokens[after].text.isdigit() or roles.get(after) == "unit"):
                return None
            return i, word.text
        if all(t.text == BOUNDARY for t in tokens[after:]):
            own = lexicons.languages[given] if given else None
            if own is not None and word.text in own.common and word.text not in lexicons.menu_words.get(given, {}):
                return None
            for code in dict.fromkeys((*active, *LANGUAGE_CODES)):
                digit = lexicons.menu_words.get(code, {}).get(word.text)
                if digit is not None:
                    return i, digit
        return None
    return None


def _decide(text: str, tokens: list[Word], mentions: list[Mention], admin: list[Match],
            third_party: list[Match], lexicons: Lexicons, language: str | None,
            digit: str | None, digit_at: int | None = None, menu_admin: str | None = None) -> TriageResult:
    tags = lexicons.tags

    def span(start: int, end: int) -> str:
        return text[tokens[start].start:tokens[end - 1].end]

    def level_of(m: Mention) -> str:
        # A red flag that is over ("the chest pain went away") still gets a look today.
        return "flag" if m.state == "over" else tags[m.tag].level

    raised, settled, well = [], [], []
    for m in mentions:
        if m.tag is None:
            well.append(m)
        elif m.state == "present" or (m.state == "over" and tags[m.tag].level == "urgent"):
            raised.append(m)
        else:
            settled.append(m)  # denied, or a flag-level symptom that is over
    def pressing_first(m: Mention) -> tuple[int, int]:
        return -LEVEL_RANK[level_of(m)], m.start

    evidence = [span(m.start, m.end) for m in sorted(raised, key=pressing_first)]
    present_tags = {m.tag for m in raised if m.state == "present"}
    for together, gives in lexicons.combinations:  # "rash" + "mouth_sores" -> "rash_severe"
        if together <= present_tags and gives not in present_tags:
            first = min((m for m in raised if m.tag in together), key=lambda m: m.start)
            raised.append(Mention(gives, first.start, first.end, first.clause))
            present_tags.add(gives)
    denied = _unique(m.tag for m in settled)
    if menu_admin and all(m.tag == menu_admin for m in raised):
        raised = []  # "6 please call me": the words repeat the request the digit makes

    if raised:
        ordered = sorted(raised, key=pressing_first)
        level = level_of(ordered[0])
        symptoms = _unique(m.tag for m in ordered)
        if third_party:
            symptoms.append("other_person")
            evidence.extend(span(m.start, m.end) for m in third_party)
        if menu_admin:
            symptoms.append(menu_admin)  # "6, I have fever": the fever, and the call asked for
        return TriageResult(level, symptoms, _unique(evidence), language, denied, digit)
    if menu_admin:
        shown = [span(digit_at, digit_at + 1), *(span(m.start, m.end) for m in admin)]  # type: ignore[operator]
        return TriageResult("admin", [menu_admin], _unique(shown), language, denied, digit)
    if admin and well and "?" not in text and all(m.pattern.kind == "admin_topic" for m in admin):
        admin = []  # "merci pour le message": thanks, not a question about the messages
    if admin:
        return TriageResult("admin", [], _unique(span(m.start, m.end) for m in admin), language, denied, digit)
    if well and not settled and all(m.thanks for m in well):
        # A plain thank-you is not a health report: admin, and nothing to queue.
        return TriageResult("admin", [], _unique(span(m.start, m.end) for m in well), language, denied, digit,
                            intent="thanks")
    if well or settled:
        shown = sorted(well + settled, key=lambda m: m.start)
        return TriageResult("ok", [], _unique(span(m.start, m.end) for m in shown), language, denied, digit)
    # Nothing understood: a person reads it. Never "ok".
    return TriageResult("flag", ["unclear"], [], language, denied, digit)


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))
