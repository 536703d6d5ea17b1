"""Who may do what (DESIGN.md, "Privacy and safety"): one table, checked by every door.

`nurse` and `clinician` work the queue, read patients, enroll, pause and resume, change
a phone or a language, and text a patient from the queue; `admin` also manages staff and
clinic settings, withdraws patients, reads the audit log and exports. A role's refusal
is 403; another clinic's data is 404 (that check lives with the query, not here).
"""

from __future__ import annotations

from reminders.models import STAFF_ROLES

# Every action a door can ask about. Add new actions here, never as ad-hoc role checks.
QUEUE_WORK = "queue.work"            # list, claim, hand back, resolve, log a call, correct triage
PATIENT_READ = "patient.read"
PATIENT_ENROLL = "patient.enroll"    # one at a time or a CSV import
PATIENT_UPDATE = "patient.update"    # pause, resume, change phone or language
PATIENT_MESSAGE = "patient.message"  # text a patient from the queue
PATIENT_WITHDRAW = "patient.withdraw"
STAFF_MANAGE = "staff.manage"
CLINIC_MANAGE = "clinic.manage"
AUDIT_READ = "audit.read"
EXPORT = "export"                    # CSV exports (triage corrections, audit, ...)

_CARE = frozenset({QUEUE_WORK, PATIENT_READ, PATIENT_ENROLL, PATIENT_UPDATE, PATIENT_MESSAGE})
_ADMIN = _CARE | {PATIENT_WITHDRAW, STAFF_MANAGE, CLINIC_MANAGE, AUDIT_READ, EXPORT}

PERMISSIONS: dict[str, frozenset[str]] = {
    "nurse": _CARE,
    "clinician": _CARE,
    "admin": frozenset(_ADMIN),
}
ACTIONS = frozenset(_ADMIN)

assert set(PERMISSIONS) == set(STAFF_ROLES), "every role needs a row in PERMISSIONS"


def can(role: str, action: str) -> bool:
    """True when `role` may do `action`; an unknown action is a bug, not a refusal."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}")
    return action in PERMISSIONS.get(role, frozenset())
