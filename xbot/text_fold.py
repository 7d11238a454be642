"""Fold a post to what a reader sees, so that no spelling trick hides a word from the guard.

The pipeline, in order (each step defeats one family of evasions):

1. NFKC: full-width, ligatures, mathematical alphabets ("𝐟𝐮𝐜𝐤") become plain letters.
2. Format characters (``Cf``: zero-width space/joiner, bidi marks, soft hyphen) and variation
   selectors are dropped, so "k\u200by\u200bs" reads "kys".
3. Casefold, then Unicode TR39 confusables folded to Latin (Cyrillic "ѕсаm", Greek "ορ") from
   the table that ``confusable-homoglyphs`` ships (MIT; generated from Unicode's
   confusables.txt), plus a few look-alikes TR39 maps elsewhere (Cyrillic "ы", "з").
4. Accents stripped (NFD, combining marks dropped).
5. Tokens: runs of letters, digits and the symbols people type for letters. Apostrophes vanish
   ("assassin's" -> "assassins"); a leading ``#``/``@`` (hashtag, mention) is dropped.
6. Leetspeak: in a token that has a letter, digits and symbols become letters ("ni66er",
   "$h1t", "k!ll"), and 1, | and ! are also read as "l" ("ki11"); digits alone, numbers with
   units ("10k") and product codes ("ps5") stay as written (dates, scores, patch numbers).
   ``*`` and an inner ``#`` stay as a wildcard mark, resolved against the term lists later.
7. Runs of three or more of one character are cut to two ("fuuuuck" -> "fuuck",
   "asssss" -> "ass"); matchers also compare fully squeezed forms for stretched tokens. A run
   of ``*`` keeps its length, since each star hides one letter ("motherf***er", "n***a").
8. Three or more single-character tokens in a row are joined ("k y s", "f.u.c.k").

:func:`fold` returns the token sequence; matchers work on ``" ".join(tokens)``.
"""

from __future__ import annotations

import functools
import json
import re
import string
import unicodedata
from dataclasses import dataclass
from importlib import resources

#: Look-alikes that TR39 does not fold to a Latin letter but that people use as one.
_EXTRA_CONFUSABLES = {
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "μ": "u", "ς": "s",
    "ы": "bi", "з": "3", "ч": "4", "п": "n", "г": "r", "л": "n", "д": "a", "я": "r", "ц": "u",
    "и": "u", "ш": "w", "щ": "w", "ь": "b", "ъ": "b", "λ": "a", "δ": "d", "σ": "o", "ø": "o",
    "ł": "l", "đ": "d", "ß": "ss", "ƒ": "f", "ŧ": "t", "ħ": "h", "ƙ": "k", "ɍ": "r", "ꞩ": "s", "þ": "p", "æ": "ae", "œ": "oe", "¥": "y", "ʏ": "y",
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i",
    "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s",
    "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ᴢ": "z",
    # regional indicator symbols ("🇰🇾🇸" is how some write k-y-s with flags' letters)
    **{chr(0x1F1E6 + i): chr(ord("a") + i) + " " for i in range(26)},
}  # fmt: skip
#: Leetspeak: what a digit or symbol stands for inside a word.
LEET = str.maketrans(
    {"0": "o", "1": "i", "2": "z", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b",
     "9": "g", "@": "a", "$": "s", "|": "i", "!": "i", "+": "t", "€": "e", "£": "l", "¢": "c",
     "#": "*"}
)  # fmt: skip
#: The second reading of the ambiguous leetspeak digits ("ki11" is "kill", "sh1t" is "shit").
LEET_L = str.maketrans({"1": "l", "|": "l", "!": "l"})
_TOKEN_RE = re.compile(r"[a-z0-9*#@$|!+€£¢]+")
_APOSTROPHES_RE = re.compile(r"(?<=[a-z0-9])['’‘`´](?=[a-z])")
_RUN3_RE = re.compile(r"([^*])\1{2,}")  # a run of mask stars keeps its length: one per letter
_RUN2_RE = re.compile(r"(.)\1+")
_HAS_LETTER_RE = re.compile(r"[a-z]")
_L_DIGITS_RE = re.compile(r"[1|!]")
_NUMBER_WITH_UNIT_RE = re.compile(
    r"\d+(?:[.,]\d+)?(?:k|m|b|x|hz|fps|gb|tb|mb|st|nd|rd|th|s|p|mm|ms|h|hrs?|min|kg|km|am|pm|v\d+|vs\d+)"
    # product and game codes: ps5, cs2, mw3, bf6, gta6, fc25, rtx4090
    r"|(?:ps|cs|mw|bf|bo|gta|fifa|fc|nba|nhl|xbox|wii|rtx|gtx|rx|dota|sf|mk|re|ff|tf|l4d)\d{1,4}"
    # two-factor codes stay themselves ("2fa" is no leetspeak "zfa")
    r"|2fa|2fa\w*"
)


