"""`reminders doctor`: each check passes on a ready deployment and fails, with a fix, when
its part is not ready. Twilio is the fake, read through the real twilio client."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from reminders.cli import app
from reminders.config import Settings
from reminders.db import create_db_engine, session_scope
from reminders.messages import Templates
from reminders.models import Clinic
from reminders.services import doctor
from reminders.services.clinics import add_clinic

KEY = "k" * 48
PUBLIC = "https://reminders.example.org"


@pytest.fixture
def ready(database_url, fake_twilio, tmp_path):  # type: ignore[no-untyped-def]
    """Settings and a database that pass every check."""
    fake_twilio.add_phone_number("+15005550006", sms_url=PUBLIC + "/twilio/sms")
    engine = create_db_engine(database_url)
    with session_scope(engine) as session:
        add_clinic(session, code="KIB", name="Kibera", timezone="Africa/Nairobi", country="KE",
                   phone="+254700000001", oncall_phone="+254700000002", backup_phone="+254700000003")
    yield _settings(database_url, fake_twilio, tmp_path), engine
    engine.dispose()


def _settings(database_url, fake_twilio, tmp_path, **changes) -> Settings:  # type: ignore[no-untyped-def]
    values = dict(database_url=database_url, public_url=PUBLIC, secret_key=KEY, sms_gateway="twilio",
                  twilio_api_base=fake_twilio.base_url, twilio_account_sid=fake_twilio.account_sid,
                  twilio_auth_token=fake_twilio.auth_token, twilio_from_number="+15005550006",
                  spool_dir=tmp_path / "spool")
    values.update(changes)
    return Settings(**values)


def _failed(checks) -> dict[str, doctor.Check]:  # type: ignore[no-untyped-def]
    return {check.name: check for check in checks if not check.ok}


def test_a_ready_deployment_passes_every_check(ready):
    settings, engine = ready
    checks = doctor.run(settings, engine)
    assert _failed(checks) == {}
    names = {check.name for check in checks}
    assert {"database reachable", "database migrated", "public URL", "REMINDERS_SECRET_KEY",
            "Twilio credentials", "Twilio incoming SMS webhook", "clinic KIB", "spool quarantine"} <= names


def test_the_command_exits_0_when_ready_and_1_with_a_fix_when_not(ready, fake_twilio, monkeypatch):
    settings, _engine = ready
    env = {"REMINDERS_DATABASE_URL": settings.database_url, "REMINDERS_PUBLIC_URL": PUBLIC,
           "REMINDERS_SECRET_KEY": KEY, "REMINDERS_SMS_GATEWAY": "twilio",
           "REMINDERS_TWILIO_API_BASE": fake_twilio.base_url, "REMINDERS_SPOOL_DIR": str(settings.spool_dir),
           "TWILIO_ACCOUNT_SID": fake_twilio.account_sid, "TWILIO_AUTH_TOKEN": fake_twilio.auth_token,
           "TWILIO_FROM_NUMBER": "+15005550006"}
    monkeypatch.delenv("TWILIO_MESSAGING_SERVICE_SID", raising=False)
    runner = CliRunner()
    good = runner.invoke(app, ["doctor"], env=env)
    assert good.exit_code == 0, good.output
    assert "0 to fix" in good.output
    bad = runner.invoke(app, ["doctor", "--json"], env={**env, "REMINDERS_PUBLIC_URL": "http://reminders.example.org"})
    assert bad.exit_code == 1
    failed = {c["name"]: c for c in json.loads(bad.stdout) if not c["ok"]}
    # the number still posts to the https address, which is no longer ours
    assert set(failed) == {"public URL", "Twilio incoming SMS webhook"}
    assert "https://" in failed["public URL"]["fix"]


def test_an_unreachable_database_is_named_without_its_password(fake_twilio, tmp_path):
    url = "postgresql+psycopg://user:s3cret-pw@127.0.0.1:1/reminders"
    settings = _settings(url, fake_twilio, tmp_path)
    checks = doctor.run(settings, create_db_engine(url))
    failed = _failed(checks)
    assert "127.0.0.1" in failed["database reachable"].detail
    assert "s3cret-pw" not in json.dumps([c.as_dict() for c in checks])
    assert "REMINDERS_DATABASE_URL" in failed["database reachable"].fix


def test_a_database_behind_its_migrations_says_to_upgrade(fake_twilio, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    failed = _failed(doctor.run(_settings(url, fake_twilio, tmp_path), create_db_engine(url)))
    assert "reminders db upgrade" in failed["database migrated"].fix


@pytest.mark.parametrize("url, says", [("http://127.0.0.1:8000", "this machine"),
                                       ("http://reminders.example.org", "not HTTPS")])
def test_the_public_url_must_be_reachable_https(ready, url, says):
    settings, engine = ready
    check = doctor.public_url(settings.model_copy(update={"public_url": url}))
    assert not check.ok and says in check.detail and "REMINDERS_PUBLIC_URL" in check.fix


@pytest.mark.parametrize("key, says", [("dev-only-change-me", "development default"),
                                       ("sixteen-chars-ok", "16 characters")])
def test_secret_keys_must_not_be_defaults_or_short(ready, key, says):
    settings, _engine = ready
    [check] = [c for c in doctor.secret_keys(settings.model_copy(update={"secret_key": key}))
               if c.name == "REMINDERS_SECRET_KEY"]
    assert not check.ok and says in check.detail and "secrets.token_urlsafe" in check.fix


def test_the_local_gateway_is_not_ready_for_patients(ready):
    settings, engine = ready
    failed = _failed(doctor.run(settings.model_copy(update={"sms_gateway": "local"}), engine))
    assert "TWILIO_ACCOUNT_SID" in failed["SMS gateway"].fix


def test_twilio_credentials_are_checked_with_twilio(ready, fake_twilio, tmp_path):
    settings, engine = ready
    wrong = settings.model_copy(update={"twilio_auth_token": "not-the-token"})
    failed = _failed(doctor.run(wrong, engine))
    assert "refused" in failed["Twilio credentials"].detail
    assert any(r.path.endswith(f"/Accounts/{fake_twilio.account_sid}.json") for r in fake_twilio.requests)


def test_the_numbers_webhook_must_point_at_us(ready, fake_twilio):
    settings, engine = ready
    fake_twilio.add_phone_number("+15005550006", sms_url="https://old-host.example.com/sms")
    failed = _failed(doctor.run(settings, engine))
    check = failed["Twilio incoming SMS webhook"]
    assert "old-host.example.com" in check.detail and PUBLIC + "/twilio/sms" in check.fix


def test_a_number_the_account_does_not_own_fails(ready):
    settings, engine = ready
    failed = _failed(doctor.run(settings.model_copy(update={"twilio_from_number": "+15005550099"}), engine))
    assert "not a number of this Twilio account" in failed["Twilio incoming SMS webhook"].detail


def test_a_messaging_service_is_checked_instead_of_the_number(ready, fake_twilio):
    settings, engine = ready
    good = fake_twilio.add_messaging_service(inbound_request_url=PUBLIC + "/twilio/sms")
    wrong = fake_twilio.add_messaging_service(inbound_request_url=PUBLIC + "/twilio/sms",
                                              status_callback="https://elsewhere.example.com/status")
    assert _failed(doctor.run(settings.model_copy(update={"twilio_messaging_service_sid": good}), engine)) == {}
    failed = _failed(doctor.run(settings.model_copy(update={"twilio_messaging_service_sid": wrong}), engine))
    assert "elsewhere.example.com" in failed["Twilio incoming SMS webhook"].detail


def test_a_clinic_needs_its_phones_a_known_zone_and_a_neutral_name(ready):
    settings, engine = ready
    with session_scope(engine) as session:  # as an old row or a hand edit would leave it
        session.add(Clinic(code="MTW", name="HIV Care Centre", timezone="Mars/Olympus", country="KE",
                           phone="+254700000009"))
    check = _failed(doctor.run(settings, engine))["clinic MTW"]
    for problem in ("time zone", "no on-call phone", "no backup phone", "discloses"):
        assert problem in check.detail
    assert "neutral short name" in check.fix


def test_no_clinic_at_all_fails(fake_twilio, tmp_path, database_url):
    fake_twilio.add_phone_number("+15005550006", sms_url=PUBLIC + "/twilio/sms")
    failed = _failed(doctor.run(_settings(database_url, fake_twilio, tmp_path), create_db_engine(database_url)))
    assert "reminders clinic add" in failed["clinics"].fix


def test_templates_with_a_disclosing_word_fail(ready, monkeypatch):
    settings, engine = ready
    from reminders import messages

    real = messages.load_templates("en")
    leaky = Templates("en", real.greeting_named, real.greeting_anonymous,
                      {**real.texts, "checkin": "Time for your ARV check-in"})
    monkeypatch.setattr(messages, "load_templates", lambda language: leaky if language == "en" else real)
    check = _failed(doctor.run(settings, engine))["templates en"]
    assert "checkin" in check.detail


def test_a_quarantined_spool_file_must_be_dealt_with(ready):
    settings, engine = ready
    (settings.spool_dir / "quarantine").mkdir(parents=True)
    (settings.spool_dir / "quarantine" / "SM1.json").write_text("{}")
    check = _failed(doctor.run(settings, engine))["spool quarantine"]
    assert "1 file" in check.detail and "runbook" in check.fix
