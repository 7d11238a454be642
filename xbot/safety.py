"""The content safety guard: is this text fit to post on X from a gaming account?

X's weighted length lives in :mod:`xbot.x_text`; this module judges content.
:class:`SafetyGuard` turns a text into a :class:`Verdict`. It holds no mutable state and every
regex here is a compiled, flag-free pattern used through ``finditer``/``search``, so the same
text gives the same verdict whatever was checked before (the Node guard's ``/g`` regexes kept
state between calls and verdicts flipped).

Banned terms are matched on a *skeleton* of the text (NFKC, zero-width characters dropped,
confusable letters folded to Latin, accents stripped, casefolded, leetspeak mapped) and on token
n-grams of it, so "scam!", "SC4M", "s\u200bcam", "ѕсаm" (Cyrillic) and "link in bio" all
match; whitespace-split words (the first implementation) matched none of them.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from xbot.x_text import MAX_WEIGHTED_LENGTH, TRANSFORMED_URL_LENGTH, parse_length

if TYPE_CHECKING:
    from xbot.candidates.prep import NearDuplicateIndex
    from xbot.flags import Flags

Risk = Literal["low", "medium", "high"]

#: Inputs longer than this are refused before any pattern runs (a post is at most a few KB).
MAX_INPUT_CHARS = 10_000

# -- text skeleton for banned-term matching -----------------------------------------------------

_CONFUSABLES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i",
        "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ь": "b", "ы": "bi", "һ": "h", "ӏ": "l",
        "з": "3", "ч": "4", "п": "n", "г": "r", "л": "n", "д": "a", "я": "r", "ц": "u",
        # Greek
        "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
        "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "μ": "u", "ς": "s",
        "σ": "o", "λ": "a", "δ": "d",
        # Latin look-alikes NFKC keeps
        "ı": "i", "ɡ": "g", "ɑ": "a", "ɩ": "i", "ʟ": "l", "ᴀ": "a", "ʙ": "b", "ᴄ": "c",
        "ᴅ": "d", "ᴇ": "e", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ᴍ": "m",
        "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v",
        "ᴡ": "w", "ʏ": "y", "ᴢ": "z", "ø": "o", "ł": "l", "đ": "d", "ß": "ss",
    }
)  # fmt: skip
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
     "@": "a", "$": "s", "|": "i", "!": "i", "+": "t", "€": "e", "£": "l"}
)  # fmt: skip
_TOKEN_RE = re.compile(r"[\w@$|!+€£]+")
_RUN3_RE = re.compile(r"(.)\1{2,}")


def skeleton(text: str) -> str:
    """Fold ``text`` to what a reader sees: NFKC, no format chars, Latin letters, no accents."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = text.casefold().translate(_CONFUSABLES)
    text = unicodedata.normalize("NFD", text)
    return "".join(c for c in text if unicodedata.category(c) != "Mn")


def _fold_token(token: str) -> str:
    """Leetspeak-map one token after trimming sentence punctuation ("scam!" -> "scam")."""
    token = token.strip("!|+").strip("_")
    return _RUN3_RE.sub(r"\1", token.translate(_LEET))


def tokens(text: str) -> list[str]:
    """Folded tokens of ``text`` (see :func:`skeleton`); empty tokens dropped."""
    out = [_fold_token(t) for t in _TOKEN_RE.findall(skeleton(text))]
    return [t for t in out if t]


def _term_key(term: str) -> str:
    return " ".join(tokens(term))