@functools.cache
def _confusables() -> dict[int, str]:
    """Code point -> Latin letter/digit, from the TR39 table shipped by confusable-homoglyphs."""
    import confusable_homoglyphs

    data = json.loads(
        resources.files(confusable_homoglyphs).joinpath("confusables.json").read_text("utf-8")
    )
    table: dict[int, str] = {}
    # Digits first, so that a character confusable with both "o" and "0" folds to the letter.
    for target in string.digits + string.ascii_letters:
        for entry in data.get(target, ()):
            glyph = entry["c"]
            if len(glyph) == 1 and not glyph.isascii():
                table[ord(glyph)] = target.lower()
    table.update({ord(k): v for k, v in _EXTRA_CONFUSABLES.items()})
    return table


#: Letters and marks that draw nothing: Hangul fillers, the Braille blank, the combining
#: grapheme joiner, Khmer inherent vowels. People post them as "empty" text or to split words.
BLANK_LOOKALIKES = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180e")


def visible(text: str) -> str:
    """NFKC text without format characters, variation selectors and blank look-alikes (what a
    reader can see)."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(
        c
        for c in text
        if unicodedata.category(c) != "Cf"
        and not ("\ufe00" <= c <= "\ufe0f")
        and c not in BLANK_LOOKALIKES
    )


def skeleton(text: str) -> str:
    """Steps 1-4: visible, casefolded, confusables folded to Latin, accents stripped."""
    text = visible(text).casefold().translate(_confusables())
    text = unicodedata.normalize("NFD", text)
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


def fold_token(token: str) -> str:
    """Steps 6-7 for one raw token (already skeletonised); "" when nothing is left."""
    token = token.lstrip("#@").rstrip("!|+")
    # Leetspeak only inside words: digits alone (a date, a score) stay digits, and so does a
    # number with a unit ("10k", "144hz", "1v1", "1080p", "3rd").
    if _NUMBER_WITH_UNIT_RE.fullmatch(token):
        return token
    token = token.translate(LEET) if _HAS_LETTER_RE.search(token) else re.sub(r"\D", "", token)
    return _RUN3_RE.sub(r"\1\1", token)


def squeeze(token: str) -> str:
    """Every run of one character cut to one ("fuuck" -> "fuck", "nigger" -> "niger")."""
    return _RUN2_RE.sub(r"\1", token)


def _join_letters(tokens: list[str]) -> list[str]:
    """Step 8: three or more one-character tokens in a row become one token."""
    out: list[str] = []
    run: list[str] = []
    for tok in tokens:
        if len(tok) == 1:
            run.append(tok)
            continue
        out.extend([_joined(run)] if len(run) >= 3 else run)
        run = []
        out.append(tok)
    out.extend([_joined(run)] if len(run) >= 3 else run)
    return out


def _joined(run: list[str]) -> str:
    """Letters typed apart, joined; digits among letters read as leetspeak ("k y 5")."""
    word = "".join(run)
    return word.translate(LEET) if _HAS_LETTER_RE.search(word) else word


@dataclass(frozen=True)
class Folded:
    """A folded text: its ``tokens`` after the whole pipeline."""

    tokens: tuple[str, ...]
    #: The same tokens with 1, | and ! read as "l" where the text had them (None if none).
    l_tokens: tuple[str, ...] | None = None


def fold(text: str) -> Folded:
    """The whole pipeline (module docstring) applied to ``text``."""
    skel = _APOSTROPHES_RE.sub("", skeleton(text))
    raw = _TOKEN_RE.findall(skel)
    tokens = tuple(_join_letters([t for t in map(fold_token, raw) if t]))
    if not any(_HAS_LETTER_RE.search(t) and _L_DIGITS_RE.search(t) for t in raw):
        return Folded(tokens)
    read_l = [
        fold_token(t.translate(LEET_L))
        if _HAS_LETTER_RE.search(t) and not _NUMBER_WITH_UNIT_RE.fullmatch(t.lstrip("#@"))
        else t
        for t in raw
    ]
    return Folded(tokens, tuple(_join_letters([t for t in map(fold_token, read_l) if t])))


def fold_phrase(phrase: str) -> tuple[str, ...]:
    """A listed term or phrase folded like a text, so list and text meet on the same key."""
    return fold(phrase).tokens
