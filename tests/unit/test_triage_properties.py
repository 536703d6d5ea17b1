"""Properties of triage over generated replies (Hypothesis)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reminders.triage import LEVELS, triage

LANGUAGE = st.sampled_from([None, "en", "sw", "es", "fr", "pt", "de", ""])

RED_FLAGS = [
    "I cannot breathe", "I have chest pain", "I am coughing blood", "I want to kill myself",
    "my neck is stiff", "I had a seizure", "siwezi kupumua", "kifua kinauma", "nataka kujiua",
    "no puedo respirar", "dolor en el pecho", "tengo convulsiones", "je n'arrive pas à respirer",
    "douleur à la poitrine", "je veux mourir", "não consigo respirar", "dor no peito", "quero morrer",
]

DENIALS = {
    "en": (["no", "no more", "I don't have", "I have no"],
           ["fever", "cough", "headache", "chest pain", "rash", "diarrhoea", "vomiting", "night sweats",
            "stiff neck", "blurred vision", "swelling"]),
    "sw": (["sina", "hakuna", "hamna"],
           ["homa", "kikohozi", "kuhara", "vipele", "maumivu ya kichwa", "maumivu ya kifua", "jasho usiku"]),
    "es": (["sin", "no tengo", "ya no tengo"],
           ["fiebre", "tos", "diarrea", "dolor de cabeza", "dolor en el pecho", "vómitos", "sudores"]),
    "fr": (["pas de", "je n'ai pas de", "je n'ai plus de", "aucune"],
           ["fièvre", "toux", "diarrhée", "mal de tête", "douleur à la poitrine", "sueurs"]),
    "pt": (["sem", "não tenho", "já não tenho"],
           ["febre", "tosse", "diarreia", "dor de cabeça", "dor no peito", "vômito", "suores"]),
}


@st.composite
def denial(draw):
    code = draw(st.sampled_from(sorted(DENIALS)))
    cues, symptoms = DENIALS[code]
    text = f"{draw(st.sampled_from(cues))} {draw(st.sampled_from(symptoms))}"
    text = draw(st.sampled_from([text, text.upper(), text.capitalize(), text + ".", text + "!!", f"  {text} "]))
    return text, draw(st.sampled_from([None, code]))


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.text(max_size=300), flag=st.sampled_from(RED_FLAGS), language=LANGUAGE)
def test_any_text_followed_by_a_red_flag_sentence_is_urgent(prefix, flag, language):
    result = triage(f"{prefix}. {flag}", language)
    assert result.level == "urgent", result


@settings(deadline=None)
@given(
    prefix=st.lists(st.sampled_from(["fine", "sawa", "estoy bien", "no fever", "thanks", "1", "who is this",
                                     "my child", "homa imeisha", "pas de toux", "nimechoka", "help"]),
                    max_size=4).map(", ".join),
    flag=st.sampled_from(RED_FLAGS),
)
def test_a_red_flag_after_ordinary_replies_is_urgent(prefix, flag):
    assert triage(f"{prefix}. {flag}").level == "urgent"


@settings(deadline=None)
@given(denial())
def test_a_denied_symptom_alone_is_never_urgent(case):
    text, language = case
    result = triage(text, language)
    assert result.level == "ok", result
    assert result.symptoms == []
    assert result.denied


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=1600), language=LANGUAGE)
def test_no_input_crashes_and_the_result_is_well_formed(text, language):
    result = triage(text, language)
    assert result.level in LEVELS
    assert all(isinstance(tag, str) and tag for tag in result.symptoms)
    assert all(piece in text for piece in result.evidence)  # evidence is the patient's own words
    if result.level == "ok":
        assert result.evidence  # "ok" always has a reason
    if result.level in ("flag", "urgent"):
        assert result.symptoms
    assert result == triage(text, language)  # deterministic


@settings(deadline=None)
@given(words=st.lists(st.sampled_from(["fever", "homa", "la", "no", "1", "2", ".", ",", "but", "sana", "pas",
                                       "mal", "tete", "kichwa", "very", "gone", "not", "my child", "😀", "#"]),
                      max_size=40))
def test_lexicon_word_soup_never_crashes(words):
    text = " ".join(words)
    result = triage(text)
    assert result.level in LEVELS
    assert all(piece in text for piece in result.evidence)
