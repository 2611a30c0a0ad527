"""Languages of the student, guardian and PLP pages: gettext catalogs (Babel) and plain words.

Catalogs live in ``service/locale/<lang>/LC_MESSAGES/messages.po`` (compiled ``.mo`` beside
them); English is the source language. Adding a language: ``pybabel init -i
service/locale/messages.pot -d service/locale -l <lang>``, translate, ``pybabel compile -d
service/locale``, and add the code to :data:`LANGUAGES` (see ``service/locale/README.md``).

The page language is, in order: ``?lang=`` (kept in the ``pathwise_lang`` cookie), the cookie,
the learner's language (their profile), the browser's ``Accept-Language``, English.

Plain words, never raw decimals: a probability is "about 4 in 5", a time "3 weeks ago", a
date "3 Dec", an accommodation its sentence ("extra time").
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("en", "es")
DEFAULT = "en"
COOKIE = "pathwise_lang"
NAMES = {"en": "English", "es": "Español"}


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The catalog of ``lang`` (NullTranslations for English and unknown languages)."""
    if lang == DEFAULT or lang not in LANGUAGES:
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [lang], domain="messages")


def negotiate(accept_language: str) -> str | None:
    """The best of :data:`LANGUAGES` for an ``Accept-Language`` header (None: no match)."""
    wanted = []
    for part in (accept_language or "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        if tag and weight > 0:
            wanted.append((weight, tag.strip()))
    wanted.sort(key=lambda t: -t[0])
    for _w, tag in wanted:
        base = tag.split("-")[0].split("_")[0].lower()
        if base in LANGUAGES:
            return base
    return None


def pick_language(query: str | None, cookie: str | None, learner_language: str | None,
                  accept_language: str | None) -> str:
    """The page language (module doc order)."""
    for lang in (query, cookie, (learner_language or "").split("-")[0].lower() or None):
        if lang in LANGUAGES:
            return lang
    return negotiate(accept_language or "") or DEFAULT


class Words:
    """Plain words in one language, handed to the templates as ``w`` (with ``_``)."""

    def __init__(self, lang: str, now: datetime | None = None) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self.t = translations(self.lang)
        self.now = now or datetime.now(UTC)
        self.locale = Locale.parse(self.lang)

    def _(self, text: str, **kw: Any) -> str:
        out = self.t.gettext(text)
        return out % kw if kw else out

    def n_(self, singular: str, plural: str, n: int, **kw: Any) -> str:
        out = self.t.ngettext(singular, plural, n)
        return out % {"n": n, **kw}

    def chance(self, p: float | None) -> str:
        """A probability as "about N in 5" ("almost certainly" at 0.95 and above,
        "not yet" under 0.1)."""
        p = float(p or 0.0)
        if p >= 0.95:
            return self._("almost certainly")
        if p < 0.1:
            return self._("not yet")
        return self._("about %(n)s in 5", n=max(1, min(4, round(p * 5))))

    def ago(self, when: str | datetime | None) -> str:
        """"today", "yesterday", "3 days ago", "2 weeks ago", "5 months ago"."""
        if when is None:
            return self._("never")
        at = _parse(when)
        days = max(0, (self.now - at).days)
        if days == 0:
            return self._("today")
        if days == 1:
            return self._("yesterday")
        if days < 14:
            return self.n_("%(n)s day ago", "%(n)s days ago", days)
        if days < 60:
            return self.n_("%(n)s week ago", "%(n)s weeks ago", days // 7)
        if days < 730:
            return self.n_("%(n)s month ago", "%(n)s months ago", days // 30)
        return self.n_("%(n)s year ago", "%(n)s years ago", days // 365)

    def date(self, when: str | datetime | None) -> str:
        """A short date, "3 Dec" (English) / "3 dic" (Spanish)."""
        if when is None:
            return ""
        return format_date(_parse(when), "d MMM", locale=self.locale)

    def minutes(self, m: float) -> str:
        return self.n_("%(n)s minute", "%(n)s minutes", int(round(float(m or 0))))

    def accommodation(self, code: str) -> str:
        return self._(ACCOMMODATION_WORDS.get(code, code.replace("_", " ")))

    def place(self, code: str) -> str:
        return self._(PLACE_WORDS.get(code, code.replace("_", " ")))

    def with_whom(self, code: str) -> str:
        return self._(WHO_WORDS.get(code, code))

    def how(self, tag: str) -> str:
        from planner.choices import how_words

        return self._(how_words(tag))

    def status(self, code: str) -> str:
        return self._(STATUS_WORDS.get(code, code))

    def written_by(self, set_by: str, author: str, me: str | None = None, who_me: str = "") -> str:
        """"written by you, 3 Dec" / "written by Ms. Ortiz, 3 Dec"."""
        if set_by == "system" and author:
            who = self._(author) if author == "learned from your choices" else author
            return who
        if me is not None and set_by == me:
            who = self._("you")
        else:
            who = author or self._(ROLE_WORDS.get(set_by, set_by))
        return self._("written by %(who)s", who=who)


def _parse(when: str | datetime) -> datetime:
    if isinstance(when, datetime):
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    text = when.strip().replace("Z", "+00:00")
    return datetime.fromisoformat(text)


def _noop(s: str) -> str:  # marks a string for extraction without translating it here
    return s


def n_(singular: str, plural: str, n: int = 2) -> tuple[str, str]:  # marks a plural for extraction
    return singular, plural


PLURALS_IN_TEMPLATES = (
    n_("%(n)s activity", "%(n)s activities"),
    n_("practised %(n)s time", "practised %(n)s times"),
)


ACCOMMODATION_WORDS = {
    "extended_time": _noop("extra time"), "text_to_speech": _noop("text read aloud"),
    "speech_to_text": _noop("speaking instead of typing"), "reduced_screen_time": _noop("less screen time"),
    "large_print": _noop("large print"), "visual_supports": _noop("pictures and visual supports"),
    "translated_materials": _noop("materials in their language"), "movement_breaks": _noop("movement breaks"),
    "quiet_space": _noop("a quiet place to work"),
}
PLACE_WORDS = {"school": _noop("at school"), "home": _noop("at home"), "community": _noop("in the community"),
               "classroom": _noop("in the classroom"), "lab": _noop("in the computer lab")}
WHO_WORDS = {"teacher": _noop("with your teacher"), "partner": _noop("with a partner"),
             "group": _noop("with a small group"), "alone": _noop("on your own")}
STATUS_WORDS = {"mastered": _noop("I've got it"), "ready": _noop("ready to learn"),
                "next": _noop("coming later")}
ROLE_WORDS = {"student": _noop("the student"), "teacher": _noop("the teacher"),
              "parent": _noop("the family"), "system": _noop("Pathwise")}
FIELD_LABELS = {
    "interests": _noop("Interests"), "aspirations": _noop("Aspirations"), "how_i_learn": _noop("How I learn best"),
    "goals": _noop("Goals"), "strengths": _noop("Strengths"), "growth_areas": _noop("Areas of growth"),
    "accommodations": _noop("Accommodations"), "family_notes": _noop("Family notes"),
    "home_availability": _noop("Time at home"), "preferred_formats": _noop("Likes to learn"),
}
RATING_WORDS = ("", _noop("Not yet"), _noop("A little"), _noop("Mostly"), _noop("I've got it"))
STORY_LABELS = (
    _noop("My interests"), _noop("How I learn best"), _noop("What I want to be"), _noop("My strengths"),
    _noop("What I am working on"), _noop("What helps me"), _noop("From my family"),
    _noop("Student"), _noop("Guardian"), _noop("Teacher"),
)
HOW_WORDS_FOR_EXTRACTION = (
    _noop("as a game"), _noop("as a video"), _noop("as a reading"), _noop("hands-on"),
    _noop("as a discussion"), _noop("as practice"), _noop("as a project"), _noop("on a worksheet"),
    _noop("as a lesson"), _noop("with a partner"), _noop("in a small group"),
    _noop("with the whole class"), _noop("on your own"), _noop("online"), _noop("with your teacher"),
    _noop("with classmates"), _noop("offline, on your own"), _noop("another way"),
    _noop("learned from your choices"),
)
