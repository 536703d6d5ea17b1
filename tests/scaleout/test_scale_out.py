"""Scale-out, tested as deployed: two `reminders serve` and two `reminders worker`
processes on one PostgreSQL database, 2,000 patients, the whole 8-week plan.

The design, and where the concurrency is:

- Four long-running processes, as the runbook deploys them: web0 and web1 (`reminders
  serve --passes spool`: the webhooks, the API and the replay of their own spool) and
  worker0 and worker1 (`reminders worker`), which run the periodic passes on the real
  clock: replies triaged every 2 s, the outbox and due check-ins every 30 s, follow-up
  every 60 s. The twilio gateway in each is the real
  twilio client, pointed at the fake Twilio server running in a process of its own.
- 2,000 patients are enrolled through the API (POST /api/token, POST /api/patients),
  alternating between web0 and web1, eight requests in flight at a time. Their plan
  starts today, so every check-in is due in the (real) future.
- The 8 weeks are simulated through the service's `now`: at each step T (days 3, 21, 40
  and 59 of the plan), one `reminders followup --now T`, then TWO `reminders dispatch
  --now T` processes at once, racing each other for the same due check-ins and for the
  same outbox rows (a check-in written as of T is held until T, so only passes as of T
  send it). The replies make messages due on the real clock too (on-call alerts, and the
  danger-sign question in the clinic's daytime): the dispatch processes and the two
  workers' real-clock passes race for those, and each step waits until they are sent. While
  those two dispatch processes run, the step's replies are posted, each one to BOTH web
  processes at once with the same MessageSid (what Twilio does when it retries), so the
  two webhooks race to store it and the two workers race to triage it. Claims and
  leases are the database's business: a pass as of a simulated T and a pass on the real
  clock must never take the same row twice, nor mistake a live send for a dead one.
- Fewer steps than check-in days keeps the run in minutes on 2 cores, not the
  guarantees: at each step only a patient's newest due check-in is sent and the older
  ones become `skipped` (the outage rule), so each patient who stays in gets exactly
  four check-ins (days 3, 21, 35 and 56), which the test counts.
- Replies at every level go to patients who speak English (one in five), a different
  group at each step: urgent ("I cannot breathe"), flag ("2"), ok ("1"), admin ("6")
  while dispatch runs, then STOP once the step is quiet, so "nothing after STOP" is
  a fact about order at the fake, not about timing.

Then, from the fake's own record (every message created at it) and the database:
every message the database says was sent was created exactly once at the fake, and the
fake created nothing else (a duplicate send shows up as an extra message there); every
check-in sent once to its patient; each reply stored once and triaged once into one
open queue item at the right level; each urgent item alerted once on the on-call phone;
no message to a patient after their STOP. Every process is stopped at the end, even on
failure.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from xml.sax.saxutils import escape
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time as clock_time, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from reminders import spool
from reminders.db import create_db_engine, session_scope
from reminders.models import LEVEL_RANK, AuditEvent, CheckIn, Message, Patient, QueueItem
from reminders.services.clinics import add_clinic, add_staff
from tests.conftest import _truncate
from reminders.services.inbound import answer_without_database
from tests.fake_twilio import sign
from tests.scaleout.harness import (
    PUBLIC_URL, Processes, environment, fake_twilio, free_port, wait_for, wait_healthy,
)

pytestmark = [pytest.mark.scaleout, pytest.mark.slow]

PATIENTS = 2000
STEPS = (3, 21, 40, 59)  # plan days; the last is past day 56 + the 48 h to answer
SETTLE_DAY = 61  # a last follow-up and dispatch: completions and what was held
ZONE = ZoneInfo("Africa/Nairobi")
ONCALL, BACKUP = "+254700000002", "+254700000003"
EMAIL, PASSWORD = "nurse@example.org", "scale-out-Pa55word!"
TEXTS = {"urgent": "I cannot breathe", "flag": "2", "ok": "1", "admin": "6"}
PER_STEP = {"urgent": 12, "flag": 25, "ok": 38, "admin": 13, "stop": 12}  # 100 a step
SYMPTOM = {"urgent": "breathing", "flag": "fever", "admin": "call_request"}


def test_two_web_and_two_worker_processes_run_eight_weeks_for_2000_patients(postgres_url, tmp_path):
    started = time.monotonic()
    late: list[str] = []
    laps: dict[str, float] = {}
    mark = [started]

    def lap(name: str) -> None:
        laps[name] = round(time.monotonic() - mark[0], 1)
        mark[0] = time.monotonic()
    engine = create_db_engine(postgres_url)
    _truncate(engine)
    with session_scope(engine) as session:
        add_clinic(session, code="KIB", name="Kibera Clinic", timezone="Africa/Nairobi", country="KE",
                   phone="+254700000001", oncall_phone=ONCALL, backup_phone=BACKUP)
        add_staff(session, email=EMAIL, clinic_code="KIB", role="nurse", password=PASSWORD)
    art_start = datetime.now(ZONE).date()

    def instant(day: int) -> str:
        return datetime.combine(art_start + timedelta(days=day), clock_time(10, 0), ZONE).isoformat()

    with fake_twilio() as fake:
        procs = Processes(environment(postgres_url, fake, tmp_path / "spool"), tmp_path / "logs")
        http = httpx.Client(timeout=60)
        try:
            webs = []
            for i in range(2):
                port = free_port()
                procs.start(f"web{i}", ["serve", "--host", "127.0.0.1", "--port", str(port), "--passes", "spool"])
                webs.append(f"http://127.0.0.1:{port}")
            for i in range(2):
                procs.start(f"worker{i}", ["worker"])
            for web in webs:
                wait_healthy(web, procs.check_alive)
            lap("start")

            phones = enroll_all(http, webs, art_start.isoformat())
            with session_scope(engine) as session:
                patient_of = {p.phone: p.id for p in session.exec(select(Patient))}
            # A 201 means committed: the patient is there the moment the answer arrives.
            # (Recorded, not raised at once, so one run shows every broken promise.)
            if sorted(patient_of) != sorted(phones):
                late.append(f"{len(set(phones) - set(patient_of))} patients answered 201 "
                            "were not yet in the database")
                wait_for("every enrolled patient committed", lambda: patient_count(engine) == PATIENTS,
                         30, procs.check_alive)
                with session_scope(engine) as session:
                    patient_of = {p.phone: p.id for p in session.exec(select(Patient))}
            lap("enroll")
            english = [phone for i, phone in enumerate(phones) if i % 5 == 0]
            groups = iter(english)
            replies: dict[str, tuple[str, str]] = {}  # sid -> (phone, level)
            stops: list[tuple[set[str], int]] = []  # (phones, the fake's last seq before STOP)
            waits: Counter[str] = Counter()  # check-ins queued after waiting for a lock; left busy
            answered_from_spool = 0

            for step, day in enumerate(STEPS):
                now = instant(day)
                procs.finish(f"followup{step}", procs.start(f"followup{step}", ["followup", "--now", now]))
                group = {level: [next(groups) for _ in range(n)] for level, n in PER_STEP.items()}
                before = open_items(engine, [patient_of[p] for p in group["ok"] + group["admin"]])
                dispatchers = [procs.start(f"dispatch{step}.{j}", ["dispatch", "--now", now])
                               for j in range(2)]
                sent_now, spooled = post_replies(http, webs, fake.auth_token,
                                                 [(phone, level) for level in TEXTS for phone in group[level]])
                replies.update(sent_now)
                answered_from_spool += spooled
                for j, process in enumerate(dispatchers):
                    summary = procs.finish(f"dispatch{step}.{j}", process)
                    waits.update({key: summary[key] for key in ("waited", "busy")})
                drain(engine, procs, everything=True)  # alerts too: real-clock passes send them
                lap(f"day{day}")
                check_replies(engine, sent_now, patient_of, before)

                baseline = max((s.seq for s in fake.sent()), default=0)
                answered_from_spool += post_replies(
                    http, webs, fake.auth_token, [(phone, "stop") for phone in group["stop"]])[1]
                stops.append((set(group["stop"]), baseline))
                drain(engine, procs)

            procs.finish("followup.settle", procs.start(
                "followup.settle", ["followup", "--now", instant(SETTLE_DAY)]))
            settle = [procs.start(f"dispatch.settle{j}", ["dispatch", "--now", instant(SETTLE_DAY)])
                      for j in range(2)]
            for j, process in enumerate(settle):
                procs.finish(f"dispatch.settle{j}", process)
            drain(engine, procs, everything=True)
            # Whatever was spooled (answered from triage alone) is replayed by the web
            # processes; none of it may be left over, nor set aside as unreadable.
            wait_for("the spool replayed", lambda: spool.counts(tmp_path / "spool").pending == 0, 120,
                     procs.check_alive)
            assert spool.counts(tmp_path / "spool").quarantined == 0
            lap("settle")
            procs.check_alive()
            senders = sent_by(engine, procs)
        finally:
            procs.stop_all()
            http.close()
        sent = fake.sent()

    figures = check_everything(engine, sent, replies, stops, patient_of)
    figures.update(senders=senders, laps=laps, dispatch_waits=dict(waits), answered_from_spool=answered_from_spool, processes="2 serve + 2 worker (+ 2 dispatch and 1 followup per step)",
                   patients=len(patient_of), seconds=round(time.monotonic() - started))
    print("scale-out:", figures)
    engine.dispose()
    assert late == []


# -- the doors: the API and the signed webhook ------------------------------------------------

def enroll_all(http: httpx.Client, webs: list[str], art_start: str) -> list[str]:
    tokens = {}
    for web in webs:
        answer = http.post(web + "/api/token", data={"username": EMAIL, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        tokens[web] = answer.json()["access_token"]
    languages = ["en", "sw", "es", "fr", "pt"]

    def enroll_one(i: int) -> str:
        web = webs[i % 2]
        phone = f"+2547{11_000_000 + i:08d}"
        answer = http.post(web + "/api/patients", headers={"Authorization": f"Bearer {tokens[web]}"},
                           json={"clinic": "KIB", "phone": phone, "language": languages[i % 5],
                                 "art_start_date": art_start, "consent": True, "cd4": 250})
        assert answer.status_code == 201, answer.text
        return phone

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(enroll_one, range(PATIENTS)))


def post_replies(http: httpx.Client, webs: list[str], token: str,
                 replies: list[tuple[str, str]]) -> tuple[dict[str, tuple[str, str]], int]:
    """Each reply to BOTH web processes at once, same MessageSid; returns sid -> (phone,
    level), and how many deliveries were answered without the database (spooled)."""
    by_sid = {"SM" + uuid.uuid4().hex: reply for reply in replies}
    posts = [(web, sid) for sid in by_sid for web in webs]
    random.Random(len(posts)).shuffle(posts)

    def post(job: tuple[str, str]) -> tuple[str, str]:
        web, sid = job
        phone, level = by_sid[sid]
        form = {"AccountSid": "AC" + "0" * 32, "MessageSid": sid, "SmsSid": sid, "From": phone,
                "To": "+15005550006", "Body": TEXTS.get(level, "STOP"), "NumMedia": "0"}
        headers = {"X-Twilio-Signature": sign(PUBLIC_URL + "/twilio/sms", form, token)}
        for attempt in range(3):
            # A kept-alive connection the server closed as idle just as we reused it
            # (uvicorn's keep-alive timeout) resets: Twilio retries then, and so do we.
            try:
                answer = http.post(web + "/twilio/sms", data=form, headers=headers)
                break
            except httpx.TransportError:
                if attempt == 2:
                    raise
        assert answer.status_code == 200, answer.text
        return sid, answer.text

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers: dict[str, set[str]] = {}
        for sid, text in pool.map(post, posts):
            answers.setdefault(sid, set()).add(text)
    # A retry gets the same answer as the first delivery (or none, when it lost the race
    # to a STOP's single confirmation: then both must be the same empty answer).
    # Except when one delivery could not be stored in time (it waited on the other's
    # uncommitted row past its lock timeout, on a loaded machine): that one was spooled
    # and answered from triage alone, the promise for a database that does not answer.
    # The reply is still stored once (check_replies); here both answers must be those two.
    differing = {sid: texts for sid, texts in answers.items() if len(texts) != 1}
    unexplained = {sid: sorted(texts) for sid, texts in differing.items()
                   if len(texts) != 2 or not any(escape(answer_without_database(TEXTS.get(by_sid[sid][1], "STOP"))) in text
                                                 for text in texts)}
    assert not unexplained, f"{len(unexplained)} replies answered differently by the two deliveries, e.g. " \
        f"{[(by_sid[sid][1], texts) for sid, texts in list(unexplained.items())[:3]]}"
    return by_sid, len(differing)


# -- waiting and checking ----------------------------------------------------------------------

def drain(engine: sa.Engine, procs: Processes, *, everything: bool = False, timeout: float = 150) -> None:
    """Until no reply waits for triage, nothing is being sent, and nothing a patient is
    due to get on the real clock is pending (`everything`: staff alerts too). Messages held
    for a later simulated time stay pending: the next step's dispatch sends them."""

    def quiet() -> bool:
        now = datetime.now(timezone.utc)
        sendable = sa.and_(Message.direction == "outbound", Message.status == "pending",
                           sa.or_(Message.send_after.is_(None), Message.send_after <= now))
        if not everything:  # on-call alerts (no patient) wait for a worker's pass or the next step
            sendable = sa.and_(sendable, Message.patient_id.is_not(None))
        with session_scope(engine) as session:
            busy = session.execute(
                sa.select(sa.func.count(Message.id)).where(sa.or_(
                    sa.and_(Message.direction == "inbound", Message.status == "received"),
                    sa.and_(Message.direction == "outbound", Message.status == "sending"),
                    sendable,
                ))).scalar_one()
        return busy == 0

    wait_for("outbox and replies drained", quiet, timeout, procs.check_alive)


