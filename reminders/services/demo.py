"""`reminders serve --demo`: a living demo clinic, made by the real code paths.

Eleven weeks of a clinic's life are played through in simulated time: patients are
enrolled on their ART start day (so today some are in every week of their plan and some
have completed it), the dispatch, follow-up and outbox passes run a few times a day on
the local gateway, patients answer (or not) with replies in their language that go
through the real inbound path and triage, a nurse claims and resolves most queue items,
and the last day and a half is left to do: open items, some past their target, so the
dashboard has a curve and the queue has work. Deterministic (a fixed random seed), a few
seconds on SQLite. Every name is invented.
"""

from __future__ import annotations

import itertools
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import select

from reminders.db import session_scope
from reminders.models import CheckIn, Clinic, Patient, QueueItem, Staff
from reminders.schemas import PatientCreate
from reminders.security import hash_password
from reminders.services import dispatch, followup, queue
from reminders.services.clinics import add_clinic, add_staff
from reminders.services.enroll import enroll
from reminders.services.inbound import Incoming, ingest, process_received
from reminders.services.outbox import SendOptions
from reminders.sms.local import LocalGateway

DEMO_CLINIC = "DEMO"
DEMO_EMAIL = "nurse@demo.example.org"
DEMO_ADMIN = "admin@demo.example.org"
TIMEZONE = "Africa/Nairobi"
DAYS = 70  # the oldest patient started ART this many days ago (completed after day 56)
PATIENTS = 36
LEFT_OPEN = timedelta(hours=36)  # items opened this recently are left for the demo's nurse
FORGOTTEN = timedelta(days=5)  # ... and a few opened in these last days were missed: past target
STEPS = (time(9, 5), time(17, 0))  # passes per simulated day, local (replies keep their own times)

NAMES = ["Amina", "Juma", "Wanjiru", "Otieno", "Fatuma", "Baraka", "Achieng", "Kamau", "Zawadi",
         "Mwangi", "Nia", "Omondi", "Halima", "Kibet", "Rehema", "Njeri", "Said", "Akinyi",
         "Musa", "Chebet"]
LANGUAGES = ["sw", "sw", "en", "sw", "en", "fr", "pt", "es"]
# Replies by level and language, each checked to triage at that level (tests/services/test_demo.py).
REPLIES = {
    "ok": {"en": ["1", "I am fine, thank you", "no fever, all good"], "sw": ["sawa", "niko poa", "1"],
           "fr": ["ça va bien", "1"], "pt": ["estou bem", "1"], "es": ["estoy bien", "1"]},
    "flag": {"en": ["2", "I have had a fever since yesterday", "there is a lump in my neck",
                    "a cough that is getting worse"], "sw": ["nina homa", "nina kikohozi", "2"],
             "fr": ["j ai de la fievre", "3"], "pt": ["tenho febre", "tenho tosse"],
             "es": ["tengo fiebre", "tengo tos"]},
    "urgent": {"en": ["I cannot breathe and my chest hurts", "very bad headache and stiff neck",
                      "my eyes are blurry and painful"],
               "sw": ["siwezi kupumua", "kichwa kinauma sana na shingo ngumu"],
               "fr": ["je n arrive pas a respirer"], "pt": ["nao consigo respirar"], "es": ["no puedo respirar"]},
    "admin": {"en": ["when is my next appointment?", "who is this?"], "sw": ["miadi yangu ni lini?", "ni nani huyu?"],
              "fr": ["quand est mon prochain rendez-vous ?"], "pt": ["quando é a minha consulta?"],
              "es": ["¿cuándo es mi cita?"]},
}
# Share of answered check-ins that report a problem, by week since ART start: the IRIS
# window peaks in weeks 2-4.
PROBLEM_BY_WEEK = {1: 0.12, 2: 0.25, 3: 0.32, 4: 0.28, 5: 0.18, 6: 0.12, 7: 0.08, 8: 0.06, 9: 0.05}
OUTCOMES = ["reached_well", "advised_visit", "advised_visit", "referred", "iris_suspected", "other_cause",
            "unreachable"]


