"""Triage against the labelled corpora that are gates (tests/triage_corpora.py, tests/data/).

Each corpus's figures are printed and added to the end-of-run summary; the four floors
of issue 4 are asserted on each, and no reply may be misclassified. `-k wellformed`
checks the files without the engine. The sealed corpus is measured, never asserted, in
test_triage_sealed.py.
"""

from __future__ import annotations

import pytest

from tests.triage_corpora import (
    CORPORA, LEVELS, METRICS, THRESHOLDS, Outcome, cell, describe, load, problems, report, score,
)

NAMES = list(CORPORA)


class _TerminalSummary:
    """Adds a corpus's figures to the end-of-run summary, whatever the capture mode."""

    def __init__(self, title: str, text: str) -> None:
        self.title, self.text = title, text

    def pytest_terminal_summary(self, terminalreporter) -> None:  # type: ignore[no-untyped-def]
        terminalreporter.write_sep("=", self.title)
        for line in self.text.splitlines():
            terminalreporter.write_line(line)


@pytest.fixture(scope="module", params=NAMES)
def outcomes(request: pytest.FixtureRequest) -> list[Outcome]:
    from reminders.triage import triage

    corpus = CORPORA[request.param]
    results = []
    for row in load(corpus)[1]:
        try:
            # No language: real replies mix languages, so the engine must cope alone.
            result = triage(row.text, language=None)
        except Exception as exc:  # one crash must name the reply that caused it
            raise AssertionError(f"triage crashed on {corpus.path.name} line {row.line}: {row.text!r}") from exc
        results.append(Outcome(row, result.level, tuple(result.symptoms), tuple(result.evidence)))
    text = report(corpus, results)
    print("\n" + text)
    plugins = request.config.pluginmanager
    if not plugins.has_plugin(f"triage-{corpus.name}-summary"):
        plugins.register(_TerminalSummary(f"triage {corpus.name}", text), name=f"triage-{corpus.name}-summary")
    return results


@pytest.mark.parametrize("name", NAMES)
def test_corpus_wellformed(name: str) -> None:
    corpus = CORPORA[name]
    found = problems(corpus, *load(corpus))
    assert not found, "\n".join(found)


def test_every_reply_gets_a_known_level(outcomes: list[Outcome]) -> None:
    odd = [describe(o) for o in outcomes if o.level not in LEVELS]
    assert not odd, "\n".join(odd)


def test_no_reply_is_misclassified(outcomes: list[Outcome]) -> None:
    # The gates were tuned on: any miss now is a regression, whatever the floors allow.
    wrong = [describe(o) for o in outcomes if not o.correct]
    assert not wrong, f"{len(wrong)} misclassified:\n" + "\n".join(wrong)


@pytest.mark.parametrize("metric", list(METRICS))
def test_metric_meets_its_floor(outcomes: list[Outcome], metric: str) -> None:
    hits, total = score(outcomes, metric)
    expected, accepted = METRICS[metric]
    missed = [describe(o) for o in outcomes if o.row.level in expected and o.level not in accepted]
    assert total, f"no rows for {metric}"
    assert hits / total >= THRESHOLDS[metric], (
        f"{metric} {cell(hits, total)} is below {THRESHOLDS[metric]}; missed:\n" + "\n".join(missed))
