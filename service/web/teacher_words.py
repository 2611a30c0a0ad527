"""Plain words for the teacher pages: no raw decimals, no codes.

Mastery is a level ("mastered", "nearly there", "developing", "not yet") and a chance ("about 4
in 5"; 0.999 is "nearly certain", never "100 %"); times are "3 weeks ago"; accommodations and
pace are sentences. The planner's reason sentence (``planner.reasons``, written to the student:
"you are ready for ...", "expected mastery 0.33 → 0.53", "last practised 21.1503 days ago") is
rewritten for the teacher by :func:`plain_reason`; the facts stay the planner's.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from babel import Locale

from service.web.i18n import Words

# (css class, symbol, words): the heatmap's levels; the symbol is the non-colour cue
LEVELS = {
    "none": ("h0", "·", "no answers yet"),
    "low": ("h1", "○", "not yet"),
    "mid": ("h2", "◑", "developing"),
    "near": ("h3", "◕", "nearly there"),
    "hi": ("h4", "●", "mastered"),
}
# the student's "how did it go?" (1..4) as they chose it on their page
RATING_WORDS = {1: "not yet", 2: "a little", 3: "mostly", 4: "I've got it"}
# profile fields the student or family write, as the teacher reads them
VOICE_FIELDS = {"interests": "Interests", "aspirations": "Aspirations", "how_i_learn": "How I learn best",
                "goals": "Goals", "family_notes": "Family notes", "home_availability": "Available at home"}
WRITERS = {"student": "the student", "parent": "the family", "teacher": "the teacher", "system": "Pathwise"}
NEAR = 0.7  # "nearly there" from here up to the mastery threshold
MID = 0.4  # "developing" from here


class TeacherWords(Words):
    """English plain words for teachers (see the module doc)."""

    def __init__(self, threshold: float = 0.95, now=None) -> None:
        super().__init__("en", now)
        self.threshold = float(threshold)

    def chance(self, p: float | None) -> str:
        p = float(p or 0.0)
        if p >= 0.95:
            return "nearly certain"
        if p < 0.1:
            return "less than 1 in 10"
        return f"about {max(1, min(4, round(p * 5)))} in 5"

    def level_key(self, p: float | None, n: int = 1) -> str:
        if p is None or not n:
            return "none"
        if p >= self.threshold:
            return "hi"
        return "near" if p >= NEAR else "mid" if p >= MID else "low"

    def level(self, p: float | None, n: int = 1) -> tuple[str, str, str]:
        """(css class, symbol, words) of a mastery."""
        return LEVELS[self.level_key(p, n)]

    def mastery(self, p: float | None, n: int = 1) -> str:
        """"mastered", "nearly there (about 4 in 5)", "no answers yet"."""
        key = self.level_key(p, n)
        words = LEVELS[key][2]
        return words if key in ("none", "hi") else f"{words} ({self.chance(p)})"

    def cell(self, p: float | None, n: int, at: str | None = None) -> str:
        """One heatmap cell, short (the symbol and colour give the level; the row says when
        the learner last practised; the page weight counts): "about 4 in 5", "mastered"."""
        if p is None or not n:
            return "no answers yet"
        return "mastered" if self.level_key(p, n) == "hi" else self.chance(p)

    def pace(self, pace: float | None) -> str:
        """Relative speed as a sentence about a 20-minute activity."""
        pace = float(pace or 1.0)
        if 0.9 <= pace <= 1.1:
            return "works at a typical pace"
        takes = round(20 / pace)
        if pace > 1:
            return f"works faster than typical: a 20-minute activity takes them about {takes} minutes"
        return f"needs more time than typical: a 20-minute activity takes them about {takes} minutes"

    def language_name(self, code: str | None) -> str:
        try:
            return Locale.parse((code or "en").replace("-", "_")).get_display_name("en") or code or ""
        except (ValueError, TypeError):
            return code or ""

    def model(self, tag: str) -> str:
        return MODEL_WORDS.get(tag, tag.replace("_", " "))

    # ------------------------------------------------------------------ reasons
    def need(self, item: dict[str, Any]) -> str:
        """The reason of one "who needs me today" entry, in words."""
        cat, title = item["category"], item.get("skill_title", "")
        when = self.ago(item.get("last_at")) if item.get("last_at") else ""
        if cat == "not_started":
            return "No answers recorded yet."
        if cat == "struggling":
            fell = item.get("fell")
            parts = []
            if item.get("wrong", 0) >= 2:
                parts.append(f"{item['wrong']} of their last {item['answers']} answers were wrong")
            if fell:
                parts.append(f"'{title}' fell from {self.chance(fell['from'])} to {self.chance(fell['to'])}")
            elif title:
                parts.append(f"most on '{title}'")
            return _sentence("; ".join(parts) + (f" (last practised {when})" if when else ""))
        if cat == "stalled":
            return _sentence(f"no progress over their last {item['sessions']} sessions; working on "
                             f"'{title}' ({self.chance(item.get('p'))}), last practised {when}")
        nxt = f"; next: '{item['next_title']}'" if item.get("next_title") else ""
        return _sentence(f"has mastered '{title}' (last practised {when}){nxt}")

    def plain_reason(self, reason: str) -> str:
        """The planner's sentence for the teacher (module doc): the item's title head dropped,
        mastery as chances, days as "3 weeks ago", "they" instead of "you"."""
        text = _HEAD.sub("", reason or "", count=1)

        def gain(m: re.Match) -> str:
            a, b = self.chance(float(m[1])), self.chance(float(m[2]))
            return (f"chance of mastery should grow from {a} to {b}" if a != b
                    else f"should help a little (chance of mastery {a})")

        text = _GAIN.sub(gain, text)
        text = _ALREADY.sub("already mastered: practice keeps it fresh", text)
        text = _LITTLE.sub(lambda m: f"little expected gain (chance of mastery {self.chance(float(m[1]))})", text)
        text = _DAYS.sub(lambda m: "last practised " + self.ago(self.now - timedelta(days=float(m[1]))), text)
        text = _PREREQ.sub(r"\1", text)  # prerequisites are mastered: their numbers say nothing more
        text = _DECIMAL.sub(lambda m: self.chance(float(m[0])) if float(m[0]) <= 1 else f"{float(m[0]):.0f}", text)
        text = _CODE.sub(lambda m: m[0].replace("_", " "), text)  # hands_on -> hands on
        for pat, repl in _PRONOUNS:
            text = pat.sub(repl, text)
        return _sentence(text)

    def short_reason(self, reason: str) -> str:
        return short_reason(self.plain_reason(reason))

    # ------------------------------------------------------------------ the student's voice
    @staticmethod
    def rating(r: int | None) -> str:
        """A self-rating in the student's words: '"mostly" (3 of 4)'."""
        if r not in RATING_WORDS:
            return "no rating"
        return f"\u201c{RATING_WORDS[r]}\u201d ({r} of 4)"

    @staticmethod
    def field_name(name: str) -> str:
        return VOICE_FIELDS.get(name, name.replace("_", " ").capitalize())

    @staticmethod
    def writer(set_by: str | None, author: str | None = None) -> str:
        """"the student (Ana Diaz)", "the family (Ms. Family)"."""
        who = WRITERS.get(set_by or "", (set_by or "someone").replace("_", " "))
        return f"{who} ({author})" if author and author not in (set_by, "system") else who

    def voice_sign(self, v: dict | None) -> str:
        """The card's sign since the playlist was made: "made a choice · rated 2 activities, last "mostly""."""
        if not v:
            return ""
        parts = []
        if v["chose"]:
            parts.append(f"made {v['chose']} choices" if v["chose"] > 1 else "made a choice")
        if v["rated"]:
            last = RATING_WORDS.get(v["last_rating"], "")
            n = v["rated"]
            parts.append(f"rated {n} {'activity' if n == 1 else 'activities'}" + (f", last \u201c{last}\u201d" if last else ""))
        return " · ".join(parts)


