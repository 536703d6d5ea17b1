"""Nothing disclosing reaches an SMS: every message template is checked when it is loaded,
and staff free text has a check to call before it is queued."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources

import pytest

from reminders import messages
from reminders.errors import InputError
from reminders.languages import LANGUAGES


def _data(language: str) -> dict:  # type: ignore[type-arg]
    path = f"data/messages/{language}.toml"
    return tomllib.loads(resources.files("reminders").joinpath(path).read_text("utf-8"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_packaged_templates_disclose_nothing(language):
    messages._validate(language, f"data/messages/{language}.toml", _data(language))


@pytest.mark.parametrize("language,key,text,word", [
    ("en", "checkin", "Time for your ARVs. How are you? {clinic}", "ARV"),
    ("sw", "welcome", "Karibu {clinic}. Huduma ya VVU.", "VVU"),
    ("es", "reminder", "Recuerde su tratamiento antirretroviral", "ANTIRRETROVIRAL"),
    ("fr", "help", "Votre charge virale: appelez {clinic_phone}", "CHARGE VIRALE"),
    ("pt", "thanks_ok", "Obrigado. Programa de SIDA {clinic}", "SIDA"),
])
def test_a_disclosing_template_fails_validation_naming_key_and_language(language, key, text, word):
    data = copy.deepcopy(_data(language))
    data["templates"][key] = text
    with pytest.raises(ValueError) as refused:
        messages._validate(language, f"data/messages/{language}.toml", data)
    message = str(refused.value)
    assert f"'{key}' ({language})" in message and word in message


def test_a_disclosing_greeting_fails_validation():
    data = copy.deepcopy(_data("en"))
    data["greeting"]["anonymous"] = "Hello from the HIV clinic"
    with pytest.raises(ValueError, match=r"'greeting.anonymous' \(en\).*HIV"):
        messages._validate("en", "data/messages/en.toml", data)


@pytest.mark.parametrize("text", ["Please bring your ARV card", "Your viral load is fine",
                                  "Come for your TARV refill", "Résultat VIH prêt"])
def test_staff_free_text_with_a_disclosing_word_is_refused(text):
    with pytest.raises(InputError) as refused:
        messages.check_staff_message(text)
    assert refused.value.field == "message" and "disclose" in refused.value.reason


def test_staff_free_text_that_is_discreet_passes_and_long_text_is_refused():
    assert messages.check_staff_message("  Please call the clinic today. Start of the week is fine.  ") == \
        "Please call the clinic today. Start of the week is fine."
    for bad in ("", "   ", "x" * 400, "a\x00b"):
        with pytest.raises(InputError):
            messages.check_staff_message(bad)
