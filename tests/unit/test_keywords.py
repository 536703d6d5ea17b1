"""SMS keywords: STOP, START, HELP and language changes, only as the whole message."""

import pytest

from reminders.keywords import Keyword, parse_keyword


@pytest.mark.parametrize(
    "text",
    ["stop", "STOP", " STOP!! ", "Stop.", "stop all", "STOPALL", "unsubscribe", "cancel", "end", "quit",
     "revoke", "optout", "opt-out", "acha", "SITISHA", "parar", "basta", "alto", "cancelar", "arret",
     "arrêt", "ARRÊTER", "desabonner", "désabonner", "sair"],
)
def test_stop_words(text):
    assert parse_keyword(text) == Keyword("stop")


@pytest.mark.parametrize(
    "text",
    ["start", "YES", "unstop", "resume", "anza", "endelea", "iniciar", "reanudar", "demarrer", "démarrer",
     "reprendre", "voltar"],
)
def test_start_words(text):
    assert parse_keyword(text) == Keyword("start")


@pytest.mark.parametrize("text", ["help", "HELP?", "info", "msaada", "ayuda", "¡Ayuda!", "aide", "ajuda"])
def test_help_words(text):
    assert parse_keyword(text) == Keyword("help")


@pytest.mark.parametrize(
    "text, code",
    [("LANG SW", "sw"), ("language sw", "sw"), ("lang: es", "es"), ("SWAHILI", "sw"), ("Kiswahili", "sw"),
     ("ENGLISH", "en"), ("español", "es"), ("ESPANOL", "es"), ("spanish", "es"), ("francais", "fr"),
     ("Français", "fr"), ("french", "fr"), ("portugues", "pt"), ("Português", "pt"), ("portuguese", "pt"),
     ("IDIOMA ES", "es"), ("idioma português", "pt"), ("LANGUE FR", "fr"), ("LUGHA SW", "sw"),
     ("lugha kiswahili", "sw"), ("lang en", "en")],
)
def test_language_change(text, code):
    assert parse_keyword(text) == Keyword("language", code)


@pytest.mark.parametrize(
    "text",
    ["I want to stop the pills", "stop the medicine", "please stop", "stop sending", "help me",
     "I need help", "yes I have fever", "fever", "1", "", "   ", "!!!", "sw", "lang xx", "lang",
     "my language is english", "english please", "end of pills", "no"],
)
def test_anything_more_than_the_keyword_is_not_a_keyword(text):
    assert parse_keyword(text) is None


def test_keyword_is_frozen():
    keyword = parse_keyword("stop")
    with pytest.raises(AttributeError):
        keyword.action = "start"  # type: ignore[misc]