@functools.cache
def _load_terms() -> tuple[dict[str, str], dict[str, str], int]:
    """(profanity key -> term, spam key -> term, longest key in tokens).

    Keys are folded the same way as the text (:func:`tokens`), so a listed term and its
    leetspeak or confusable spelling meet on the same key. Spam phrases are also keyed written
    together ("link in bio" -> "linkinbio"). Keys of one or two letters are dropped: folded, they
    collide with ordinary words.
    """
    import better_profanity

    def read(text: str) -> list[str]:
        lines = (ln.split("#", 1)[0].strip() for ln in text.splitlines())
        return [ln for ln in lines if ln]

    data = resources.files("xbot").joinpath("data", "safety")
    allowed = {_term_key(t) for t in read(data.joinpath("allowed_terms.txt").read_text("utf-8"))}
    wordlist = resources.files(better_profanity).joinpath("profanity_wordlist.txt")
    profanity: dict[str, str] = {}
    for term in read(wordlist.read_text("utf-8")):
        key = _term_key(term)
        if len(key.replace(" ", "")) > 2 and key not in allowed:
            profanity.setdefault(key, term)
    spam: dict[str, str] = {}
    for term in read(data.joinpath("spam_terms.txt").read_text("utf-8")):
        key = _term_key(term)
        spam.setdefault(key, term)
        spam.setdefault(key.replace(" ", ""), term)
    longest = max(k.count(" ") + 1 for k in (*profanity, *spam))
    return profanity, spam, longest


def _windows(toks: Sequence[str], longest: int) -> Iterable[tuple[str, str]]:
    """(spaced, joined) n-grams up to ``longest`` tokens, plus runs of single letters joined."""
    n = len(toks)
    for i in range(n):
        for size in range(1, min(longest, n - i) + 1):
            window = toks[i : i + size]
            yield " ".join(window), "".join(window)
    i = 0
    while i < n:  # "s c a m" -> "scam"
        j = i
        while j < n and len(toks[j]) == 1:
            j += 1
        if j - i >= 3:
            letters = "".join(toks[i:j])
            for a in range(len(letters)):
                for b in range(a + 3, len(letters) + 1):
                    yield letters[a:b], letters[a:b]
        i = max(j, i + 1)


# -- PII and spam shapes --------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE_RE = re.compile(r"(?<![\w+])\+?\(?\d[\d ()./-]{7,18}\d(?!\w)")
_CARD_RE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_URL_CRED_RE = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@", re.IGNORECASE)
_API_KEY_RE = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|"
    r"xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20})"
)
_TOKEN_LIKE_RE = re.compile(r"(?<![\w/.-])[A-Za-z0-9_-]{32,}(?![\w/.-])")
_CAPS_RUN_RE = re.compile(r"(?:\b[A-Z][A-Z0-9']+\b[\W_]*){5,}")
_REPEAT_RE = re.compile(r"([^\W\d_])\1{4,}")
_PUNCT_RUN_RE = re.compile(r"[!?.,*~]{4,}")
_HASHTAG_RE = re.compile(r"(?<![\w&])[#\uff03]([^\W\d_][\w]*|\d+[^\W\d_][\w]*)")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def hashtags(text: str, tags: Iterable[str] = ()) -> list[str]:
    """Distinct hashtags (casefolded, no '#') written inline plus those attached as ``tags``."""
    seen: dict[str, None] = {}
    for m in _HASHTAG_RE.finditer(unicodedata.normalize("NFKC", text)):
        seen.setdefault(m.group(1).casefold())
    for tag in tags:
        seen.setdefault(tag.lstrip("#\uff03").casefold())
    return list(seen)


@dataclass(frozen=True)
class Verdict:
    """The guard's answer. ``reasons`` are (code, detail) pairs; ``ok`` means none was found."""

    ok: bool
    risk: Risk
    reasons: tuple[tuple[str, str], ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "risk": self.risk, "reasons": [list(r) for r in self.reasons]}


#: Risk of each reason code; a verdict's risk is the highest of its reasons ("low" when none).
SEVERITY: dict[str, Risk] = {
    "invalid_input": "high",
    "banned_term": "high",
    "spam_phrase": "high",
    "pii_email": "high",
    "pii_phone": "high",
    "pii_card": "high",
    "credential_in_url": "high",
    "api_key": "high",
    "empty": "medium",
    "too_long": "medium",
    "invalid_characters": "medium",
    "too_many_hashtags": "medium",
    "shouting": "medium",
    "repeated_characters": "medium",
    "punctuation_run": "medium",
    "near_duplicate": "medium",
}
_RANK = {"low": 0, "medium": 1, "high": 2}


