"""The danger-sign question's answer (reminders/danger.py): yes, no, or an ordinary reply."""

import pytest

from reminders.danger import NO, OTHER, YES, read_answer


@pytest.mark.parametrize(
    "text, language",
    [("1", "en"), (" 1. ", "sw"), ("#1", "fr"), ("jibu 1", "sw"), ("reply: yes", "en"),
     ("YES", "en"), ("Yes!", "sw"), ("yeah", "en"), ("yes I do", "en"),
     ("ndiyo", "sw"), ("Ndio", "sw"), ("ndiyo nina shida", "sw"), ("eeh", "sw"),
     ("si", "es"), ("Sí", "es"), ("sí, tengo", "es"), ("oui", "fr"), ("Oui merci", "fr"),
     ("ouais", "fr"), ("sim", "pt"), ("Sim, tenho", "pt"),
     # digits written as words, as the whole reply
     ("one", "en"), ("moja", "sw"), ("uno", "es"), ("un", "fr"), ("um", "pt"),
     # another language's yes, as the whole reply
     ("oui", "en"), ("si", "sw"), ("ndiyo", "pt"),
     # when in doubt, the higher reading
     ("yes, I'm fine", "en")],
)
def test_yes_in_the_patients_words(text, language):
    assert read_answer(text, language).kind == YES


@pytest.mark.parametrize(
    "text, language",
    [("2 but I cannot breathe", "en"), ("2, siwezi kupumua", "sw"), ("no, pero me duele el pecho", "es"),
     ("non mais j'ai des convulsions", "fr"), ("nao, mas vejo tudo turvo", "pt"), ("sina pumzi", "sw"),
     ("my arm is weak", "en"), ("3 and I vomit everything, even water", "en"), ("hapana lakini kifua kinauma", "sw")],
)
def test_any_red_flag_in_the_answer_is_a_yes(text, language):
    answer = read_answer(text, language)
    assert answer.kind == YES, answer
    assert answer.evidence  # staff see which words


@pytest.mark.parametrize(
    "text, language",
    [("2", "en"), ("2.", "sw"), ("jibu 2", "sw"), ("no", "en"), ("NO", "es"), ("nope", "en"), ("none", "en"),
     ("hapana", "sw"), ("hapana asante", "sw"), ("sina", "sw"), ("non", "fr"), ("non merci", "fr"), ("rien", "fr"),
     ("não", "pt"), ("nao", "pt"), ("nada", "es"), ("two", "en"), ("mbili", "sw"), ("dos", "es"),
     ("deux", "fr"), ("dois", "pt"), ("no, I'm fine", "en"), ("no chest pain", "en"), ("sina homa", "sw")],
)
def test_no_in_the_patients_words(text, language):
    answer = read_answer(text, language)
    assert answer.kind == NO, answer
    assert answer.extra is None or answer.extra.level in ("ok", "admin")


def test_a_no_with_more_to_say_carries_it_without_reading_the_digit_as_the_menu():
    answer = read_answer("2, but the fever is worse", "en")
    assert answer.kind == NO and answer.evidence == ["2"]
    assert answer.extra.level == "flag" and "fever" in answer.extra.symptoms
    assert read_answer("2 my neck is swollen", "en").extra.symptoms == ["swelling"]  # not "fever" (menu 2)
    answer = read_answer("hapana, ila homa imezidi", "sw")
    assert answer.kind == NO and "fever" in answer.extra.symptoms


@pytest.mark.parametrize(
    "text, language",
    [("fever", "en"), ("nina homa", "sw"), ("3", "en"), ("5", "sw"), ("STOP", "en"), ("", "en"), ("  ", "en"),
     ("2 days ago", "en"), ("1 2", "en"), ("un peu de fièvre", "fr"), ("um pouco de febre", "pt"),
     ("si mgonjwa", "sw"),  # Kiswahili "si": "I am not sick", not the Spanish yes
     ("one more thing, I have a cough", "en"), ("who is this?", "en"), ("thanks", "en")],
)
def test_anything_else_is_an_ordinary_reply(text, language):
    assert read_answer(text, language).kind == OTHER


def test_it_is_pure_and_deterministic():
    assert read_answer("1", "en") == read_answer("1", "en")
    assert read_answer("ndiyo", None).kind == YES  # no language known: still read
