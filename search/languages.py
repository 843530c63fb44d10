"""How a language code is shown to readers: "Spanish (español)".

The index keeps ISO 639-1 codes (`index.language`); the Language facet and
the article page show the English name and, when it differs, the name the
language has for itself, so a Persian reader finds فارسی without knowing
its English name. Codes this table does not know are shown upper-cased.
"""

from __future__ import annotations

_NAMES = {
    "ar": ("Arabic", "العربية"), "ca": ("Catalan", "català"), "cs": ("Czech", "čeština"),
    "da": ("Danish", "dansk"), "de": ("German", "Deutsch"), "el": ("Greek", "Ελληνικά"),
    "en": ("English", "English"), "es": ("Spanish", "español"), "et": ("Estonian", "eesti"),
    "eu": ("Basque", "euskara"), "fa": ("Persian", "فارسی"), "fi": ("Finnish", "suomi"),
    "fr": ("French", "français"), "ga": ("Irish", "Gaeilge"), "he": ("Hebrew", "עברית"),
    "hi": ("Hindi", "हिन्दी"), "hu": ("Hungarian", "magyar"), "hy": ("Armenian", "հայերեն"),
    "id": ("Indonesian", "Bahasa Indonesia"), "it": ("Italian", "italiano"),
    "ja": ("Japanese", "日本語"), "ko": ("Korean", "한국어"), "ku": ("Kurdish", "Kurdî"),
    "lt": ("Lithuanian", "lietuvių"), "nl": ("Dutch", "Nederlands"),
    "no": ("Norwegian", "norsk"), "pl": ("Polish", "polski"), "ps": ("Pashto", "پښتو"),
    "pt": ("Portuguese", "português"), "ro": ("Romanian", "română"),
    "ru": ("Russian", "русский"), "sr": ("Serbian", "српски"), "sv": ("Swedish", "svenska"),
    "ta": ("Tamil", "தமிழ்"), "tr": ("Turkish", "Türkçe"), "uk": ("Ukrainian", "українська"),
    "ur": ("Urdu", "اردو"), "zh": ("Chinese", "中文"),
}


def language_name(code: str) -> str:
    """The display name of an ISO 639-1 code ("es" → "Spanish (español)")."""
    names = _NAMES.get(code.lower())
    if names is None:
        return code.upper()
    english, own = names
    return english if own == english else f"{english} ({own})"
