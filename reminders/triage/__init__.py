"""Triage of patients' replies: `triage(text, language=None) -> TriageResult`.

Pure: the lexicons (lexicons/*.toml, reviewed by a clinician) are read once per
process; no database, network or clock.
"""

from .engine import triage
from .lexicon import LexiconError
from .result import LEVELS, TriageResult

__all__ = ["LEVELS", "LexiconError", "TriageResult", "triage"]