def sent_by(engine: sa.Engine, procs: Processes) -> dict[str, int]:
    """How many sends each kind of process made (claimed_by ends with the pid)."""
    kinds = {str(process.pid): name.rstrip("0123456789.").removesuffix(".settle")
             for name, process in procs.running}
    with session_scope(engine) as session:
        claimers = session.exec(select(Message.claimed_by).where(
            Message.direction == "outbound", Message.provider_sid.is_not(None))).all()  # type: ignore[union-attr]
    return dict(Counter(kinds.get(str(c).rsplit(":", 1)[-1], "other") for c in claimers))


def patient_count(engine: sa.Engine) -> int:
    with session_scope(engine) as session:
        return session.execute(sa.select(sa.func.count(Patient.id))).scalar_one()


def open_items(engine: sa.Engine, patient_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    with session_scope(engine) as session:
        items = session.exec(select(QueueItem).where(QueueItem.patient_id.in_(patient_ids),  # type: ignore[union-attr]
                                                     QueueItem.status == "open")).all()
        found: dict[int, list[tuple[int, str]]] = {pid: [] for pid in patient_ids}
        for item in items:
            found[item.patient_id].append((item.id, item.level))  # type: ignore[index]
        return found


def check_replies(engine: sa.Engine, replies: dict[str, tuple[str, str]], patient_of: dict[str, int],
                  before: dict[int, list[tuple[int, str]]]) -> None:
    """Each reply stored once, triaged once, in one open item at the right level."""
    with session_scope(engine) as session:
        stored = session.exec(select(Message).where(Message.provider_sid.in_(list(replies)))).all()  # type: ignore[union-attr]
        assert Counter(m.provider_sid for m in stored) == Counter(set(replies))
        assert {m.status for m in stored} == {"processed"}
        triaged = Counter(session.exec(select(AuditEvent.entity_id).where(
            AuditEvent.action == "reply.triage",
            AuditEvent.entity_id.in_([m.id for m in stored]))).all())  # type: ignore[union-attr]
        assert triaged == Counter({m.id: 1 for m in stored})
    after = open_items(engine, [patient_of[phone] for phone, _level in replies.values()])
    with session_scope(engine) as session:
        for phone, level in replies.values():
            patient = patient_of[phone]
            if level == "ok":
                assert after[patient] == before[patient], phone  # "I am well" opens nothing
                continue
            assert len(after[patient]) == 1, (level, after[patient])  # joined, never a second item
            item = session.get(QueueItem, after[patient][0][0])
            expected = level
            if level == "admin":  # joins an earlier no-response item and keeps its rank
                expected = max([level, *(lvl for _id, lvl in before[patient])], key=LEVEL_RANK.get)
            assert item.level == expected, (phone, level, item.level)
            assert SYMPTOM[level] in item.symptoms
            assert (item.alerted_at is not None) == (level == "urgent")


def check_everything(engine: sa.Engine, sent: list, replies: dict[str, tuple[str, str]],
                     stops: list[tuple[set[str], int]], patient_of: dict[str, int]) -> dict[str, int]:
    with session_scope(engine) as session:
        outbound = session.exec(select(Message).where(Message.direction == "outbound",
                                                      Message.provider_sid.is_not(None))).all()  # type: ignore[union-attr]
        patients = {p.id: p for p in session.exec(select(Patient))}
        checkins = session.exec(select(CheckIn)).all()
        urgent_ids = set(session.exec(select(QueueItem.id).where(QueueItem.level == "urgent")).all())
    # Exactly once, from the fake's side: every SID we recorded was created there once,
    # and it created nothing we did not record (a duplicate send would be one more).
    fake_sids = Counter(s.sid for s in sent)
    assert max(fake_sids.values()) == 1
    assert set(fake_sids) == {m.provider_sid for m in outbound}
    assert len(outbound) == len(sent)
    assert Counter((s.to, s.body) for s in sent) == Counter((m.phone, m.body) for m in outbound)

    # Every due check-in sent once: one per step for each patient who stayed in.
    by_sid = {s.sid: s for s in sent}
    opted_out = {pid for pid, p in patients.items() if p.status == "opted_out"}
    per_patient = Counter()
    for checkin in checkins:
        if checkin.patient_id in opted_out:
            continue
        assert checkin.status in ("sent", "answered", "skipped"), (checkin.id, checkin.status)
        if checkin.status != "skipped":
            assert by_sid[checkin.provider_sid].to == patients[checkin.patient_id].phone
            per_patient[checkin.patient_id] += 1
    stayed = set(patients) - opted_out
    short = sorted(pid for pid in stayed if per_patient[pid] != len(STEPS))
    if short:  # enough to tell which step missed them and whether they had just replied
        repliers = {phone for phone, _level in replies.values()}
        plans = {pid: sorted((c.day, c.status) for c in checkins if c.patient_id == pid) for pid in short[:10]}
        raise AssertionError(
            f"{len(short)} patients did not get one check-in per step; of them "
            f"{sum(patients[pid].phone in repliers for pid in short)} replied at some step; "
            f"first ones (day, status): {plans}")
    assert per_patient == Counter({pid: len(STEPS) for pid in stayed})
    # ... and once at the fake: one check-in message per check-in, and to each patient who
    # stayed in, exactly one check-in text per step (counted by recipient and body).
    checkin_messages = [m for m in outbound if m.kind == "checkin"]
    assert set(Counter(m.checkin_id for m in checkin_messages).values()) == {1}
    bodies = {m.body for m in checkin_messages}
    stayed_phones = {patients[pid].phone for pid in stayed}
    assert Counter(s.to for s in sent if s.to in stayed_phones and s.body in bodies) == \
        Counter({phone: len(STEPS) for phone in stayed_phones})
    assert {patients[pid].status for pid in stayed} == {"completed"}
    assert len(opted_out) == PER_STEP["stop"] * len(STEPS)

    # Every urgent reply alerted the on-call phone once (a queue reference, no name).
    levels = Counter(level for _phone, level in replies.values())
    assert len(urgent_ids) == levels["urgent"]
    oncall = Counter(int(ref) for s in sent if s.to == ONCALL for ref in re.findall(r"#(\d+)", s.body))
    assert oncall == Counter({item: 1 for item in urgent_ids})
    backup = Counter(int(ref) for s in sent if s.to == BACKUP for ref in re.findall(r"#(\d+)", s.body))
    assert set(backup) <= urgent_ids and set(backup.values()) <= {1}

    # Nothing to anyone after their STOP.
    for phones, baseline in stops:
        assert [s for s in sent if s.to in phones and s.seq > baseline] == []
    return {"messages_sent": len(sent), "duplicates": sum(n - 1 for n in fake_sids.values()),
            "checkins_sent": sum(per_patient.values()), "replies": len(replies) + len(opted_out),
            "reply_posts": 2 * (len(replies) + len(opted_out)), "urgent_alerts": sum(oncall.values()),
            "backup_alerts": sum(backup.values())}
