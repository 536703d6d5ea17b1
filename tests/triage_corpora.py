"""The labelled triage corpora in tests/data/, and the figures computed over them.

Each file was written by someone who never read the engine or its lexicons (see
tests/data/README.md for how, and for their history): triage_corpus.csv, then
triage_holdout.csv, triage_final.csv and triage_new_b.csv, each measured once on replies
the engine had never seen before being used to fix what it showed. Those four are gates:
the floors below, and no misclassified reply at all. triage_sealed.csv is not a gate: it
was measured once after the tuning and is never tuned on, so its figures, printed on every
run, show drift (tests/unit/test_triage_sealed.py).
"""

from __future__ import annotations

import csv
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
COLUMNS = ["language", "text", "level", "symptoms"]
LANGUAGES = ("en", "sw", "es", "fr", "pt")
LEVELS = ("urgent", "flag", "ok", "admin")
SEVERITY = {"urgent": 3, "flag": 2, "admin": 1, "ok": 0}


@dataclass(frozen=True)
class Corpus:
    name: str
    path: Path
    min_rows: int
    min_per_language: int
    gate: bool = True  # False: measured and printed, never asserted (the sealed corpus)


CORPORA = {
    "corpus": Corpus("corpus", DATA / "triage_corpus.csv", 400, 70),
    "holdout": Corpus("holdout", DATA / "triage_holdout.csv", 350, 60),
    "final": Corpus("final", DATA / "triage_final.csv", 300, 55),
    "new_b": Corpus("new_b", DATA / "triage_new_b.csv", 600, 120),
}
SEALED = Corpus("sealed", DATA / "triage_sealed.csv", 400, 70, gate=False)

URGENT_TAGS = frozenset({
    "breathing", "chest_pain", "coughing_blood", "headache_severe", "stiff_neck",
    "confusion", "seizure", "fainting", "vision", "eye_pain", "weakness", "jaundice",
    "cannot_keep_pills", "cannot_eat_drink", "abdominal_pain_severe", "rash_severe",
    "self_harm", "overdose", "fever_high", "unresponsive",
})  # fmt: skip
FLAG_TAGS = frozenset({
    "fever", "night_sweats", "swelling", "cough", "rash", "shingles", "sores",
    "diarrhoea", "vomiting", "nausea", "weight_loss", "tiredness", "headache", "pain",
    "side_effects", "missed_pills", "pill_problem", "unwell", "call_request",
    "other_person", "unclear",
})  # fmt: skip
TAGS = URGENT_TAGS | FLAG_TAGS

# name -> (which expected levels are counted, which predicted levels are a hit)
METRICS = {
    "urgent sensitivity": ({"urgent"}, {"urgent"}),
    "any-symptom sensitivity": ({"urgent", "flag"}, {"urgent", "flag"}),
    "ok specificity": ({"ok"}, {"ok"}),
    "admin accuracy": ({"admin"}, {"admin"}),
}
# The floors of issue 4. Urgent sensitivity matters most: a missed red flag is the
# worst error this system can make (DESIGN.md, step 5).
THRESHOLDS = {
    "urgent sensitivity": 0.98,
    "any-symptom sensitivity": 0.97,
    "ok specificity": 0.90,
    "admin accuracy": 0.85,
}


@dataclass(frozen=True)
class Row:
    line: int
    language: str
    text: str
    level: str
    symptoms: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    row: Row
    level: str
    symptoms: tuple[str, ...]
    evidence: tuple[str, ...]

    @property
    def correct(self) -> bool:
        return self.level == self.row.level


def load(corpus: Corpus) -> tuple[list[str], list[Row]]:
    with corpus.path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = [
            Row(line=reader.line_num, language=record["language"], text=record["text"],
                level=record["level"],
                symptoms=tuple(t for t in (record["symptoms"] or "").split(";") if t))
            for record in reader
        ]
    return header, rows


