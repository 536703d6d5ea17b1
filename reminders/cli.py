"""The `reminders` command: each command is one service call.

Errors a user can cause print one line on stderr and exit with code 2; nothing is
written (every command is one transaction).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import sqlalchemy as sa
import typer
from pydantic import ValidationError

from reminders.config import Settings, SettingsError, load_settings
from reminders.db import create_db_engine, session_scope
from reminders.errors import InputError, NotFound

app = typer.Typer(help="SMS check-ins for the first two months of treatment.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
clinic_app = typer.Typer(help="Clinics.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(clinic_app, name="clinic")
app.add_typer(staff_app, name="staff")

F = TypeVar("F", bound=Callable[..., Any])


@app.callback()
def _every_command() -> None:
    """Every command logs through the redacting handler (warnings and errors only; the
    long-running `serve` and `worker` log at INFO): nothing reaches stderr unredacted."""
    import logging

    from reminders import logs

    try:
        logs.configure(logging.WARNING)
    except ValueError as exc:  # REMINDERS_LOG_FORMAT is neither text nor json
        fail(str(exc))


def fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def user_errors(func: F) -> F:
    """Turn the errors a user can cause into one line and exit code 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            fail(f"{exc.field}: {exc.reason}")
        except NotFound as exc:
            fail(f"not found: {exc}")
        except SettingsError as exc:
            fail(str(exc))
        except ValidationError as exc:
            error = exc.errors()[0]
            fail(f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}")
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            typer.echo(f"error: {database_unreachable(exc)}", err=True)
            raise typer.Exit(DATABASE_UNAVAILABLE) from None

    return wrapper  # type: ignore[return-value]


DATABASE_UNAVAILABLE = 3  # exit code: the database cannot be reached (not the user's input)


def database_unreachable(exc: Exception) -> str:
    """One line: where the database is (host and port, or the SQLite file; never the
    password) and the driver's reason, without its hints and tracebacks."""
    url = sa.make_url(load_settings().database_url)
    if url.get_backend_name() == "sqlite":
        where = f"SQLite file {url.database or ':memory:'}"
    else:
        where = f"{url.host or 'localhost'}:{url.port or 5432}"
        if url.database:
            where += f"/{url.database}"
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "failed: " in reason:  # libpq: 'connection to server at "h", port p failed: REASON'
        reason = reason.rsplit("failed: ", 1)[1]
    if url.password:
        reason = reason.replace(url.password, "***")
    return f"database unreachable at {where}: {reason.strip() or type(exc).__name__}"


def settings() -> Settings:
    """The settings, and the protocol they name (a bad protocol file stops us here)."""
    from reminders import protocols

    config = load_settings()
    protocols.use_protocol_file(config.protocol_file)
    return config