@dataclass(frozen=True)
class DemoLogin:
    clinic: str
    email: str
    password: str
    admin_email: str = DEMO_ADMIN


def seed_demo(engine: sa.Engine, *, now: datetime) -> DemoLogin:
    """Idempotent: a second run keeps the data and issues a new password."""
    password = secrets.token_urlsafe(12)
    with session_scope(engine) as session:
        clinic = session.exec(select(Clinic).where(Clinic.code == DEMO_CLINIC)).first()
        if clinic is None:
            clinic = add_clinic(session, code=DEMO_CLINIC, name="Afya Demo", timezone=TIMEZONE,
                                country="KE", phone="+254700000001", oncall_phone="+254700000002",
                                backup_phone="+254700000003", actor="demo")
        for email, role in ((DEMO_EMAIL, "nurse"), (DEMO_ADMIN, "admin")):
            staff = session.exec(select(Staff).where(Staff.email == email)).first()
            if staff is None:
                add_staff(session, email=email, clinic_code=DEMO_CLINIC, role=role, password=password,
                          actor="demo")
            else:
                staff.password_hash = hash_password(password)
                session.add(staff)
        seeded = session.exec(select(Patient.id).where(Patient.clinic_id == clinic.id)).first() is not None
    if not seeded:
        _Simulation(engine, now).run()
    return DemoLogin(DEMO_CLINIC, DEMO_EMAIL, password)


