"""Message templates (discreet, complete, short) and SMS segment counting."""

import re
import unicodedata

import pytest

from reminders.disclosure import check_discreet
from reminders.errors import InputError
from reminders.languages import LANGUAGES
from reminders.messages import (
    MAX_SEGMENTS,
    TEMPLATE_KEYS,
    MissingValue,
    gsm_fold,
    load_templates,
    placeholders_of,
    render,
    segments,
)

LONG = {
    "clinic": "Abcdefghij Klmnopqrs",  # 20 characters
    "clinic_phone": "+254700000001",
    "item_ref": "Q-20261201-0042",
}
LONG_NAME = "Abcdefghijklmnopqrst"  # 20 characters
# Letters outside GSM-7 in the clinic and the name make the whole text UCS-2.
ACCENTED = {**LONG, "clinic": "Clínica São João Maç"}
ACCENTED_NAME = "Conceição Abcdefghij"
CASES = [(lang, key) for lang in LANGUAGES for key in TEMPLATE_KEYS]

# Words that would tell whoever reads a shared phone what the patient is treated for.
FORBIDDEN_WORDS = re.compile(
    r"\b(hiv|vih|vvu|arvs?|art|iris|aids|sida|ukimwi|cd4|tb|prep|pep)\b"
    r"|antiretro|diagnos|viral|virus|tubercul|kifua kikuu|immun|imun|kinga"
)