def _verdict(reasons: list[tuple[str, str]]) -> Verdict:
    risk: Risk = "low"
    for code, _ in reasons:
        if _RANK[SEVERITY[code]] > _RANK[risk]:
            risk = SEVERITY[code]
    return Verdict(ok=not reasons, risk=risk, reasons=tuple(reasons))


class SafetyGuard:
    """Checks one post. Configuration is fixed at construction; ``validate`` has no side effects."""

    def __init__(
        self,
        *,
        max_hashtags: int = 3,
        max_length: int = MAX_WEIGHTED_LENGTH,
        near_duplicate_threshold: float = 0.85,
        caps_min_words: int = 5,
    ) -> None:
        from xbot.errors import ValidationError

        if isinstance(max_hashtags, bool) or not isinstance(max_hashtags, int) or max_hashtags < 0:
            raise ValidationError("max_hashtags", max_hashtags, "an integer from 0 up")
        if not isinstance(max_length, int) or not 1 <= max_length <= MAX_WEIGHTED_LENGTH:
            raise ValidationError(
                "max_length", max_length, f"an integer from 1 to {MAX_WEIGHTED_LENGTH}"
            )
        if not 0.0 < float(near_duplicate_threshold) <= 1.0:
            raise ValidationError(
                "near_duplicate_threshold", near_duplicate_threshold, "a number in (0, 1]"
            )
        self.max_hashtags = max_hashtags
        self.max_length = max_length
        self.near_duplicate_threshold = float(near_duplicate_threshold)
        self.caps_min_words = caps_min_words

    @classmethod
    def from_flags(cls, flags: Flags) -> SafetyGuard:
        """The guard configured from ``bot_config`` (max_hashtags, near_duplicate_threshold)."""
        return cls(
            max_hashtags=flags.max_hashtags,
            near_duplicate_threshold=flags.near_duplicate_threshold,
        )

    def config(self) -> dict[str, Any]:
        """What the guard checks, for ``xbot safety config`` (the runbook's getConfig)."""
        profanity, spam, _ = _load_terms()
        return {
            "max_length": self.max_length,
            "url_length": TRANSFORMED_URL_LENGTH,
            "max_hashtags": self.max_hashtags,
            "near_duplicate_threshold": self.near_duplicate_threshold,
            "max_input_chars": MAX_INPUT_CHARS,
            "profanity_terms": len(profanity),
            "profanity_source": "better-profanity wordlist minus xbot/data/safety/allowed_terms.txt",
            "spam_terms": len(spam),
            "checks": sorted(SEVERITY),
        }

    def validate(
        self,
        text: object,
        tags: object = (),
        *,
        recent: NearDuplicateIndex | None = None,
    ) -> Verdict:
        """Judge ``text`` (with attached ``tags``). Never raises on bad input: refuses it.

        ``recent`` is an index of recent posts (see :class:`xbot.candidates.prep.NearDuplicateIndex`);
        when given, a text substantially similar to one of them is refused as ``near_duplicate``.
        """
        problem = _input_problem(text, tags)
        if problem:
            return _verdict([("invalid_input", problem)])
        assert isinstance(text, str)
        tag_list = [str(t) for t in tags]  # type: ignore[union-attr]
        reasons: list[tuple[str, str]] = []

        if not text.strip():
            return _verdict([("empty", "text is empty or only whitespace")])
        info = parse_length(text)
        if info.invalid_characters:
            reasons.append(("invalid_characters", "contains U+FFFE, U+FEFF or U+FFFF"))
        if info.weighted > self.max_length:
            reasons.append(
                ("too_long", f"weighted length {info.weighted} exceeds {self.max_length}")
            )
        found_tags = hashtags(text, tag_list)
        if len(found_tags) > self.max_hashtags:
            reasons.append(
                (
                    "too_many_hashtags",
                    f"{len(found_tags)} hashtags (inline and attached); at most {self.max_hashtags}",
                )
            )
        reasons.extend(_banned(text + " " + " ".join(tag_list)))
        reasons.extend(_pii(text))
        reasons.extend(self._spam_shapes(text))
        if recent is not None:
            match = recent.most_similar(text)
            if match is not None and match[1] >= self.near_duplicate_threshold:
                reasons.append(
                    ("near_duplicate", f"similarity {match[1]:.2f} to recent post {match[0][:12]}")
                )
        return _verdict(reasons)

    def _spam_shapes(self, text: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for m in _CAPS_RUN_RE.finditer(text):
            if len(re.findall(r"[A-Z]{2,}", m.group(0))) >= self.caps_min_words:
                out.append(("shouting", f"all-caps run {m.group(0).strip()[:40]!r}"))
                break
        m = _REPEAT_RE.search(text)
        if m:
            out.append(("repeated_characters", f"{m.group(1)!r} repeated {len(m.group(0))} times"))
        m = _PUNCT_RUN_RE.search(text)
        if m:
            out.append(("punctuation_run", f"punctuation run {m.group(0)!r}"))
        return out


def _input_problem(text: object, tags: object) -> str | None:
    if text is None:
        return "text is None; a str is required"
    if isinstance(text, (bytes, bytearray, memoryview)):
        return f"text is {type(text).__name__}; decode it to str first"
    if not isinstance(text, str):
        return f"text is {type(text).__name__}; a str is required"
    if len(text) > MAX_INPUT_CHARS:
        return f"text is {len(text)} characters; at most {MAX_INPUT_CHARS} are accepted"
    m = _SURROGATE_RE.search(text)
    if m:
        return f"lone surrogate U+{ord(m.group(0)):04X} at index {m.start()}; text is not valid Unicode"
    if isinstance(tags, (str, bytes)) or not isinstance(tags, (list, tuple, set, frozenset)):
        return f"tags is {type(tags).__name__}; a list or tuple of str is required"
    for tag in tags:
        if not isinstance(tag, str) or _SURROGATE_RE.search(tag) or len(tag) > 280:
            return f"tag {tag!r:.40} is not a short str"
    return None


def _banned(text: str) -> list[tuple[str, str]]:
    profanity, spam, longest = _load_terms()
    found: dict[tuple[str, str], None] = {}
    for spaced, joined in _windows(tokens(text), longest):
        if spaced in profanity:
            found.setdefault(("banned_term", f"profanity {profanity[spaced]!r}"))
        for key in (spaced, joined):
            if key in spam:
                found.setdefault(("spam_phrase", f"gaming spam {spam[key]!r}"))
    return list(found)


def _pii(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if _EMAIL_RE.search(text):
        out.append(("pii_email", "an e-mail address"))
    if _URL_CRED_RE.search(text):
        out.append(("credential_in_url", "a URL with user:password@"))
    if _API_KEY_RE.search(text):
        out.append(("api_key", "a token shaped like an API key"))
    else:
        for m in _TOKEN_LIKE_RE.finditer(text):
            tok = m.group(0)
            if re.search(r"\d", tok) and re.search(r"[A-Za-z]", tok):
                out.append(("api_key", "a long random-looking token"))
                break
    for m in _CARD_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            out.append(("pii_card", f"a Luhn-valid card number ending {digits[-4:]}"))
            break
    for m in _PHONE_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 10 <= len(digits) <= 15 and not (len(digits) >= 13 and _luhn_ok(digits)):
            out.append(("pii_phone", "a phone number"))
            break
    return out
