"""The content safety guard: is this text fit to post on X from a gaming account?

X's weighted length lives in :mod:`xbot.x_text`; this module judges content.
:class:`SafetyGuard` turns a text into a :class:`Verdict`. It holds no mutable state and every
regex here is a compiled, flag-free pattern used through ``finditer``/``search``, so the same
text gives the same verdict whatever was checked before (the Node guard's ``/g`` regexes kept
state between calls and verdicts flipped).

Content categories (harassment, self-harm, profanity and slurs, scams, selling, phishing,
engagement bait) are matched by :mod:`xbot.safety_rules` on the folded text of
:mod:`xbot.text_fold`, so "k y s", "ni66er", "f*cking", "ѕсаm" (Cyrillic) and "v-bux" are seen
for what they are. This module adds what needs the raw text: input sanity, control and invisible
characters, X's length, hashtags, PII, shouting/stretching shapes and near duplicates; and the
allowlist that lets an operator fix a false positive without code.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from xbot import safety_rules
from xbot.text_fold import visible
from xbot.x_text import MAX_WEIGHTED_LENGTH, TRANSFORMED_URL_LENGTH, parse_length

if TYPE_CHECKING:
    from xbot.candidates.prep import NearDuplicateIndex
    from xbot.flags import Flags
    from xbot.settings import Settings

Risk = Literal["low", "medium", "high"]

#: Inputs longer than this are refused before any pattern runs (a post is at most a few KB).
MAX_INPUT_CHARS = 10_000
#: X accepts image alt text up to this many characters.
MAX_ALT_TEXT_CHARS = 1000

# -- PII and spam shapes --------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_DOT = r"\s*(?:\[\.\]|\(\.\)|\[dot\]|\(dot\)|\{dot\}|\s+dot\s+|\.)\s*"
#: "jake at gmail dot com", "jake[at]gmail[.]com": an address written to dodge filters.
_EMAIL_SPELLED_RE = re.compile(
    r"(?<![\w.+-])[\w.+-]{2,}"
    r"(?:\s*(?:\[at\]|\(at\)|\{at\}|<at>)\s*[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"  # jake[at]gmail.com
    rf"|\s+at\s+(?:gmail|googlemail|yahoo|outlook|hotmail|live|msn|icloud|aol|proton|protonmail|gmx|"
    rf"yandex|mail|web|zoho)|\s+at\s+[A-Za-z0-9-]+(?=\s*(?:\[\.\]|\(\.\)|\[dot\]|\(dot\)|\s+dot\s+)))"
    rf"(?:{_DOT}[A-Za-z0-9-]+)*{_DOT}"
    r"(?:com|net|org|io|me|gg|de|co|uk|fr|nl|es|it|ru|pl|se|ca|au|us|edu|info)\b",
    re.IGNORECASE,
)
#: A US social security number (3-2-4 digits with dashes) and an IBAN (checked by mod 97).
_SSN_RE = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
#: An ID number named as one: "SSN 912-44-3071", "social security no. 123456789".
_NAMED_ID_RE = re.compile(
    r"\b(?:ssn|social security(?: number| no\.?| #)?|national insurance(?: number| no\.?)?|nino|"
    r"passport(?: number| no\.?| #)?|driver'?s licen[cs]e(?: number| no\.?| #)?|tax id|itin|"
    r"aadhaar|sin number|personnummer)\s*[:#=]?\s*(?:is\s+)?[A-Z0-9]{0,2}\d[\d -]{5,12}\d",
    re.IGNORECASE,
)
#: A date of birth written out: "DOB 14/03/1999", "born on 1999-03-14".
_DOB_RE = re.compile(
    r"\b(?:dob|d\.o\.b\.?|date of birth|born on|birthday is)\s*[:=-]?\s*"
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2})",
    re.IGNORECASE,
)
_IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
#: Someone's street address: "my address is 42 Elm Street", "he lives at 9 Oak Rd". A venue
#: in an event post ("the LAN is at 500 Main Street") is public, so a home word must lead in.
_STREET_RE = re.compile(
    r"(?i:\b(?:address|addy)(?: is|:| =)|\blives? (?:at|on)|\bliving at|\bstay(?:s|ing)? at|"
    r"\b(?:home|house|apartment|flat) is (?:at|on))\s+\d{1,5}[A-Za-z]? (?:[A-Z][a-z]+ ){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|"
    r"Boulevard|Blvd|Court|Ct|Way|Place|Pl|Terrace|Close|Crescent|Parkway|Pkwy|Highway|Hwy)\b\.?"
    r"(?=[\s,.]|$)"
)
_PHONE_RE = re.compile(r"(?<![\w+])\+?\(?\d[\d ()./-]{7,18}\d(?!\w)")
#: Words right before a long number that say what it is when it is no phone number.
_NOT_A_PHONE_RE = re.compile(
    r"\b(?:build|version|ver|v|patch|changelog|console id|device id|serial(?: number| no\.?)?|"
    r"order(?: number| no\.?| #)?|ticket|match id|match|replay(?: id)?|seed|lobby|game id|"
    r"steam ?id|player id|uid|id)\s*[:#=]?\s*$",
    re.IGNORECASE,
)
#: Words that make a long number a card number even when its check digit is wrong.
_CARD_WORDS_RE = re.compile(
    r"\b(?:cvv|cvc|cvv2|exp(?:iry|ires)?|expiration|card(?: number| no\.?)?)\b", re.I
)
#: A street address in the continental European shape: "Calle de Alcalá 125, 28009 Madrid".
_EU_STREET_RE = re.compile(
    r"\b(?:calle|avenida|avda|rue|boulevard|strasse|straße|str|gasse|weg|allee|platz|via|viale|"
    r"piazza|corso|rua|travessa|straat|laan|gracht|ulica|ul)\.?\s+(?:(?:de|del|la|des|du|di|da|do|"
    r"der|van)\s+)?[A-ZÀ-Ý][\w'-]+(?:\s+[A-ZÀ-Ý][\w'-]+)?\s+\d{1,4}[a-zA-Z]?\b.{0,20}?\b\d{4,5}\s+[A-ZÀ-Ý]",
    re.IGNORECASE,
)
#: The number-first European shape: "22 Rue des Lilas, 75011 Paris".
_FR_STREET_RE = re.compile(
    r"\b\d{1,4},?\s+(?:rue|avenue|boulevard|chemin|all[ée]e|impasse|quai|place|via|calle)\s+"
    r"(?:(?:de|des|du|la|le|di|del|de la)\s+)?[A-ZÀ-Ý][\w'-]+.{0,20}?\b\d{4,5}\s+[A-ZÀ-Ý]",
    re.IGNORECASE,
)
#: Someone's IP address given out: "his IP is 203.0.113.57" (a server's "connect to" is not).
_PERSON_IP_RE = re.compile(
    r"\b(?:his|her|their|your|ur|the \w+'?s|my)\s+(?:home\s+|real\s+)?ip(?:\s+address)?\s*(?:is|:|=)?\s*"
    r"\d{1,3}(?:\.\d{1,3}){3}\b",
    re.IGNORECASE,
)
_CARD_RE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_URL_CRED_RE = re.compile(
    r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,31}://[^\s/:@]+:[^\s/@]+@", re.IGNORECASE
)
_API_KEY_RE = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|"
    r"xox[abprs]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20}|"
    # Discord bot/user tokens (id.timestamp.hmac) and JWTs
    r"[MN][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{25,}|"
    r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}|"
    # Twitch chat tokens, SendGrid keys, Stripe keys, PEM private keys
    r"oauth:[a-z0-9]{30}|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{20,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,})"
    r"|-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY"
)
#: A password or login written out: "password: Hunter2!", "my login is max_99 / Passw0rd!".
_CREDENTIALS_RE = re.compile(
    r"\b(?:password|passwort|passwd|pass ?word|pwd|pw|pass|login|log-in|creds|credentials|pin)"
    r"(?:\s+(?:is|was|=|:)|\s*[:=])\s*['\"]?(?P<value>[^\s'\"]{3,})"
    r"(?:\s*[/|:]\s*(?P<second>[^\s'\"]{4,}))?",
    re.IGNORECASE,
)
#: A login and its password side by side: "login: user gamer77 pass Dragon!2011".
_CREDENTIAL_PAIR_RE = re.compile(
    r"\b(?:user|username|user name|login|acc|account|email|e-mail|id)\s*[:=]?\s*[^\s]{3,}[\s,;/|]+"
    r"(?:pass|password|passwd|pw|pwd)\s*[:=]?\s*[^\s]{4,}",
    re.IGNORECASE,
)
_TOKEN_LIKE_RE = re.compile(r"(?<![\w/.#@\uff03-])[A-Za-z0-9_-]{32,}(?![\w/.-])")
_WORDISH_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
#: yyyymmddhhmm[ss]: a match id or log stamp, not a card number that happens to pass Luhn.
_TIMESTAMP_RE = re.compile(
    r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?:[01]\d|2[0-3])[0-5]\d(?:[0-5]\d)?"
)
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_DATE_RE = re.compile(
    r"(?:19|20)\d\d[ ./-]?(?:0?[1-9]|1[0-2])[ ./-]?(?:0?[1-9]|[12]\d|3[01])"
    r"(?:[ T]+(?:[01]?\d|2[0-3])[ :.h]?[0-5]\d(?:[ :.][0-5]\d)?)?"
    r"|(?:0?[1-9]|[12]\d|3[01])[./-](?:0?[1-9]|1[0-2])[./-](?:19|20)\d\d"
    r"(?:[ T]+(?:[01]?\d|2[0-3])[ :.h]?[0-5]\d)?"
)
_CAPS_RUN_RE = re.compile(r"(?:\b[A-Z][A-Z0-9']+\b[\W_]*){5,}")
_REPEAT_RE = re.compile(r"([^\W\d_])\1{4,}")
_PUNCT_RUN_RE = re.compile(r"[!?.,*~]{4,}")
_HASHTAG_RE = re.compile(r"(?<![\w&])[#\uff03]([^\W\d_][\w]*|\d+[^\W\d_][\w]*)")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _iban_ok(candidate: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 is 1."""
    iban = candidate.replace(" ", "")
    if not 15 <= len(iban) <= 34:
        return False
    number = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(number) % 97 == 1


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
    "control_characters": "high",
    "harassment": "high",
    "self_harm": "high",
    "profanity": "high",
    "scam": "high",
    "selling": "high",
    "phishing": "high",
    "spam_phrase": "high",
    "pii_email": "high",
    "pii_phone": "high",
    "pii_card": "high",
    "pii_id": "high",
    "pii_address": "high",
    "credential_in_url": "high",
    "credentials": "high",
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
        allowlist: Path | None = None,
        block_url_shorteners: bool = False,
    ) -> None:
        """``allowlist`` is an operator's file of phrases and names to let through (one per
        line, same format as xbot/data/safety/allowlist.txt); it is read here, once, so a
        missing file fails at construction with a clear error, not on some later post.
        ``block_url_shorteners`` refuses links through the shorteners in url_shorteners.txt."""
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
        self.allowlist_path = allowlist
        self.block_url_shorteners = bool(block_url_shorteners)
        self._allowlist = safety_rules.read_allowlist(allowlist) if allowlist else ()

    @classmethod
    def from_flags(cls, flags: Flags, settings: Settings | None = None) -> SafetyGuard:
        """The guard configured from ``bot_config`` (max_hashtags, near_duplicate_threshold)
        and, when given, the process settings (XBOT_SAFETY_ALLOWLIST,
        XBOT_SAFETY_BLOCK_SHORTENERS)."""
        return cls(
            max_hashtags=flags.max_hashtags,
            near_duplicate_threshold=flags.near_duplicate_threshold,
            allowlist=settings.safety_allowlist if settings else None,
            block_url_shorteners=settings.safety_block_shorteners if settings else False,
        )

    def config(self) -> dict[str, Any]:
        """What the guard checks, for ``xbot safety config`` (the runbook's getConfig)."""
        terms = safety_rules.terms()
        return {
            "max_length": self.max_length,
            "url_length": TRANSFORMED_URL_LENGTH,
            "max_hashtags": self.max_hashtags,
            "near_duplicate_threshold": self.near_duplicate_threshold,
            "max_input_chars": MAX_INPUT_CHARS,
            "profanity_terms": len(terms.profanity),
            "profanity_source": "better-profanity wordlist minus xbot/data/safety/allowed_terms.txt"
            ", plus profanity_extra.txt and profanity_roots.txt",
            "spam_terms": len(terms.spam),
            "allowlist_shipped": len(safety_rules.shipped_allowlist()),
            "allowlist_operator": str(self.allowlist_path) if self.allowlist_path else "none",
            "allowlist_operator_phrases": len(self._allowlist),
            "block_url_shorteners": self.block_url_shorteners,
            "checks": sorted(SEVERITY),
        }

    def validate(
        self,
        text: object,
        tags: object = (),
        *,
        recent: NearDuplicateIndex | None = None,
        alt_text: str | None = None,
    ) -> Verdict:
        """Judge ``text`` (with attached ``tags``). Never raises on bad input: refuses it.

        ``recent`` is an index of recent posts (see :class:`xbot.candidates.prep.NearDuplicateIndex`);
        when given, a text substantially similar to one of them is refused as ``near_duplicate``.
        ``alt_text`` is an attached image's description: it is judged by the same content, PII
        and character rules (its reasons say "alt text:"), and may be at most 1000 characters.
        """
        problem = _input_problem(text, tags) or _alt_text_problem(alt_text)
        if problem:
            return _verdict([("invalid_input", problem)])
        assert isinstance(text, str)
        tag_list = [str(t) for t in tags]  # type: ignore[union-attr]
        reasons: list[tuple[str, str]] = []

        if not _has_visible_base(text):
            what = "empty or only whitespace" if not text.strip() else "only invisible characters"
            return _verdict([("empty", f"text is {what}")])
        reasons.extend(_control(text))
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
        reasons.extend(self._content(text + "\n" + " ".join(tag_list)))
        reasons.extend(_pii(text))
        reasons.extend(self._spam_shapes(text))
        if alt_text:
            if len(alt_text) > MAX_ALT_TEXT_CHARS:
                reasons.append(
                    (
                        "too_long",
                        f"alt text is {len(alt_text)} characters; at most {MAX_ALT_TEXT_CHARS}",
                    )
                )
            alt = _control(alt_text) + self._content(alt_text) + _pii(alt_text)
            reasons.extend((code, f"alt text: {detail}") for code, detail in alt)
        if recent is not None:
            match = recent.most_similar(text)
            if match is not None and match[1] >= self.near_duplicate_threshold:
                reasons.append(
                    ("near_duplicate", f"similarity {match[1]:.2f} to recent post {match[0][:12]}")
                )
        return _verdict(reasons)

    def _content(self, text: str) -> list[tuple[str, str]]:
        return safety_rules.content_reasons(
            text, allowlist=self._allowlist, block_shorteners=self.block_url_shorteners
        )

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


