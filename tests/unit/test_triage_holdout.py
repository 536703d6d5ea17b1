"""Triage measured on a held-out corpus: replies the engine was never tuned on.

tests/data/triage_holdout.csv was written without reading the engine, its lexicons,
its unit tests or the tuning corpus (tests/data/triage_corpus.csv), so its figures say
how triage does on new phrasings: regional slang, voice-to-text slips, long messages
that bury a red flag, red flags in a relative, negated and resolved symptoms.

The metrics are printed (``pytest -s`` or ``-rA``) and added to the terminal summary as
a "triage holdout" section. Since the engine reached them, the same four floors as the
tuning corpus are gated here too (THRESHOLDS), so a change that loses a red flag on new
phrasings fails. Note that the misses this file once showed guided general lexicon and
rule work, so its figures are now optimistic: a fresh held-out file is the honest
measure. Do not edit rows to match the engine; a row whose label is clinically wrong is
fixed with the reason in the commit, and new held-out replies are added, never tuned
against.
"""

from __future__ import annotations

import csv
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from reminders.triage import triage

HOLDOUT = Path(__file__).resolve().parents[1] / "data" / "triage_holdout.csv"
COLUMNS = ["language", "text", "level", "symptoms"]
LANGUAGES = ("en", "sw", "es", "fr", "pt")
LEVELS = ("urgent", "flag", "ok", "admin")
SEVERITY = {"urgent": 3, "flag": 2, "admin": 1, "ok": 0}
MIN_ROWS = 350
MIN_ROWS_PER_LANGUAGE = 60

# The tag vocabulary shared with the tuning corpus (tests/data/README.md).
TAGS = frozenset(
    {
        # urgent
        "breathing", "chest_pain", "coughing_blood", "headache_severe", "stiff_neck",
        "confusion", "seizure", "fainting", "vision", "eye_pain", "weakness",
        "jaundice", "cannot_keep_pills", "cannot_eat_drink", "abdominal_pain_severe",
        "rash_severe", "self_harm",
        # flag
        "fever", "night_sweats", "swelling", "cough", "rash", "shingles", "sores",
        "diarrhoea", "vomiting", "nausea", "weight_loss", "tiredness", "headache",
        "pain", "side_effects", "missed_pills", "pill_problem", "unwell",
        "call_request", "other_person", "unclear",
    }
)  # fmt: skip

# The same floors as the tuning corpus (test_triage_corpus.py).
THRESHOLDS = {
    "urgent sensitivity": 0.98,
    "any-symptom sensitivity": 0.97,
    "ok specificity": 0.90,
    "admin accuracy": 0.85,
}

