"""What triage says about one reply."""

from __future__ import annotations

from dataclasses import dataclass, field

LEVELS = ("urgent", "flag", "admin", "ok")  # most to least pressing
LEVEL_RANK = {"ok": 0, "admin": 1, "flag": 2, "urgent": 3}  # to combine: the higher wins


@dataclass(frozen=True)
class TriageResult:
    level: str  # "urgent" | "flag" | "ok" | "admin"
    symptoms: list[str]  # short English tags, most pressing first ("breathing", "fever", ...)
    evidence: list[str]  # the words of the reply that decided it, as the patient wrote them
    language: str | None  # the language given, or the one the reply looks most like
    denied: list[str] = field(default_factory=list)  # symptoms said to be absent or over
    menu: str | None = None  # the menu digit, when the reply answered the menu
    intent: str | None = None  # "thanks" for a plain thank-you (admin that needs no one)

    def to_dict(self) -> dict:
        return {
            "level": self.level,
            "symptoms": list(self.symptoms),
            "evidence": list(self.evidence),
            "language": self.language,
            "denied": list(self.denied),
            "menu": self.menu,
            "intent": self.intent,
        }