def forbidden(text: str) -> list[str]:
    """Forbidden words in text, case- and accent-insensitive."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return [m.group(0) for m in FORBIDDEN_WORDS.finditer(plain)]


def test_the_forbidden_word_check_itself_works():
    assert forbidden("Take your ART pills") == ["art"]
    assert forbidden("Résultat: VIH négatif") == ["vih"]
    assert forbidden("dawa za ARV") == ["arv"]
    assert forbidden("Immune system, carga VIRAL") == ["immun", "viral"]
    assert forbidden("Reply START to restart, see the chart") == []


# --- every template, every language -------------------------------------------------


def test_every_language_has_every_template():
    for lang in LANGUAGES:
        assert tuple(load_templates(lang).texts) == TEMPLATE_KEYS


@pytest.mark.parametrize(("lang", "key"), CASES)
def test_every_template_renders(lang, key):
    for name in (None, "Amina", LONG_NAME):
        text = render(key, lang, name=name, **LONG)
        assert text.strip() == text and text
        assert "{" not in text and "}" not in text


@pytest.mark.parametrize(("lang", "key"), CASES)
def test_every_template_fits_in_two_sms_with_long_values(lang, key):
    for values in (LONG, ACCENTED, {**LONG, "clinic_phone": "+5511987654321"}):
        for name in (None, "Amina", "María", LONG_NAME, ACCENTED_NAME):
            text = render(key, lang, name=name, **values)
            assert segments(text).count <= MAX_SEGMENTS, (lang, key, name, segments(text), text)


@pytest.mark.parametrize(("lang", "key"), CASES)
def test_no_template_says_what_the_patient_is_treated_for(lang, key):
    templates = load_templates(lang)
    for text in (templates.texts[key], templates.greeting_named, templates.greeting_anonymous):
        assert forbidden(text) == [], (lang, key, text)
    assert forbidden(render(key, lang, name="Amina", **LONG)) == []


@pytest.mark.parametrize(("lang", "key"), CASES)
def test_without_a_name_the_message_has_no_name(lang, key):
    templates = load_templates(lang)
    template = templates.texts[key]
    assert "name" not in placeholders_of(template)  # only through {greeting}
    anonymous = render(key, lang, name=None, **LONG)
    named = render(key, lang, name="Zawadi", **LONG)
    assert "Zawadi" not in anonymous
    if "greeting" in placeholders_of(template):
        # The greeting is the only difference.
        greeting = templates.greeting_named.format(name="Zawadi")
        anonymous_greeting = templates.greeting_anonymous
        if greeting not in named:  # sent without the accents GSM-7 lacks (Portuguese check-in)
            greeting, anonymous_greeting = gsm_fold(greeting), gsm_fold(anonymous_greeting)
        assert greeting in named
        assert anonymous == named.replace(greeting, anonymous_greeting)
    else:
        assert anonymous == named


@pytest.mark.parametrize("key", TEMPLATE_KEYS)
def test_every_language_uses_the_same_placeholders(key):
    expected = placeholders_of(load_templates("en").texts[key])
    for lang in LANGUAGES:
        assert placeholders_of(load_templates(lang).texts[key]) == expected, (lang, key)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_message_says_what_it_must(lang):
    def text(key):
        return render(key, lang, **LONG)

    assert {"STOP", "HELP"} <= set(re.findall(r"[A-Z]{4,}", text("welcome")))
    assert LONG["clinic"] in text("welcome")
    for key in ("checkin", "reminder"):
        assert re.findall(r"\b[1-6]\b", text(key)) == ["1", "2", "3", "4", "5", "6"], (lang, key)
    assert re.findall(r"\b[0-9]\b", text("danger_question")) == ["1", "2"], lang
    assert LONG["clinic"] in text("urgent_ack") and LONG["clinic_phone"] in text("urgent_ack")
    assert LONG["clinic_phone"] in text("help") and "STOP" in text("help")
    assert "START" in text("stop_confirm")
    assert "STOP" in text("start_confirm")
    assert LONG["clinic"] in text("completed")
    assert LONG["item_ref"] in text("oncall_alert")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_unknown_sender_reveals_nothing(lang):
    text = render("unknown_sender", lang, name="Zawadi", **LONG)
    for value in (LONG["clinic"], LONG["clinic_phone"], "Zawadi"):
        assert value not in text


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", ["unknown_sender", "urgent_generic", "received"])
def test_answers_to_an_unknown_sender_need_no_values(lang, key):
    # Used when the sender is unknown or the database is down: nothing to fill in.
    assert placeholders_of(load_templates(lang).texts[key]) == set()
    assert render(key, lang)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_oncall_alert_names_no_patient(lang):
    text = render("oncall_alert", lang, name="Zawadi", **LONG)
    assert "Zawadi" not in text
    assert LONG["item_ref"] in text


@pytest.mark.parametrize("lang", ["en", "sw", "es", "fr"])
@pytest.mark.parametrize("key", ["checkin", "reminder", "thanks_ok", "flag_ack"])
def test_frequent_messages_stay_in_gsm7(lang, key):
    # UCS-2 more than halves what one SMS holds; the texts sent most often avoid it
    # (Portuguese cannot without misspelling).
    assert segments(render(key, lang, name="Amina", **LONG)).encoding == "GSM-7"


# --- what a check-in asks (DESIGN.md), and the danger-sign question ----------------------

LONGEST_CLINIC = "Abcdefghij Klmnopqrst Uvwxyzabcd Efghijk"  # 40: Clinic.name's limit
ASKS = {  # fever, swelling or lumps, another new problem, in each language's words
    "en": ("fever", "swelling", "lumps", "new problem"),
    "sw": ("homa", "uvimbe", "vinundu", "jingine", "jipya"),
    "es": ("fiebre", "hinchad", "bultos", "problema nuevo"),
    "fr": ("fièvre", "gonflement", "grosseur", "autre", "problème"),
    "pt": ("febre", "inchac", "carocos", "problema novo"),  # sent without accents, see below
}
DANGER_SIGNS = {  # breathing, chest, headache/neck, confusion/fits, eyes, limb, keeping things down
    "en": ("breathe", "chest", "headache", "neck", "confusion", "fits", "eye", "sight", "arm", "leg", "water"),
    "sw": ("kupumua", "kifua", "kichwa", "shingo", "kuchanganyikiwa", "degedege", "jicho", "kuona",
           "mkono", "mguu", "kutapika"),
    "es": ("respirar", "pecho", "cabeza", "cuello", "confundido", "convulsiones", "ojos", "brazo", "pierna",
           "vomita"),
    "fr": ("respirer", "poitrine", "tete", "nuque", "confusion", "convulsions", "yeux", "vue", "bras", "jambe",
           "vomissez"),
    "pt": ("falta de ar", "peito", "cabeca", "pescoco", "confusao", "convulsoes", "olhos", "vista", "braco",
           "perna", "vomita"),
}


def plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", ["checkin", "reminder"])
def test_the_check_in_asks_about_fever_swelling_and_new_problems(lang, key):
    text = plain(render(key, lang, name="Amina", clinic=LONGEST_CLINIC))
    for words in ASKS[lang]:
        assert plain(words) in text, (lang, key, words)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_danger_question_names_every_red_flag_and_asks_for_digits(lang):
    text = render("danger_question", lang)
    for words in DANGER_SIGNS[lang]:
        assert plain(words) in plain(text), (lang, words)
    # Digits, never "reply YES": YES is one of Twilio's opt-in keywords.
    assert not re.search(r"\b(YES|NO|SI|OUI|SIM|NDIYO|HAPANA)\b", text)
    assert re.search(r"\b1\b.*\b2\b", text, re.S)


@pytest.mark.parametrize(("lang", "key"), CASES)
def test_every_template_fits_in_two_sms_with_the_longest_clinic_name_and_a_name(lang, key):
    for clinic in (LONGEST_CLINIC, "Clínica São João da Conceição Maçambará"[:40]):
        for name in (None, "Zyxwvutsrq", ACCENTED_NAME):
            text = render(key, lang, name=name, clinic=clinic, clinic_phone="+5511987654321",
                          item_ref="#123456")
            assert segments(text).count <= MAX_SEGMENTS, (lang, key, name, segments(text), text)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", ["checkin", "reminder", "danger_question"])
def test_the_check_in_and_the_danger_question_keep_a_name_and_go_as_gsm7(lang, key):
    text = render(key, lang, name="Zyxwvutsrq", clinic=LONGEST_CLINIC)
    if "greeting" in placeholders_of(load_templates(lang).texts[key]):
        assert "Zyxwvutsrq" in text
    assert segments(text).encoding == "GSM-7" and segments(text).count <= 2


def test_a_message_too_long_in_ucs2_is_sent_without_the_accents_gsm7_lacks():
    text = render("checkin", "pt", name="Conceição")
    assert text.startswith("Ola Conceicao, ") and "inchaco ou carocos" in text.lower()
    assert segments(text).encoding == "GSM-7"
    # A short Portuguese message keeps its accents.
    assert render("danger_no_ack", "pt") == load_templates("pt").texts["danger_no_ack"]
    assert segments(render("danger_no_ack", "pt")).encoding == "UCS-2"


@pytest.mark.parametrize(("lang", "key"), CASES)
def test_every_template_passes_the_disclosure_check(lang, key):
    templates = load_templates(lang)
    for text in (templates.texts[key], templates.greeting_named, templates.greeting_anonymous):
        check_discreet(f"{lang}.{key}", text)  # raises InputError on HIV, ART, VVU, SIDA...


def test_every_language_has_the_same_keys_as_english():
    keys = set(load_templates("en").texts)
    assert {"danger_question", "danger_no_ack"} <= keys
    for lang in LANGUAGES:
        assert set(load_templates(lang).texts) == keys, lang


@pytest.mark.parametrize(("lang", "key"), CASES)
def test_templates_use_plain_apostrophes(lang, key):
    assert "\u2019" not in load_templates(lang).texts[key]  # ’ is not in GSM-7


def test_english_checkin_reads_as_expected():
    assert render("checkin", "en", name="Amina") == (
        "Hi Amina, since our last message, have you had any fever, any swelling or lumps, "
        "or any other new problem? Reply:\n"
        "1 I am well\n"
        "2 Fever\n"
        "3 Swelling or lumps\n"
        "4 Another new problem\n"
        "5 A problem with my pills\n"
        "6 Please call me\n"
        "Or write in your own words."
    )
    assert render("checkin", "en").startswith("Hi, since our last message")
    assert render("checkin", "sw", name="Amina").startswith("Habari Amina! ")


# --- names -------------------------------------------------------------------------------


def test_a_name_that_would_force_ucs2_past_two_sms_loses_its_accents():
    text = render("checkin", "es", name="María")
    assert text.startswith("Hola Maria, ")
    assert segments(text).encoding == "GSM-7"


def test_a_name_is_kept_as_written_when_it_fits():
    assert render("thanks_ok", "es", name="María").startswith("Hola María, ")
    assert render("checkin", "es", name="José").startswith("Hola José, ")  # é is GSM-7


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", ["welcome", "checkin", "reminder", "thanks_ok", "completed"])
def test_a_name_of_up_to_ten_letters_is_kept_even_with_a_long_clinic_name(lang, key):
    assert "Zyxwvutsrq" in render(key, lang, name="Zyxwvutsrq", **LONG)


def test_a_name_too_long_to_fit_is_left_out():
    text = render("welcome", "pt", name=LONG_NAME, **LONG)
    assert LONG_NAME not in text
    assert text.startswith("Olá, ")


@pytest.mark.parametrize("name", ["", "   ", None])
def test_a_blank_name_is_no_name(name):
    assert render("checkin", "en", name=name).startswith("Hi, since")


def test_a_name_is_trimmed_and_not_interpreted():
    assert render("thanks_ok", "en", name="  {clinic} ").startswith("Hi {clinic}, ")


@pytest.mark.parametrize(
    ("raw", "folded"),
    [("María", "Maria"), ("José", "José"), ("Conceição", "Conceicao"), ("Zoë", "Zoe"),
     ("Ñusta", "Ñusta"), ("Ngũgĩ", "Ngugi"), ("Фатима", "Фатима")],
)
def test_gsm_fold_only_removes_what_gsm7_lacks(raw, folded):
    assert gsm_fold(raw) == folded


# --- bad calls -------------------------------------------------------------------------------


def test_unknown_key_is_refused():
    with pytest.raises(InputError) as excinfo:
        render("goodbye", "en")
    assert excinfo.value.field == "message"


@pytest.mark.parametrize("lang", ["de", "EN", "", "english"])
def test_unknown_language_is_refused(lang):
    with pytest.raises(InputError) as excinfo:
        render("checkin", lang)
    assert excinfo.value.field == "language"


@pytest.mark.parametrize(
    ("key", "values", "missing"),
    [
        ("urgent_ack", {"clinic": "Kibera"}, "clinic_phone"),
        ("welcome", {}, "clinic"),
        ("help", {"clinic": " ", "clinic_phone": "+254700000001"}, "clinic"),
        ("oncall_alert", {}, "item_ref"),
    ],
)
def test_a_missing_value_is_named(key, values, missing):
    with pytest.raises(MissingValue) as excinfo:
        render(key, "en", **values)
    assert excinfo.value.placeholder == missing
    assert f"{{{missing}}}" in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


# --- segments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "units", "count"),
    [
        ("", "GSM-7", 0, 1),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€", "GSM-7", 2, 1),
        ("a" * 159 + "€", "GSM-7", 161, 2),  # € takes two septets
        ("a" * 158 + "€", "GSM-7", 160, 1),
        ("^{}\\[~]|\f", "GSM-7", 18, 1),  # the whole extension table
        ("Ça va? ¿Qué tal? Señor Müller, Å Ø ß É à §", "GSM-7", 42, 1),
        ("ç", "UCS-2", 1, 1),  # only capital Ç is in GSM-7
        ("ã" * 70, "UCS-2", 70, 1),
        ("ã" * 71, "UCS-2", 71, 2),
        ("ã" * 134, "UCS-2", 134, 2),
        ("ã" * 135, "UCS-2", 135, 3),
        ("😀", "UCS-2", 2, 1),  # an emoji is two UTF-16 units
        ("😀" * 35, "UCS-2", 70, 1),
        ("😀" * 36, "UCS-2", 72, 2),
        ("a" * 159 + "’", "UCS-2", 160, 3),  # one curly apostrophe switches it all
    ],
)
def test_segments(text, encoding, units, count):
    result = segments(text)
    assert (result.encoding, result.units, result.count) == (encoding, units, count)
    assert result.characters == len(text)


def test_an_escape_sequence_is_not_split_across_parts():
    # 306 septets would be exactly 2 parts, but the € would straddle the first break.
    text = "a" * 152 + "€" + "a" * 152
    assert segments(text).units == 306
    assert segments(text).count == 3


def test_an_emoji_is_not_split_across_parts():
    text = "ã" * 66 + "😀" + "ã" * 66  # 134 units, but the emoji straddles the break
    assert segments(text).units == 134
    assert segments(text).count == 3