def short_reason(text: str, clauses: int = 2) -> str:
    """The first ``clauses`` clauses (split at "; ") of a plain reason: why and the expected
    gain, for the class page's cards (the learner page shows the whole sentence)."""
    parts = text.rstrip(".").split("; ")
    return _sentence("; ".join(parts[:clauses]))


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith(".") else text + "."


_HEAD = re.compile(r"^'.+?' \(\d+(?:\.\d+)? min, [^)]*\): ")
_GAIN = re.compile(r"expected mastery (\d\.\d+) → (\d\.\d+)")
_ALREADY = re.compile(r"mastery already \d\.\d+: practice to keep it")
_LITTLE = re.compile(r"little expected gain \(mastery (\d\.\d+)\)")
_DAYS = re.compile(r"last practised (\d+(?:\.\d+)?) days ago")
_PREREQ = re.compile(r"('[^']+') \((?:0|1)\.\d+\)")
_DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")
_CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
_PRONOUNS = [(re.compile(p), r) for p, r in (
    (r"\byou are\b", "they are"), (r"\byou have\b", "they have"), (r"\byour\b", "their"),
    (r"\byou like\b", "they like"), (r"\byou prefer\b", "they prefer"), (r"\bfor you\b", "for them"),
    (r"\bYou\b", "They"), (r"\byou\b", "they"))]

MODEL_WORDS = {"station_rotation": "station rotation", "lab_rotation": "lab rotation",
               "individual_rotation": "individual rotation", "flipped": "flipped classroom",
               "flex": "flex", "a_la_carte": "à la carte", "enriched_virtual": "enriched virtual"}
