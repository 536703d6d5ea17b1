"""The danger-sign question, asked and answered (DESIGN.md, "The danger-sign question").

A menu digit or a short "sick" cannot say whether someone can breathe. So after a reply
triaged `flag` the patient gets one follow-up SMS asking the red flags, answered with
1 (yes) or 2 (no):

- `after_reply`: a `flag` reply on a `flag` item never asked -> one "danger_question"
  message in the outbox, held until quiet hours end (plan.next_allowed_time), recorded
  on the item (danger_asked_at, danger_message_id): asked at most once per item. An item
  that turns urgent before the question went out has it cancelled.
- `open_question`: the question a reply may be answering: sent (the outbox claimed
  it), unanswered, its item still open or claimed, less than ANSWER_WINDOW ago, and no
  check-in sent since (then a digit answers the check-in's menu).
- `take_answer` (the triage pass): a yes makes the same item urgent at once (the caller
  alerts on-call as for any urgent item); a no keeps it a flag; both are recorded on the
  item and the reply is marked as the answer (kind "danger_answer", in_reply_to the
  question) for the timeline. Anything else is left to ordinary triage.
- `pending_answer` (the webhook): the same reading, to choose the immediate answer and
  to let "YES" answer the question instead of being Twilio's opt-in keyword.

STOP cancels the pending question with every other pending message (inbound.py), and the
outbox never sends to an opted-out patient.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from reminders import messages, plan, protocols
from reminders.danger import NO, OTHER, YES, DangerAnswer, read_answer
from reminders.models import CheckIn, Clinic, Message, Patient, QueueItem
from reminders.services import audit
from reminders.services.enroll import greeting_values
from reminders.services.queue import open_or_join

ANSWER_WINDOW = timedelta(hours=24)
# The patient has not received the question (yet): a reply cannot be its answer.
NOT_RECEIVED = ("pending", "cancelled", "failed", "undelivered")
KIND_QUESTION, KIND_ANSWER = "danger_question", "danger_answer"
YES_TAG = "danger_signs"  # on the item: the patient said yes to the danger-sign question


def after_reply(session: Session, item: QueueItem, patient: Patient, clinic: Clinic, level: str,
                when: datetime) -> Message | None:
    """Ask the question after a `flag` reply if this item was never asked; cancel a
    question not yet sent when the item turned urgent. Returns the question written."""
    if item.level == "urgent":
        cancel_pending(session, item, when)
        return None
    if (level != "flag" or item.level != "flag" or item.danger_asked_at is not None
            or item.status == "resolved" or patient.status != "active"):
        return None
    protocol = protocols.load_protocol()
    question = Message(
        patient_id=patient.id, clinic_id=clinic.id, direction="outbound", kind=KIND_QUESTION,
        phone=patient.phone, status="pending", created_at=when,
        send_after=plan.next_allowed_time(protocol, clinic.timezone, when),  # never in quiet hours
        body=messages.render("danger_question", patient.language, **greeting_values(clinic, patient)),
    )
    session.add(question)
    session.flush()
    item.danger_asked_at, item.danger_message_id = when, question.id
    session.add(item)
    audit.record(session, "system", "danger.ask", "queue_item", item.id, clinic_id=clinic.id, at=when,
                 message=question.id)
    return question


def cancel_pending(session: Session, item: QueueItem, now: datetime) -> None:
    """Withdraw the question if it has not gone out (the item is urgent or resolved)."""
    if item.danger_message_id is None:
        return
    session.execute(
        sa.update(Message)
        .where(Message.id == item.danger_message_id, Message.status == "pending")
        .values(status="cancelled", status_changed_at=now)
    )


def open_question(session: Session, patient_id: int, at: datetime) -> QueueItem | None:
    """The item whose danger-sign question a reply arriving `at` answers, if any."""
    newer_checkin = (
        select(CheckIn.id)
        .where(CheckIn.patient_id == patient_id, CheckIn.sent_at > Message.claimed_at,
               CheckIn.sent_at <= at)  # type: ignore[operator]
        .exists()
    )
    return session.exec(
        select(QueueItem)
        .join(Message, Message.id == QueueItem.danger_message_id)  # type: ignore[arg-type]
        .where(QueueItem.patient_id == patient_id,
               QueueItem.status.in_(("open", "claimed")),  # type: ignore[attr-defined]
               QueueItem.danger_answer.is_(None),  # type: ignore[union-attr]
               Message.status.not_in(NOT_RECEIVED),  # type: ignore[attr-defined]
               Message.claimed_at <= at, Message.claimed_at > at - ANSWER_WINDOW,  # type: ignore[operator]
               ~newer_checkin)
        .order_by(Message.claimed_at.desc())  # type: ignore[attr-defined]
        .limit(1)
    ).first()


def pending_answer(session: Session, patient: Patient, body: str, at: datetime) -> DangerAnswer | None:
    """How `body` answers the patient's open question: None when no question is open or
    the reply is not a yes or a no."""
    if patient.status != "active" or open_question(session, patient.id, at) is None:
        return None
    answer = read_answer(body, patient.language)
    return None if answer.kind == OTHER else answer


def take_answer(session: Session, message: Message, patient: Patient, when: datetime) -> QueueItem | None:
    """If this reply answers an open question: record it and return the item (now urgent
    for a yes). None: not an answer, triage it as an ordinary reply."""
    if patient.status != "active":
        return None
    item = open_question(session, patient.id, when)
    if item is None:
        return None
    answer = read_answer(message.body, patient.language)
    if answer.kind == OTHER:
        return None
    item.danger_answer, item.danger_answered_at = answer.kind, when
    message.kind, message.in_reply_to = KIND_ANSWER, item.danger_message_id
    session.add(message)
    session.add(item)
    audit.record(session, "system", "danger.answer", "queue_item", item.id, clinic_id=item.clinic_id,
                 at=when, message=message.id, answer=answer.kind)
    extra = answer.extra if answer.extra is not None and answer.extra.level in ("urgent", "flag") else None
    if answer.kind == YES:
        return open_or_join(session, clinic_id=item.clinic_id, patient_id=patient.id, level="urgent",
                            reason="reply", now=when, symptoms=[YES_TAG, *(extra.symptoms if extra else [])],
                            evidence=list(dict.fromkeys(answer.evidence + (extra.evidence if extra else []))))
    if answer.kind == NO and extra is not None:  # "2, but the fever is worse"
        return open_or_join(session, clinic_id=item.clinic_id, patient_id=patient.id, level=extra.level,
                            reason="reply", now=when, symptoms=extra.symptoms, evidence=extra.evidence)
    return item