def _alt_text_problem(alt_text: object) -> str | None:
    if alt_text is None or (isinstance(alt_text, str) and not _SURROGATE_RE.search(alt_text)):
        return None
    if isinstance(alt_text, str):
        return "alt text has a lone surrogate; it is not valid Unicode"
    return f"alt_text is {type(alt_text).__name__}; a str or None is required"


#: Character categories that show nothing on their own: combining marks (they need a base
#: letter), separators, controls, private-use and unassigned code points.
_NOT_A_BASE = frozenset({"Mn", "Me", "Zs", "Zl", "Zp", "Cc", "Co", "Cn"})


def _has_visible_base(text: str) -> bool:
    """Whether a reader would see anything: a base character that is neither invisible nor a
    combining mark ("\u0301\u0308" alone renders as nothing, like zero-width spaces)."""
    return any(unicodedata.category(c) not in _NOT_A_BASE for c in visible(text))


def _control(text: str) -> list[tuple[str, str]]:
    m = _CONTROL_RE.search(text)
    if not m:
        return []
    return [
        (
            "control_characters",
            f"control character U+{ord(m.group(0)):04X} at index {m.start()}"
            " (only tab and newline are allowed)",
        )
    ]


def _looks_like_words(token: str) -> bool:
    """A CamelCase hashtag or name ("GamingTournamentChampionship2025Finals") rather than a key:
    it splits into few, long word/number pieces, where a random key splits into many short ones."""
    pieces = _WORDISH_RE.findall(token)
    return bool(pieces) and len(token) / len(pieces) >= 4 and "".join(pieces) == token


