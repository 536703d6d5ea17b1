"""The disclosing-words rule and the role table (DESIGN.md, "Privacy and safety")."""

import pytest

from reminders.disclosure import check_discreet, disclosing_words
from reminders.errors import InputError
from reminders.roles import ACTIONS, AUDIT_READ, PATIENT_WITHDRAW, QUEUE_WORK, can


@pytest.mark.parametrize("text", [
    "HIV Care Centre", "hiv clinic", "AIDS support", "ART refill", "ARV pickup",
    "Anti-retroviral clinic", "antiretroviral", "Clínica VIH", "Centro SIDA", "TARV hoy",
    "Kliniki ya VVU", "UKIMWI", "traitement antirétroviral", "carga  viral", "IRIS review",
])
def test_disclosing_words_are_found_in_every_language(text: str) -> None:
    assert disclosing_words(text), text
    with pytest.raises(InputError) as error:
        check_discreet("name", text)
    assert error.value.field == "name"


@pytest.mark.parametrize("text", [
    "Kibera Clinic", "Please start again", "party", "Centre de santé", "Smart care",
    "Karibu", "shopping cart", "Departure", "Clínica San José", "",
])
def test_ordinary_words_pass(text: str) -> None:
    assert disclosing_words(text) == []
    check_discreet("name", text)


def test_nurses_work_the_queue_but_admins_alone_read_the_audit_and_withdraw() -> None:
    for role in ("nurse", "clinician", "admin"):
        assert can(role, QUEUE_WORK)
    for role in ("nurse", "clinician"):
        assert not can(role, AUDIT_READ)
        assert not can(role, PATIENT_WITHDRAW)
    assert all(can("admin", action) for action in ACTIONS)
    assert not can("intruder", QUEUE_WORK)


def test_an_unknown_action_is_a_bug_not_a_refusal() -> None:
    with pytest.raises(KeyError):
        can("admin", "patient.teleport")