@contextmanager
def database(config: Settings, *, upgrade: bool = True) -> Iterator[Any]:
    if upgrade:
        from reminders.migrations import upgrade as upgrade_schema

        upgrade_schema(config.database_url)
    engine = create_db_engine(config.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def parse_instant(value: str, field: str = "now") -> datetime:
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(field, f"{value!r} is not an ISO-8601 date and time") from None
    if instant.tzinfo is None:
        raise InputError(field, f"{value!r} has no UTC offset (e.g. 2026-12-01T09:05:00+03:00)")
    return instant.astimezone(timezone.utc)


# -- db ---------------------------------------------------------------------------------

@db_app.command("upgrade")
@user_errors
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the schema migrations (idempotent)."""
    from reminders.migrations import upgrade

    upgrade(settings().database_url, revision)
    typer.echo(f"database at {revision}")


# -- clinic / staff -----------------------------------------------------------------------

@clinic_app.command("add")
@user_errors
def clinic_add(
    code: str,
    name: Annotated[str, typer.Option(help="Short neutral name patients see in every SMS.")],
    timezone_: Annotated[str, typer.Option("--timezone", help="IANA zone, e.g. Africa/Nairobi.")],
    country: Annotated[str, typer.Option(help="ISO 3166 code: how local numbers are read.")],
    phone: Annotated[str, typer.Option(help="The number patients call (in every urgent answer).")],
    oncall_phone: Annotated[Optional[str], typer.Option(help="Gets urgent alerts by SMS.")] = None,
    backup_phone: Annotated[Optional[str], typer.Option(help="Alerted when urgent items wait 30 min.")] = None,
) -> None:
    """Add a clinic."""
    from reminders.services.clinics import add_clinic

    with database(settings()) as engine, session_scope(engine) as session:
        clinic = add_clinic(session, code=code, name=name, timezone=timezone_, country=country,
                            phone=phone, oncall_phone=oncall_phone or phone,
                            backup_phone=backup_phone)
        typer.echo(f"clinic {clinic.code} added")


@staff_app.command("add")
@user_errors
def staff_add(
    email: str,
    clinic: Annotated[str, typer.Option(help="Clinic code.")],
    role: Annotated[str, typer.Option(help="nurse, clinician or admin.")] = "nurse",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Add a staff account (the password is prompted for, or read from stdin; never an argument)."""
    from reminders.services.clinics import add_staff

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        raise InputError("password", "no terminal to prompt on: use --password-stdin")
    with database(settings()) as engine, session_scope(engine) as session:
        staff = add_staff(session, email=email, clinic_code=clinic, role=role, password=password)
        typer.echo(f"staff {staff.email} added")


@staff_app.command("revoke-tokens")
@user_errors
def staff_revoke_tokens(email: str) -> None:
    """Sign a staff member out everywhere: every token issued so far stops working."""
    from reminders.services.clinics import get_staff, revoke_tokens

    with database(settings()) as engine, session_scope(engine) as session:
        staff = revoke_tokens(session, get_staff(session, email), actor="cli")
        typer.echo(f"staff {staff.email}: every token issued so far is revoked")


@staff_app.command("disable")
@user_errors
def staff_disable(email: str) -> None:
    """Disable a staff account: no more sign-ins, and its tokens stop working at once."""
    from reminders.services.clinics import disable_staff, get_staff

    with database(settings()) as engine, session_scope(engine) as session:
        staff = disable_staff(session, get_staff(session, email), actor="cli")
        typer.echo(f"staff {staff.email} disabled")


@clinic_app.command("rename")
@user_errors
def clinic_rename(
    code: str,
    name: Annotated[str, typer.Option(help="Short neutral name patients see in every SMS.")],
) -> None:
    """Change the short name a clinic's messages carry."""
    from reminders.services.clinics import get_clinic, update_clinic

    with database(settings()) as engine, session_scope(engine) as session:
        clinic = update_clinic(session, get_clinic(session, code), actor="cli", name=name)
        typer.echo(f"clinic {clinic.code} renamed")


# -- patients ------------------------------------------------------------------------------

@app.command()
@user_errors
def enroll(
    clinic: Annotated[str, typer.Option(help="Clinic code.")],
    phone: Annotated[str, typer.Option(help="As the clinic writes it; read in the clinic's country.")],
    art_start: Annotated[str, typer.Option(help="ART start date, YYYY-MM-DD.")],
    language: Annotated[str, typer.Option(help="en, sw, es, fr or pt.")] = "en",
    preferred_hour: Annotated[Optional[int], typer.Option(help="Local hour for check-ins (default 9).")] = None,
    consent: Annotated[bool, typer.Option("--consent", help="The patient consented to SMS check-ins.")] = False,
    cd4: Annotated[Optional[int], typer.Option(help="CD4 count, cells/uL.")] = None,
    recent_oi: Annotated[bool, typer.Option(help="An opportunistic infection treated in the last 8 weeks.")] = False,
    shared_phone: Annotated[bool, typer.Option(help="The phone is shared: messages carry no name.")] = False,
    name: Annotated[Optional[str], typer.Option(help="First name for greetings (never on a shared phone).")] = None,
    register_ref: Annotated[Optional[str], typer.Option(help="The clinic register's number.")] = None,
) -> None:
    """Enroll a patient: plan their check-ins and send the welcome SMS."""
    from reminders.schemas import PatientCreate
    from reminders.services.enroll import enroll as enroll_patient

    request = PatientCreate(
        clinic=clinic, phone=phone, language=language, art_start_date=parse_date(art_start),
        preferred_hour=preferred_hour, consent=consent, cd4=cd4, recent_oi=recent_oi,
        shared_phone=shared_phone, display_name=name, register_ref=register_ref,
    )
    config = settings()
    with database(config) as engine:
        with session_scope(engine) as session:
            patient = enroll_patient(session, request, now=now_utc())
            summary = {"id": patient.id, "phone": patient.phone, "status": patient.status,
                       "high_risk": patient.high_risk}
        summary["welcome"] = send_outbox(config, engine)
    typer.echo(json.dumps(summary))


def parse_date(value: str, field: str = "art_start_date") -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(field, f"{value!r} is not a date (YYYY-MM-DD)") from None


def send_outbox(config: Settings, engine: Any) -> dict[str, int]:
    """Send pending outbound messages now (commit first, then send, then record)."""
    from reminders.services.outbox import SendOptions, send_pending
    from reminders.sms import gateway_from_settings

    return send_pending(engine, gateway_from_settings(config), now=now_utc(),
                        options=SendOptions.from_settings(config)).as_dict()


# -- the passes ----------------------------------------------------------------------------

@app.command()
@user_errors
def dispatch(
    now: Annotated[Optional[str], typer.Option(help="Run as of this ISO-8601 instant (default: now).")] = None,
) -> None:
    """One dispatch pass: send the check-ins due as of NOW; prints a JSON summary (and its
    progress on stderr when that is a terminal)."""
    from reminders.progress import TerminalProgress
    from reminders.services import dispatch as dispatch_service
    from reminders.services.outbox import SendOptions
    from reminders.sms import gateway_from_settings

    instant = parse_instant(now) if now else now_utc()
    config = settings()
    with database(config) as engine, TerminalProgress("dispatch") as progress:
        summary = dispatch_service.run_once(engine, gateway_from_settings(config), now=instant,
                                            options=SendOptions.from_settings(config), progress=progress)
    typer.echo(json.dumps(summary))


@app.command()
@user_errors
def followup(
    now: Annotated[Optional[str], typer.Option(help="Run as of this ISO-8601 instant (default: now).")] = None,
) -> None:
    """One follow-up pass: reminders, no-response items, escalations, completions (progress
    on stderr when that is a terminal)."""
    from reminders.progress import TerminalProgress
    from reminders.services import followup as followup_service

    instant = parse_instant(now) if now else now_utc()
    with database(settings()) as engine, TerminalProgress("follow-up") as progress:
        summary = followup_service.run_once(engine, now=instant, progress=progress)
    typer.echo(json.dumps(summary))


@app.command()
@user_errors
def triage(
    text: str,
    language: Annotated[Optional[str], typer.Option(help="en, sw, es, fr or pt (default: detect).")] = None,
) -> None:
    """Triage one reply and print the result as JSON (no database needed)."""
    from reminders.languages import LANGUAGES
    from reminders.triage import triage as triage_text

    if language is not None and language not in LANGUAGES:
        raise InputError("language", f"{language!r} is not one of {', '.join(LANGUAGES)}")
    typer.echo(json.dumps(triage_text(text, language=language).to_dict(), ensure_ascii=False))


@app.command("simulate-reply")
@user_errors
def simulate_reply(
    text: str,
    phone: Annotated[str, typer.Option(help="The patient's number, E.164 (as Twilio would send it).")],
) -> None:
    """Play a patient's SMS reply through the real inbound path (local gateway only).

    The demo loop without a Twilio account: prints the automatic answer, and the reply
    lands in the queue exactly as one from the webhook would.
    """
    import uuid

    from reminders.services.inbound import Incoming, ingest, process_received

    config = settings()
    if config.gateway != "local":
        raise InputError("gateway", "simulate-reply only runs with REMINDERS_SMS_GATEWAY=local")
    if not phone.startswith("+"):
        raise InputError("phone", "give the number in E.164, e.g. +254712345678")
    with database(config) as engine:
        with session_scope(engine) as session:
            outcome = ingest(session, Incoming(sid="SMsim" + uuid.uuid4().hex, from_=phone,
                                               to="local", body=text), now=now_utc(), answer_mode="twiml")
        process_received(engine)
    typer.echo(json.dumps({"message_id": outcome.message_id, "answer": outcome.answer},
                          ensure_ascii=False))


@app.command("import")
@user_errors
def import_csv(
    file: Annotated[Path, typer.Argument(help="CSV export of the clinic register.")],
    clinic: Annotated[Optional[str], typer.Option(help="Clinic code for rows without a clinic column.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row; write nothing.")] = False,
) -> None:
    """Enroll every good row of a CSV; report each bad row (row number and reason).

    Exit 0 when every row was imported or already enrolled (a re-run is safe: those are
    reported unchanged), 1 when some rows were refused (the good ones are imported; a
    number that opted out by STOP is refused), 2 when the file itself cannot be used
    (nothing is imported). With --dry-run nothing is written and "imported" counts the
    rows that would be.
    """
    from reminders.services.importer import import_rows, read_csv

    rows = read_csv(file)
    config = settings()
    with database(config) as engine:
        with typer.progressbar(length=len(rows), label="importing", file=sys.stderr) as bar:
            report = import_rows(engine, rows, default_clinic=clinic, now=now_utc(),
                                 progress=bar.update, dry_run=dry_run)
    for problem in report.problems:
        typer.echo(f"row {problem.row}: {problem.field}: {problem.reason}", err=True)
    summary = {"imported": report.imported, "unchanged": report.unchanged,
               "refused": len(report.problems)}
    typer.echo(json.dumps({**summary, "dry_run": True} if dry_run else summary))
    if report.problems:
        raise typer.Exit(1)


# -- operations ------------------------------------------------------------------------------

@app.command()
@user_errors
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Pre-flight checklist before going live; exit 1 when something must be fixed."""
    from reminders.services import doctor as checklist

    config = settings()
    with database(config, upgrade=False) as engine:  # the doctor reports; it never migrates
        checks = checklist.run(config, engine)
    if as_json:
        typer.echo(json.dumps([check.as_dict() for check in checks]))
    else:
        for check in checks:
            typer.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
            if not check.ok and check.fix:
                typer.echo(f"      fix: {check.fix}")
        failed = sum(not check.ok for check in checks)
        typer.echo(f"{len(checks) - failed} ok, {failed} to fix")
    if any(not check.ok for check in checks):
        raise typer.Exit(1)


@app.command()
@user_errors
def heartbeat(
    max_age: Annotated[int, typer.Option(help="Seconds a beat may be old.")] = 60,
) -> None:
    """Exit 0 when a scheduler on this host beat recently (a container healthcheck), else 1."""
    import socket

    from reminders.services import heartbeat as beats

    config = settings()
    with database(config, upgrade=False) as engine, session_scope(engine) as session:
        last = beats.last_beat(session, host=socket.gethostname())
    age = (now_utc() - last).total_seconds() if last else None
    if age is None or age > max_age:
        typer.echo("no recent scheduler heartbeat on this host" if age is None
                   else f"last scheduler heartbeat {age:.0f} s ago", err=True)
        raise typer.Exit(1)
    typer.echo(f"scheduler beat {age:.0f} s ago")


# -- long-running processes ------------------------------------------------------------------

@app.command()
@user_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[bool, typer.Option(help="Seed a demo clinic and print a staff login.")] = False,
    scheduler: Annotated[bool, typer.Option(help="Run the periodic passes in this process too.")] = True,
    passes: Annotated[str, typer.Option(
        help="Which periodic passes this process runs: 'all' (one-process installs), or 'spool' "
             "(its heartbeat and the replay of its own spool only; triage, dispatch, follow-up and "
             "reconciliation are left to `reminders worker` processes).")] = "all",
) -> None:
    """The web app (API, Twilio webhooks, staff pages) and the scheduler, in one process."""
    import uvicorn

    from reminders import jobs
    from reminders.sms import gateway_from_settings
    from reminders import logs
    from reminders.web import create_app

    logs.configure()
    if passes not in ("all", "spool"):
        fail("--passes: must be all or spool")
    config = settings()
    if demo:
        config = demo_key(config)
    else:
        config.check_serving_key()  # the default or a short key: one line, exit 2
    with database(config) as engine:
        if demo:
            from reminders.services.demo import seed_demo

            typer.echo("seeding the demo clinic (eleven weeks played through, 10-20 s)", err=True)
            login = seed_demo(engine, now=now_utc())
            typer.echo(f"demo clinic {login.clinic}: open http://{host}:{port}/ and sign in as "
                       f"{login.email} (nurse) or {login.admin_email} (admin), password {login.password}")
            if config.gateway == "local":
                typer.echo(f"phone simulator: http://{host}:{port}/simulator")
        gateway = gateway_from_settings(config)
        found = jobs.jobs(engine, gateway, config) if passes == "all" else jobs.spool_jobs(engine, config)
        background = jobs.start_background(found) if scheduler else None
        warm_up()
        try:
            # uvicorn's loggers go through our redacting handler (log_config); no access
            # log: query strings could carry phone numbers. proxy_headers=False: uvicorn would
            # believe X-Forwarded-For from 127.0.0.1 by default; create_app believes it only
            # from REMINDERS_TRUSTED_PROXIES.
            uvicorn.run(create_app(config, engine=engine, gateway=gateway, scheduler=scheduler),
                        host=host, port=port, log_config=logs.uvicorn_log_config(),
                        log_level="info", access_log=False, proxy_headers=False)
        finally:
            if background is not None:
                background.shutdown(wait=False)


def demo_key(config: Settings) -> Settings:
    """`serve --demo` with the public default key signs with a random one instead: the demo
    is for trying things, and its tokens must not be forgeable either."""
    import secrets

    from reminders.config import DEFAULT_SECRET_KEY

    if config.secret_key != DEFAULT_SECRET_KEY:
        return config
    return config.model_copy(update={"secret_key": secrets.token_urlsafe(32), "old_secret_keys": ""})


def warm_up() -> None:
    """Load what the first reply would otherwise wait for, then keep it out of the GC's way."""
    import gc

    from reminders.triage import triage as triage_text

    triage_text("warm up")  # loads and compiles the lexicons (~0.1 s) before Twilio calls
    gc.collect()
    gc.freeze()  # start-up objects are never garbage: full collections stay short


@app.command()
@user_errors
def worker() -> None:
    """The periodic passes only (dispatch, follow-up, reconciliation); run as many as you like."""
    from reminders import jobs
    from reminders import logs
    from reminders.sms import gateway_from_settings

    logs.configure()
    config = settings()
    with database(config) as engine:
        typer.echo("worker started", err=True)
        jobs.run_blocking(jobs.jobs(engine, gateway_from_settings(config), config, spool=False))


def main() -> None:  # pragma: no cover - the console script calls app()
    app()
