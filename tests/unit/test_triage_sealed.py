"""The sealed corpus (tests/data/triage_sealed.csv): measured on every run, never asserted.

It was written independently (issue 9's set_a), measured once after the tuning on
triage_new_b.csv, and must NEVER be tuned on: do not change the lexicons or the engine
to fix a reply you saw in it, and do not edit its rows. Its figures, printed in every run
and in the end-of-run summary, show drift: a change that lowers them is worse on replies
nobody tuned on, whatever the gates say. Only the file's well-formedness can fail here.
"""

from __future__ import annotations

import pytest

from tests.triage_corpora import SEALED, LEVELS, Outcome, causes, describe, load, problems, report


class _TerminalSummary:
    def __init__(self, text: str) -> None:
        self.text = text

    def pytest_terminal_summary(self, terminalreporter) -> None:  # type: ignore[no-untyped-def]
        terminalreporter.write_sep("=", "triage sealed (measured, never tuned on)")
        for line in self.text.splitlines():
            terminalreporter.write_line(line)


def test_sealed_corpus_wellformed() -> None:
    assert SEALED.path.exists(), f"{SEALED.path} is missing"
    found = problems(SEALED, *load(SEALED))
    assert not found, "\n".join(found)


def test_sealed_corpus_figures_are_printed_never_asserted(request: pytest.FixtureRequest) -> None:
    from reminders.triage import triage

    if not SEALED.path.exists():
        pytest.skip("no sealed corpus")  # the well-formedness test above fails instead
    outcomes = []
    for row in load(SEALED)[1]:
        result = triage(row.text, language=None)
        outcomes.append(Outcome(row, result.level, tuple(result.symptoms), tuple(result.evidence)))
    text = report(SEALED, outcomes) + "\n" + causes(outcomes)
    print("\n" + text)
    plugins = request.config.pluginmanager
    if not plugins.has_plugin("triage-sealed-summary"):
        plugins.register(_TerminalSummary(text), name="triage-sealed-summary")
    # Only that every reply got a level: the figures are for reading, not for failing.
    odd = [describe(o) for o in outcomes if o.level not in LEVELS]
    assert not odd, "\n".join(odd)
