"""The languages patients can be written to in (ISO 639-1 codes)."""

LANGUAGES: dict[str, str] = {
    "en": "English",
    "sw": "Kiswahili",
    "es": "Español",
    "fr": "Français",
    "pt": "Português",
}

DEFAULT_LANGUAGE = "en"
