"""`reminders doctor`: the pre-flight checklist before a clinic goes live.

Each check says what it found and, when something must be fixed, how. Read-only: the
doctor never migrates, writes or sends anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import Session, select

from reminders.config import Settings
from reminders.disclosure import disclosing_words
from reminders.models import Clinic, Patient
from reminders.services.health import QUARANTINE, spool_counts

LOCAL_HOSTS = {"127.0.0.1", "localhost", "0.0.0.0", "::1"}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run(settings: Settings, engine: sa.Engine, *, twilio_client: Callable[[], Any] | None = None) -> list[Check]:
    found = database(settings, engine)
    checks = [*found, public_url(settings), *secret_keys(settings), *twilio(settings, twilio_client)]
    if all(check.ok for check in found):  # clinics and patients are read from a current schema
        with Session(engine) as session:
            checks += clinics(session)
            checks += templates(session)
    checks.append(quarantine(settings))
    return checks


# -- the database -----------------------------------------------------------------------

def database(settings: Settings, engine: sa.Engine) -> list[Check]:
    url = sa.make_url(settings.database_url)
    where = f"{url.get_backend_name()} {url.host or url.database}"  # never the password
    try:
        with engine.connect() as connection:
            current = set(_current_heads(connection))
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        return [Check("database reachable", False, f"{where}: {reason}",
                      "check REMINDERS_DATABASE_URL (host, port, user, database) and that the server runs")]
    reachable = Check("database reachable", True, where)
    expected = set(_script_heads())
    if current != expected:
        return [reachable, Check("database migrated", False,
                                 f"schema at {sorted(current) or 'nothing'}, code expects {sorted(expected)}",
                                 "run `reminders db upgrade` (back up first: see the runbook)")]
    return [reachable, Check("database migrated", True, f"schema at {', '.join(sorted(current))}")]


def _current_heads(connection: sa.Connection) -> tuple[str, ...]:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_heads()


def _script_heads() -> list[str]:
    from alembic.script import ScriptDirectory

    from reminders.migrations import alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()


# -- settings -------------------------------------------------------------------------------

def public_url(settings: Settings) -> Check:
    parts = urlsplit(settings.public_url)
    fix = "set REMINDERS_PUBLIC_URL to the https:// address Twilio reaches (your reverse proxy)"
    if (parts.hostname or "") in LOCAL_HOSTS:
        return Check("public URL", False, f"{settings.public_url} is this machine only: Twilio cannot reach it", fix)
    if parts.scheme != "https":
        return Check("public URL", False, f"{settings.public_url} is not HTTPS", fix)
    return Check("public URL", True, settings.public_url)


def secret_keys(settings: Settings) -> list[Check]:
    """Every setting holding a key or a secret: set, not its development default."""
    found = []
    for name, field in type(settings).model_fields.items():
        if not any(word in name for word in ("secret", "key")) or name.startswith("twilio_"):
            continue
        value = getattr(settings, name)
        if not isinstance(value, (str, type(None))):
            continue  # lists of old keys, durations...: not a key to check here
        variable = f"REMINDERS_{name.upper()}"
        fix = (f"set {variable} to a long random value, e.g. "
               "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`")
        if value is None or str(value) == "":
            found.append(Check(f"{variable}", False, "not set", fix))
        elif value == field.default:
            found.append(Check(f"{variable}", False, "still the development default", fix))
        elif len(str(value)) < 32:
            found.append(Check(f"{variable}", False, f"only {len(str(value))} characters", fix))
        else:
            found.append(Check(f"{variable}", True, "set, not a default"))
    return found


# -- Twilio -----------------------------------------------------------------------------------

def twilio(settings: Settings, client_factory: Callable[[], Any] | None) -> list[Check]:
    if settings.gateway != "twilio":
        return [Check("SMS gateway", False, "the local gateway: no SMS leaves this machine",
                      "set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER "
                      "(or TWILIO_MESSAGING_SERVICE_SID)")]
    from reminders.sms import twilio_setup

    client = (client_factory or (lambda: twilio_setup.client_for(settings)))()
    credentials = twilio_setup.credentials(client, settings.twilio_account_sid or "")
    found = [Check("Twilio credentials", credentials.ok, credentials.detail, credentials.fix)]
    if not credentials.ok:
        return found
    sms_url = settings.public_url + "/twilio/sms"
    status_url = settings.public_url + "/twilio/status"
    if settings.twilio_messaging_service_sid:
        hook = twilio_setup.service_webhook(client, settings.twilio_messaging_service_sid, sms_url, status_url)
    else:
        hook = twilio_setup.number_webhook(client, settings.twilio_from_number or "", sms_url)
    found.append(Check("Twilio incoming SMS webhook", hook.ok, hook.detail, hook.fix))
    found.append(Check("Twilio status callbacks", settings.status_callback_url == status_url,
                       f"every message we send asks for its statuses at {settings.status_callback_url}"))
    return found


# -- clinics and templates -----------------------------------------------------------------

def clinics(session: Session) -> list[Check]:
    from reminders.services.clinics import validate_timezone

    rows = session.exec(select(Clinic).order_by(Clinic.code)).all()
    if not rows:
        return [Check("clinics", False, "no clinic yet", "add one: `reminders clinic add CODE --name ... "
                      "--timezone ... --country ... --phone ... --oncall-phone ... --backup-phone ...`")]
    found = []
    for clinic in rows:
        problems, fixes = [], []
        try:
            validate_timezone(clinic.timezone)
        except Exception:  # InputError: a zone this machine does not know
            problems.append(f"time zone {clinic.timezone!r} unknown here")
            fixes.append("install tzdata or correct the clinic's time zone")
        for field, label in (("phone", "clinic phone"), ("oncall_phone", "on-call phone"),
                             ("backup_phone", "backup phone")):
            if not getattr(clinic, field):
                problems.append(f"no {label}")
                fixes.append(f"set the {label} (urgent {'alerts' if field != 'phone' else 'answers'} need it)")
        words = disclosing_words(clinic.name)
        if words:
            problems.append("its name discloses a diagnosis")
            fixes.append("give it a neutral short name (it appears in every SMS)")
        found.append(Check(f"clinic {clinic.code}", not problems,
                           "; ".join(problems) or f"time zone {clinic.timezone}, phones set",
                           "; ".join(fixes)))
    return found


def templates(session: Session) -> list[Check]:
    """The message templates of every language patients use: complete and discreet."""
    from reminders import messages
    from reminders.languages import LANGUAGES

    in_use = sorted(set(session.exec(select(Patient.language).distinct()).all())) or list(LANGUAGES)
    found = []
    for language in in_use:
        try:
            texts = messages.load_templates(language).texts
        except Exception as exc:  # a missing file or key: packaged data edited by hand
            found.append(Check(f"templates {language}", False, str(exc).splitlines()[0][:200],
                               f"restore reminders/data/messages/{language}.toml with every template"))
            continue
        disclosing = sorted({key for key, text in texts.items() if disclosing_words(text)})
        found.append(Check(f"templates {language}", not disclosing,
                           f"disclosing words in {', '.join(disclosing)}" if disclosing
                           else f"{len(texts)} templates, none disclosing",
                           "reword those templates without HIV/ART/... words" if disclosing else ""))
    return found


def quarantine(settings: Settings) -> Check:
    counts = spool_counts(settings.spool_dir)
    folder = settings.spool_dir / QUARANTINE
    if counts.quarantined:
        return Check("spool quarantine", False, f"{counts.quarantined} file(s) in {folder}",
                     "each is a reply that could not be stored: see the runbook (quarantined spool files)")
    return Check("spool quarantine", True, f"empty; replies waiting in the spool: {counts.pending}")