class _Simulation:
    def __init__(self, engine: sa.Engine, now: datetime) -> None:
        self.engine, self.end = engine, now
        self.zone = ZoneInfo(TIMEZONE)
        self.rng = random.Random(20261201)
        self.gateway = LocalGateway()
        self.options = SendOptions(rate=100_000, concurrency=1)  # simulated time: no pacing
        self.replies: list[tuple[datetime, str, str]] = []  # (when, phone, text), sent later
        self.sids = itertools.count(1)
        self.stopper: str | None = None
        with session_scope(engine) as session:
            self.nurse = session.exec(select(Staff).where(Staff.email == DEMO_EMAIL)).one()
            self.clinic_id = self.nurse.clinic_id

    def run(self) -> None:
        today = self.end.astimezone(self.zone).date()
        starts = {today - timedelta(days=round(i * DAYS / (PATIENTS - 1))): i for i in range(PATIENTS)}
        for day in (today - timedelta(days=DAYS - n) for n in range(DAYS + 1)):
            for step in STEPS:
                at = datetime.combine(day, step, self.zone)
                if step == STEPS[0] and day in starts:
                    # Today's patient is enrolled even when the demo starts before the
                    # first step of the day (after midnight at the clinic): all 36 are in.
                    self._enroll(starts[day], day, min(at, self.end))
                if at > self.end:
                    break
                self._step(at)
        self._urgent_unclaimed()
        self._step(self.end)
        self._unknown_number()

    def _enroll(self, i: int, day: date, at: datetime) -> None:
        with session_scope(self.engine) as session:
            enroll(session, PatientCreate(
                clinic=DEMO_CLINIC, phone=f"+2547120{i:05d}", language=LANGUAGES[i % len(LANGUAGES)],
                art_start_date=day, consent=True, cd4=[250, 80, 350, 150, 60][i % 5],
                recent_oi=i % 7 == 3, shared_phone=i % 6 == 5, display_name=NAMES[i % len(NAMES)],
                register_ref=f"ART-{2026_000 + i}",
            ), now=at, actor="demo")

    def _step(self, at: datetime) -> None:
        due = sorted(r for r in self.replies if r[0] <= at)
        self.replies = [r for r in self.replies if r[0] > at]
        for when, phone, text in due:
            with session_scope(self.engine) as session:
                ingest(session, Incoming(sid=f"SMdemo{next(self.sids):026d}", from_=phone, to="local", body=text),
                       now=when, answer_mode="twiml")
        process_received(self.engine)
        followup.run_once(self.engine, now=at)
        self._staff_work(at)
        dispatch.run_once(self.engine, self.gateway, now=at, options=self.options, worker="demo")
        self._plan_replies(at)

    def _plan_replies(self, at: datetime) -> None:
        """Patients answer the check-ins this pass sent: most do, some hours later."""
        with session_scope(self.engine) as session:
            sent = session.exec(
                select(CheckIn, Patient).join(Patient, Patient.id == CheckIn.patient_id)
                .where(CheckIn.sent_at == at, Patient.clinic_id == self.clinic_id)
            ).all()
        for checkin, patient in sent:
            week = checkin.day // 7 + 1
            if self.rng.random() > 0.86 - 0.02 * week:
                continue  # no answer: a reminder, then a no_response item
            when = at + timedelta(hours=self.rng.uniform(0.2, 9))
            if when > self.end:
                continue
            if self.stopper is None and week == 4 and patient.status == "active":
                self.stopper = patient.phone
                self.replies.append((when, patient.phone, "STOP"))  # one patient opts out
                continue
            if self.rng.random() < PROBLEM_BY_WEEK.get(week, 0.05):
                level = "urgent" if self.rng.random() < 0.25 else "flag"
            else:
                level = "admin" if self.rng.random() < 0.06 else "ok"
            texts = REPLIES[level].get(patient.language) or REPLIES[level]["en"]
            self.replies.append((when, patient.phone, self.rng.choice(texts)))

    def _staff_work(self, at: datetime) -> None:
        """The nurse claims and resolves items, except the most recent ones (left to do)."""
        with session_scope(self.engine) as session:
            items = session.exec(
                select(QueueItem).where(QueueItem.clinic_id == self.clinic_id,
                                        QueueItem.status.in_(("open", "claimed")))  # type: ignore[attr-defined]
            ).all()
            for item in items:
                rng = random.Random(item.id)  # the same delays whenever the item is looked at
                fast = item.level == "urgent"
                claim_at = item.opened_at + timedelta(hours=rng.uniform(0.2, 1.8) if fast else rng.uniform(1, 20))
                resolve_at = claim_at + timedelta(hours=rng.uniform(0.3, 6))
                forgotten = item.opened_at > self.end - FORGOTTEN and rng.random() < 0.2
                if item.opened_at > self.end - LEFT_OPEN or forgotten:
                    if rng.random() < 0.4 and item.status == "open" and claim_at <= at:
                        queue.claim(session, item.id, self.nurse, claim_at)  # claimed, still to resolve
                    continue
                if item.status == "open" and claim_at <= at:
                    queue.claim(session, item.id, self.nurse, claim_at)
                if resolve_at <= at:
                    queue.resolve(session, item.id, self.nurse, rng.choice(OUTCOMES),
                                  "Called the patient.", resolve_at)

    def _urgent_unclaimed(self) -> None:
        """An urgent reply four hours ago that nobody has claimed yet: past its 2-hour target."""
        with session_scope(self.engine) as session:
            patient = session.exec(
                select(Patient).where(Patient.clinic_id == self.clinic_id, Patient.status == "active",
                                      Patient.shared_phone == False, Patient.language == "en")  # noqa: E712
                .order_by(Patient.art_start_date.desc()).offset(2).limit(1)  # type: ignore[attr-defined]
            ).first()
        if patient is not None:
            self.replies.append((self.end - timedelta(hours=4), patient.phone,
                                 "very bad headache and stiff neck since last night"))

    def _unknown_number(self) -> None:
        """A text from a number no patient has: the queue offers to enroll it."""
        with session_scope(self.engine) as session:
            ingest(session, Incoming(sid=f"SMdemo{next(self.sids):026d}", from_="+254799000111", to="local",
                                     body="Hello, the clinic gave me this number"),
                   now=self.end - timedelta(hours=3), answer_mode="twiml")
