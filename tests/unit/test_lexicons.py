"""The lexicons a clinician reviews: complete, consistent, and refused loudly when wrong."""

import shutil

import pytest

from reminders.triage import triage
from reminders.triage.lexicon import LANGUAGE_CODES, LEXICON_DIR, LexiconError, load

ENGINE_TAGS = {"other_person", "unclear"}  # added by the engine, never by a phrase


@pytest.fixture(scope="module")
def lexicons():
    return load()


def test_every_language_file_loads(lexicons):
    assert sorted(lexicons.languages) == sorted(LANGUAGE_CODES)


def test_every_symptom_tag_has_words_in_every_language(lexicons):
    reachable_otherwise = {t.severe for t in lexicons.tags.values() if t.severe}
    reachable_otherwise |= {gives for _, gives in lexicons.combinations}
    for tag in lexicons.tags:
        if tag in ENGINE_TAGS or tag in reachable_otherwise:
            continue
        for code, language in lexicons.languages.items():
            assert any(p.tag == tag for p in language.phrases), f"{code} has no words for {tag}"


def test_design_red_flags_are_urgent_tags(lexicons):
    for tag in ["breathing", "chest_pain", "coughing_blood", "headache_severe", "stiff_neck", "confusion",
                "seizure", "fainting", "vision", "eye_pain", "weakness", "jaundice_with_vomiting",
                "cannot_keep_pills", "abdominal_pain_severe", "rash_severe", "self_harm"]:
        assert lexicons.tags[tag].level == "urgent", tag
    for tag in ["fever", "night_sweats", "swelling", "cough", "rash", "diarrhoea", "vomiting", "weight_loss",
                "tiredness", "headache", "pain", "side_effects", "missed_pills", "unwell", "other_person",
                "jaundice"]:
        assert lexicons.tags[tag].level == "flag", tag


def test_menu_matches_the_check_in_message(lexicons):
    # reminders/data/messages/*.toml: 1 well, 2 fever, 3 swelling or lumps, 4 another new
    # problem, 5 pills, 6 please call me (admin: a request, not a symptom).
    assert {digit: (m.level, m.tag) for digit, m in lexicons.menu.items()} == {
        "1": ("ok", None), "2": ("symptom", "fever"), "3": ("symptom", "swelling"),
        "4": ("symptom", "unwell"), "5": ("symptom", "pill_problem"), "6": ("admin", "call_request"),
    }


def test_every_language_writes_every_menu_digit_as_a_word(lexicons):
    for code in LANGUAGE_CODES:
        assert set(lexicons.menu_words[code].values()) == set(lexicons.menu), code


def test_a_bad_menu_file_is_refused_with_its_key(tmp_path):
    shutil.copytree(LEXICON_DIR, tmp_path / "lex")
    path = tmp_path / "lex" / "menu.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('6 = { admin = "call_request" }', '6 = "callme"'),
                    encoding="utf-8")
    with pytest.raises(LexiconError, match=r"menu.toml: digits.6"):
        load(tmp_path / "lex")


def test_every_language_lists_resolution_and_third_party_cues(lexicons):
    for code, language in lexicons.languages.items():
        kinds = {p.kind for p in language.phrases}
        assert {"negation", "resolution", "third_party", "intensifier", "ok", "admin"} <= kinds, code


def test_common_words_alone_are_never_a_symptom(lexicons):
    # "common" words switch off wildcards and typo correction; one that is itself a
    # symptom would hide a complaint.
    for code, language in lexicons.languages.items():
        for word in language.common:
            result = triage(word, code)
            assert result.symptoms in ([], ["unclear"]), f"{code}: common word {word!r} -> {result.symptoms}"


# -- validation --------------------------------------------------------------------------


@pytest.fixture
def broken(tmp_path):
    """Copy the lexicons, apply one edit, and return the error loading them raises."""

    def edit(filename, old, new):
        directory = tmp_path / "lexicons"
        shutil.copytree(LEXICON_DIR, directory)
        path = directory / filename
        text = path.read_text(encoding="utf-8")
        assert old in text, f"fixture text {old!r} not in {filename}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        with pytest.raises(LexiconError) as caught:
            load(directory)
        return str(caught.value)

    return edit


def test_unknown_level_is_refused(broken):
    message = broken("tags.toml", 'level = "urgent"', 'level = "critical"')
    assert "tags.toml" in message and "tags.breathing" in message and "critical" in message


def test_empty_phrase_is_refused(broken):
    message = broken("sw.toml", 'fever = [\n', 'fever = [\n    "  ",\n')
    assert "sw.toml" in message and "symptoms.fever" in message and "empty" in message


def test_unknown_tag_is_refused(broken):
    message = broken("es.toml", "fever = [", "fiebre_alta = [")
    assert "es.toml" in message and "fiebre_alta" in message and "unknown tag" in message


def test_wildcard_inside_a_word_is_refused(broken):
    message = broken("fr.toml", '"fievre*"', '"fi*vre"')
    assert "fr.toml" in message and "fi*vre" in message


def test_too_short_wildcard_is_refused(broken):
    message = broken("pt.toml", '"febre*"', '"fe*"')
    assert "pt.toml" in message and "too short" in message


def test_gap_at_the_edge_is_refused(broken):
    message = broken("en.toml", '"fever*"', '"... fever"')
    assert "en.toml" in message and "'...'" in message


def test_wrong_language_code_is_refused(broken):
    message = broken("pt.toml", 'language = "pt"', 'language = "es"')
    assert "pt.toml" in message and "language" in message


def test_unknown_section_is_refused(broken):
    message = broken("en.toml", "[cues]", "[clues]")
    assert "en.toml" in message and "clues" in message


def test_unknown_cue_kind_is_refused(broken):
    message = broken("sw.toml", "intensifier = [", "amplifier = [")
    assert "sw.toml" in message and "cues.amplifier" in message


def test_invalid_toml_is_refused(broken):
    message = broken("fr.toml", "[cues]", "[cues")
    assert "fr.toml" in message and "TOML" in message


def test_missing_file_is_refused(tmp_path):
    directory = tmp_path / "lexicons"
    shutil.copytree(LEXICON_DIR, directory)
    (directory / "sw.toml").unlink()
    with pytest.raises(LexiconError, match="sw.toml: file is missing"):
        load(directory)


def test_combination_of_unknown_tags_is_refused(broken):
    message = broken("tags.toml", 'tags = ["rash", "mouth_sores"]', 'tags = ["rash", "gum_sores"]')
    assert "tags.toml" in message and "gum_sores" in message