def problems(corpus: Corpus, header: list[str], rows: list[Row]) -> list[str]:
    """Everything wrong with a corpus file, one line each (empty when it is well formed)."""
    found = [] if header == COLUMNS else [f"header {header}, expected {COLUMNS}"]
    if len(rows) < corpus.min_rows:
        found.append(f"only {len(rows)} rows (at least {corpus.min_rows})")
    per_language = Counter(r.language for r in rows)
    for language in LANGUAGES:
        if per_language[language] < corpus.min_per_language:
            found.append(f"{language}: only {per_language[language]} rows")
    seen: dict[str, int] = {}
    for r in rows:
        where = f"line {r.line}"
        if r.language not in LANGUAGES:
            found.append(f"{where}: language {r.language!r}")
        if r.level not in LEVELS:
            found.append(f"{where}: level {r.level!r}")
        if not r.text.strip() or r.text != r.text.strip():
            found.append(f"{where}: empty text or stray whitespace {r.text!r}")
        if unknown := set(r.symptoms) - TAGS:
            found.append(f"{where}: unknown tags {sorted(unknown)}")
        if r.level in ("ok", "admin") and r.symptoms:
            found.append(f"{where}: an {r.level} reply with symptom tags {r.symptoms}")
        if r.level in ("urgent", "flag") and not r.symptoms:
            found.append(f"{where}: an {r.level} reply without symptom tags")
        if r.level == "urgent" and not set(r.symptoms) & URGENT_TAGS:
            found.append(f"{where}: an urgent reply without an urgent tag")
        if r.level == "flag" and set(r.symptoms) & (URGENT_TAGS - {"jaundice"}):  # jaundice alone is flag
            found.append(f"{where}: a flag reply with an urgent tag")
        # Per language: "2" or "???" may stand once under each language.
        key = r.language + " " + " ".join(unicodedata.normalize("NFC", r.text).casefold().split())
        if key in seen:
            found.append(f"{where}: duplicate of line {seen[key]}: {r.text!r}")
        seen.setdefault(key, r.line)
    return found


def score(outcomes: list[Outcome], name: str) -> tuple[int, int]:
    expected, accepted = METRICS[name]
    counted = [o for o in outcomes if o.row.level in expected]
    return sum(o.level in accepted for o in counted), len(counted)


def cell(hits: int, total: int) -> str:
    return f"{hits / total:.3f} ({hits}/{total})" if total else "-"


def describe(o: Outcome) -> str:
    return (f"  line {o.row.line:>4} [{o.row.language}] {o.row.level} -> {o.level}: {o.row.text!r}"
            f"  expected tags {list(o.row.symptoms)}, got {list(o.symptoms)}, evidence {list(o.evidence)}")


def report(corpus: Corpus, outcomes: list[Outcome]) -> str:
    groups = {language: [o for o in outcomes if o.row.language == language] for language in LANGUAGES}
    groups["all"] = outcomes
    width = 26
    lines = [f"triage {corpus.name}: {len(outcomes)} replies, {corpus.path.name}",
             "metric".ljust(width) + "".join(g.rjust(17) for g in groups)]
    for name in METRICS:
        cells = [cell(*score(group, name)) for group in groups.values()]
        lines.append(name.ljust(width) + "".join(c.rjust(17) for c in cells)
                     + f"   (>= {THRESHOLDS[name]:.2f})")
    exact = [cell(sum(o.correct for o in g), len(g)) for g in groups.values()]
    lines.append("exact level".ljust(width) + "".join(c.rjust(17) for c in exact))
    # Tags are informative only: how many expected tags the engine also reported.
    expected_tags = sum(len(o.row.symptoms) for o in outcomes)
    found_tags = sum(len(set(o.row.symptoms) & set(o.symptoms)) for o in outcomes)
    lines.append(f"symptom tag recall (not scored): {cell(found_tags, expected_tags)}")
    confusion = Counter((o.row.level, o.level) for o in outcomes)
    lines.append("confusion (expected -> predicted):")
    for expected in LEVELS:
        cells = ", ".join(f"{p} {confusion[(expected, p)]}" for p in LEVELS if confusion[(expected, p)])
        lines.append(f"  {expected:>6} -> {cells}")
    wrong = sorted((o for o in outcomes if not o.correct),
                   key=lambda o: (-SEVERITY[o.row.level], SEVERITY[o.level], o.row.language, o.row.line))
    lines.append(f"misclassified: {len(wrong)}")
    lines.extend(describe(o) for o in wrong)
    return "\n".join(lines)


def causes(outcomes: list[Outcome]) -> str:
    """Misses grouped by what went wrong: expected -> predicted level, and the expected
    tags that name the sign missed ("urgent -> flag: self_harm 2")."""
    groups: Counter[str] = Counter()
    for o in outcomes:
        if o.correct:
            continue
        signs = [t for t in o.row.symptoms if t in URGENT_TAGS] if o.row.level == "urgent" else list(o.row.symptoms)
        groups[f"{o.row.level} -> {o.level}: {', '.join(signs) or '(no tag)'}"] += 1
    if not groups:
        return "misses by cause: none"
    return "misses by cause:\n" + "\n".join(f"  {count:>3}  {name}" for name, count in
                                            sorted(groups.items(), key=lambda kv: (-kv[1], kv[0])))