# name -> (which expected levels are counted, which predicted levels are a hit)
METRICS = {
    "urgent sensitivity": ({"urgent"}, {"urgent"}),
    "any-symptom sensitivity": ({"urgent", "flag"}, {"urgent", "flag"}),
    "ok specificity": ({"ok"}, {"ok"}),
    "admin accuracy": ({"admin"}, {"admin"}),
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

    @property
    def correct(self) -> bool:
        return self.level == self.row.level


def load_holdout() -> tuple[list[str], list[Row]]:
    with HOLDOUT.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = list(reader.fieldnames or [])
        rows = [
            Row(
                line=reader.line_num,
                language=rec["language"],
                text=rec["text"],
                level=rec["level"],
                symptoms=tuple(t for t in (rec["symptoms"] or "").split(";") if t),
            )
            for rec in reader
        ]
    return header, rows


def _normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def score(outcomes: list[Outcome], name: str) -> tuple[int, int]:
    expected, accepted = METRICS[name]
    counted = [o for o in outcomes if o.row.level in expected]
    return sum(o.level in accepted for o in counted), len(counted)


def _cell(hits: int, total: int) -> str:
    return f"{hits / total:.3f} ({hits}/{total})" if total else "-"


def _describe(o: Outcome) -> str:
    return (
        f"  line {o.row.line:>4} [{o.row.language}] {o.row.level} -> {o.level}: {o.row.text!r}"
        f"  expected tags {list(o.row.symptoms)}, got {list(o.symptoms)}"
    )


def report(outcomes: list[Outcome]) -> str:
    groups = {lang: [o for o in outcomes if o.row.language == lang] for lang in LANGUAGES}
    groups["all"] = outcomes
    width = 26
    lines = [
        f"triage holdout: {len(outcomes)} replies, {HOLDOUT.name} (gated: see THRESHOLDS)",
        "metric".ljust(width) + "".join(g.rjust(17) for g in groups),
    ]
    for name in METRICS:
        cells = [_cell(*score(group, name)) for group in groups.values()]
        floor = f"   (>= {THRESHOLDS[name]:.2f})"
        lines.append(name.ljust(width) + "".join(c.rjust(17) for c in cells) + floor)
    exact = [_cell(sum(o.correct for o in g), len(g)) for g in groups.values()]
    lines.append("exact level".ljust(width) + "".join(c.rjust(17) for c in exact))

    expected_tags = sum(len(o.row.symptoms) for o in outcomes)
    found_tags = sum(len(set(o.row.symptoms) & set(o.symptoms)) for o in outcomes)
    lines.append(f"symptom tag recall (not scored): {_cell(found_tags, expected_tags)}")

    confusion = Counter((o.row.level, o.level) for o in outcomes)
    lines.append("confusion (expected -> predicted):")
    for expected in LEVELS:
        cells = ", ".join(f"{p} {confusion[(expected, p)]}" for p in LEVELS if confusion[(expected, p)])
        lines.append(f"  {expected:>6} -> {cells}")

    wrong = sorted(
        (o for o in outcomes if not o.correct),
        key=lambda o: (-SEVERITY[o.row.level], SEVERITY[o.level], o.row.language, o.row.line),
    )
    lines.append(f"misclassified: {len(wrong)}")
    lines.extend(_describe(o) for o in wrong)
    return "\n".join(lines)


class _TerminalSummary:
    """Adds the figures to the end-of-run summary, whatever the capture mode."""

    def __init__(self, text: str) -> None:
        self.text = text

    def pytest_terminal_summary(self, terminalreporter) -> None:
        terminalreporter.write_sep("=", "triage holdout")
        for line in self.text.splitlines():
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def outcomes(request) -> list[Outcome]:
    _, rows = load_holdout()
    results = []
    for row in rows:
        try:
            # No language: real replies mix languages, so the engine must cope alone.
            result = triage(row.text, language=None)
        except Exception as exc:  # one crash must name the reply that caused it
            raise AssertionError(f"triage crashed on line {row.line}: {row.text!r}") from exc
        results.append(Outcome(row, result.level, tuple(result.symptoms or ())))

    text = report(results)
    print("\n" + text)
    plugins = request.config.pluginmanager
    if not plugins.has_plugin("triage-holdout-summary"):
        plugins.register(_TerminalSummary(text), name="triage-holdout-summary")
    return results


def test_holdout_wellformed():
    header, rows = load_holdout()
    assert header == COLUMNS

    assert len(rows) >= MIN_ROWS, f"only {len(rows)} rows"
    per_language = Counter(r.language for r in rows)
    assert set(per_language) <= set(LANGUAGES), f"unknown languages: {set(per_language) - set(LANGUAGES)}"
    for lang in LANGUAGES:
        assert per_language[lang] >= MIN_ROWS_PER_LANGUAGE, f"{lang}: only {per_language[lang]} rows"
        missing = set(LEVELS) - {r.level for r in rows if r.language == lang}
        assert not missing, f"{lang}: no rows for levels {sorted(missing)}"

    problems = []
    seen: dict[str, int] = {}
    for r in rows:
        if r.level not in LEVELS:
            problems.append(f"line {r.line}: level {r.level!r}")
        if not r.text.strip() or r.text != r.text.strip():
            problems.append(f"line {r.line}: empty text or stray whitespace {r.text!r}")
        if unknown := set(r.symptoms) - TAGS:
            problems.append(f"line {r.line}: unknown tags {sorted(unknown)}")
        if r.level in ("ok", "admin") and r.symptoms:
            problems.append(f"line {r.line}: an {r.level} reply with symptom tags {r.symptoms}")
        if r.level in ("urgent", "flag") and not r.symptoms:
            problems.append(f"line {r.line}: an {r.level} reply without symptom tags")
        key = _normalised(r.text)
        if key in seen:
            problems.append(f"line {r.line}: duplicate of line {seen[key]}: {r.text!r}")
        seen.setdefault(key, r.line)
    assert not problems, "\n".join(problems)


def test_every_reply_gets_a_known_level(outcomes):
    """The engine answers every reply with a known level."""
    odd = [_describe(o) for o in outcomes if o.level not in LEVELS]
    assert not odd, "\n".join(odd)
    assert len(outcomes) == len(load_holdout()[1])


def _assert_metric(outcomes: list[Outcome], name: str) -> None:
    hits, total = score(outcomes, name)
    expected, accepted = METRICS[name]
    missed = [_describe(o) for o in outcomes if o.row.level in expected and o.level not in accepted]
    assert total, f"no holdout rows for {name}"
    assert hits / total >= THRESHOLDS[name], (
        f"holdout {name} {_cell(hits, total)} is below {THRESHOLDS[name]}; missed:\n" + "\n".join(missed)
    )


def test_urgent_sensitivity(outcomes):
    _assert_metric(outcomes, "urgent sensitivity")


def test_any_symptom_sensitivity(outcomes):
    _assert_metric(outcomes, "any-symptom sensitivity")


def test_ok_specificity(outcomes):
    _assert_metric(outcomes, "ok specificity")


def test_admin_accuracy(outcomes):
    _assert_metric(outcomes, "admin accuracy")