def _looks_secret(m: re.Match[str]) -> bool:
    """The value after "password is" looks like one: mixed letters with digits or symbols
    ("Passw0rd!2024"), or a "user / password" pair. "the password is in the quest log" is not."""
    value, second = m.group("value"), m.group("second")
    if second:
        return True
    has_letter = bool(re.search(r"[A-Za-z]", value))
    has_other = bool(re.search(r"[\d\W_]", value.rstrip(".,;!?")))
    return has_letter and has_other


def _pii(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if _EMAIL_RE.search(text) or _EMAIL_SPELLED_RE.search(text):
        out.append(("pii_email", "an e-mail address"))
    if _SSN_RE.search(_DATE_RE.sub(" ", text)) or _NAMED_ID_RE.search(text):
        out.append(("pii_id", "a social security or other ID number"))
    elif _DOB_RE.search(text):
        out.append(("pii_id", "a date of birth"))
    elif any(_iban_ok(m.group(0)) for m in _IBAN_RE.finditer(text)):
        out.append(("pii_id", "an IBAN"))
    if (
        _STREET_RE.search(text)
        or _EU_STREET_RE.search(text)
        or _FR_STREET_RE.search(text)
        or _PERSON_IP_RE.search(text)
    ):
        out.append(("pii_address", "a street address"))
    if _URL_CRED_RE.search(text):
        out.append(("credential_in_url", "a URL with user:password@"))
    if any(_looks_secret(m) for m in _CREDENTIALS_RE.finditer(text)) or _CREDENTIAL_PAIR_RE.search(
        text
    ):
        out.append(("credentials", "a password or login written out"))
    if _API_KEY_RE.search(text):
        out.append(("api_key", "a token shaped like an API key"))
    else:
        for m in _TOKEN_LIKE_RE.finditer(text):
            tok = m.group(0)
            if re.search(r"\d", tok) and re.search(r"[A-Za-z]", tok) and not _looks_like_words(tok):
                out.append(("api_key", "a long random-looking token"))
                break
    card_words = bool(_CARD_WORDS_RE.search(text))
    for m in _CARD_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if (
            13 <= len(digits) <= 19
            and (_luhn_ok(digits) or card_words)
            and not _TIMESTAMP_RE.fullmatch(digits)
        ):
            out.append(("pii_card", f"a Luhn-valid card number ending {digits[-4:]}"))
            break
    undated = _DATE_RE.sub(" ", text)
    for m in _PHONE_RE.finditer(undated):
        digits = re.sub(r"\D", "", m.group(0))
        if _NOT_A_PHONE_RE.search(undated[max(0, m.start() - 24) : m.start()]):
            continue  # "build 1712345678", "console ID 0218-7734-0042"
        if 10 <= len(digits) <= 15 and not (len(digits) >= 13 and _luhn_ok(digits)):
            out.append(("pii_phone", "a phone number"))
            break
    return out
