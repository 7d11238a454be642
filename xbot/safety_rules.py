"""The guard's content rules: one matcher per category, each with its own reason code.

Every matcher reads the *folded* text (:mod:`xbot.text_fold`: NFKC, zero-width characters gone,
look-alike letters and leetspeak folded, separators and stretching undone), with the words of
allowlisted phrases taken out first. Categories and codes:

``harassment``  threats and wishes of harm against people, "I know where you live", doxxing and
                swatting incitement. "should die" counts when its subject is a person ("you",
                "that streamer", "people"), not a boss or a character. Found by shape (a wish or
                intent frame, a person, a harm; see "structural threat and self-harm rules").
``self_harm``   directives to hurt oneself: kys in any spelling, "kill yourself", "drink bleach";
                any self-harm act on "yourself", or a directive with a self-harm act.
``profanity``   slurs and profanity (better-profanity's list minus ordinary gaming words, plus
                ours), whole words, inside compounds ("fuckfuckfuck"), masked ("f*ck", "sh#t").
``scam``        free in-game currency or skins, generators, gift/redeem bait, giveaway bait.
``selling``     accounts, cheats and boosting offered for sale.
``phishing``    look-alike brand domains, gift/free-nitro style domains, shorteners if blocked.
``spam_phrase`` engagement bait (follow4follow, link in bio).

A threat-shaped sentence about a game is play: game_context.txt / not_people.txt words as its
subject or in a place/instrument phrase right after it ("I'll find you in the lobby", "the final
boss will end you"), unless real_world.txt words bring it back ("... then at your house").

Why rules and not a model: every verdict can be explained by the rule that fired, an operator
can fix a false positive with a line in a text file, and nothing is downloaded at run time.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from xbot.text_fold import LEET, Folded, fold, fold_phrase, skeleton, squeeze
from xbot.x_text import tlds

Reason = tuple[str, str]
_MASK = "~"

# -- data files -----------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    lines = (ln.split("#", 1)[0].strip() for ln in text.splitlines())
    return [ln for ln in lines if ln]


def _data(name: str) -> list[str]:
    return _lines(resources.files("xbot").joinpath("data", "safety", name).read_text("utf-8"))


@dataclass(frozen=True)
class Terms:
    """The folded term lists. Keys are folded token tuples joined by single spaces."""

    profanity: dict[str, str]  # key -> "profanity 'x'" / "slur 'x'"
    squeezed: dict[str, str]  # squeezed single-token key -> detail (for stretched spellings)
    by_length: dict[int, tuple[str, ...]]  # single-token keys by length (for masked "f*ck")
    roots: tuple[str, ...]
    spam: dict[str, str]
    longest: int


@functools.cache
def terms() -> Terms:
    """Load and fold the shipped lists once (lazily, never at import time)."""
    import better_profanity

    allowed = {" ".join(fold_phrase(t)) for t in _data("allowed_terms.txt")}
    wordlist = resources.files(better_profanity).joinpath("profanity_wordlist.txt")
    entries = [("profanity", t) for t in _lines(wordlist.read_text("utf-8"))]
    for line in _data("profanity_extra.txt"):
        kind, _, word = line.partition(":")
        entries.append(("slur", word.strip()) if word else ("profanity", kind.strip()))
    profanity: dict[str, str] = {}
    words = [(k, t) for k, t in entries if " " not in t]
    entries += [(k, t[:-1]) for k, t in words if t.endswith("ing")]  # "fuckin"
    entries += [(k, t.replace("u", "v")) for k, t in words if "u" in t]  # "cvnt", "fvck"
    for kind, term in entries:
        key = " ".join(fold_phrase(term))
        wanted = len(key.replace(" ", "")) > 1 and key not in allowed
        if wanted and (kind == "slur" or key not in profanity):
            profanity[key] = f"{kind} {term!r}"
    squeezed = {squeeze(k): d for k, d in profanity.items() if " " not in k and len(squeeze(k)) > 3}
    by_length: dict[int, list[str]] = {}
    for key in profanity:
        if " " not in key:
            by_length.setdefault(len(key), []).append(key)
    spam: dict[str, str] = {}
    for term in _data("spam_terms.txt"):
        key = " ".join(fold_phrase(term))
        spam.setdefault(key, term)
        spam.setdefault(key.replace(" ", ""), term)
    keys = (*profanity, *spam)
    return Terms(
        profanity=profanity,
        squeezed=squeezed,
        by_length={n: tuple(v) for n, v in by_length.items()},
        roots=tuple("".join(fold_phrase(r)) for r in _data("profanity_roots.txt")),
        spam=spam,
        longest=max(k.count(" ") + 1 for k in keys),
    )


@functools.cache
def shipped_allowlist() -> tuple[tuple[str, ...], ...]:
    """The folded phrases of xbot/data/safety/allowlist.txt."""
    return tuple(p for p in (fold_phrase(x) for x in _data("allowlist.txt")) if p)


def read_allowlist(path: Path) -> tuple[tuple[str, ...], ...]:
    """Folded phrases of an operator's allowlist file (same format as the shipped one).

    Raises :class:`xbot.errors.ValidationError` naming the file when it cannot be read: a
    missing allowlist the operator asked for must not silently turn into no allowlist.
    """
    from xbot.errors import ValidationError

    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            "safety allowlist", str(path), f"a readable UTF-8 text file ({exc})"
        ) from exc
    return tuple(p for p in (fold_phrase(x) for x in _lines(text)) if p)


def mask_allowed(tokens: Sequence[str], phrases: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """``tokens`` with every occurrence of an allowlisted phrase replaced by a neutral mark."""
    out = list(tokens)
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for p in phrases:
        by_first.setdefault(p[0], []).append(p)
    for i, tok in enumerate(tokens):
        for p in by_first.get(tok, ()):
            if tuple(tokens[i : i + len(p)]) == p:
                out[i : i + len(p)] = [_MASK] * len(p)
    return tuple(out)


# -- profanity and engagement bait ---------------------------------------------------------------


def _masked_match(token: str, t: Terms) -> str | None:
    """A profanity key that ``token`` ("f*ck", "sh*t", "f**king") masks, if exactly one shape fits."""
    pattern = re.compile(re.escape(token).replace(r"\*", "[a-z]"))
    for key in t.by_length.get(len(token), ()):
        if pattern.fullmatch(key):
            return key
    return None


#: Listed words that are also first names, and the titles that show they are used as one.
_NAME_WORDS = frozenset({"dick", "willy", "fanny", "dong", "wang", "johnson", "cox", "peter"})
_TITLES = frozenset(
    [
        "player",
        "players",
        "pro",
        "coach",
        "mr",
        "mrs",
        "ms",
        "sir",
        "captain",
        "capt",
        "detective",
        "officer",
        "uncle",
        "aunt",
        "king",
        "prince",
        "lord",
        "dr",
        "doctor",
        "professor",
        "agent",
        "caster",
        "streamer",
    ]
)


#: Words after a name word that show it names a character: "Fanny main", "Wang build".
_CHARACTER_NEXT = frozenset(
    {"main", "mains", "maining", "skin", "skins", "build", "builds", "combo", "combos", "guide",
     "guides", "nerf", "nerfed", "buff", "buffed", "kit", "ult", "ultimate", "gameplay",
     "cosplay", "tips", "tip", "matchup", "counter", "counters", "rework", "reworked", "diff",
     "player", "players", "pick", "picks", "ban", "banned", "gumshoe"}
)  # fmt: skip

#: Words after "<name> from/in" that make it no character's source ("dick from behind").
_NOT_A_SOURCE = frozenset(
    {"behind", "me", "you", "u", "him", "her", "them", "my", "your", "ur", "his", "their", "ya",
     "yo", "mouth", "ass", "pants", "bed", "hand", "hands"}
)  # fmt: skip


#: Short words that are just words when they follow a single letter ("s it", "a ss" are not masks).
_COMMON_SHORT = frozenset(
    [
        "it",
        "in",
        "on",
        "at",
        "is",
        "as",
        "an",
        "to",
        "up",
        "us",
        "or",
        "of",
        "off",
        "out",
        "me",
        "my",
        "no",
        "so",
        "go",
        "do",
        "he",
        "we",
        "be",
        "by",
        "am",
        "all",
        "and",
        "the",
        "for",
        "you",
        "are",
        "was",
        "its",
        "his",
        "her",
    ]
)


def _gap_masked(window: Sequence[str]) -> bool:
    """Two tokens that may be one word with a letter dropped at a hyphen or space ("f-ck",
    "sh-t", "c nt"): one is a single letter, the other two to four letters and not a word."""
    a, b = window
    return (
        a.isalpha()
        and b.isalpha()
        and ((len(a) == 1 and 2 <= len(b) <= 4) or (len(b) == 1 and 2 <= len(a) <= 4))
        and not ({a, b} & _COMMON_SHORT)
    )


def profanity(tokens: Sequence[str]) -> list[Reason]:
    """Profanity and slurs however spelled; engagement-bait phrases (``spam_phrase``).

    A name word right after a title ("player Dick", "Detective Dick") is a name.
    """
    t = terms()
    found: dict[Reason, None] = {}

    def hit(detail: str) -> None:
        found.setdefault(("profanity", detail))

    n = len(tokens)
    for i, tok in enumerate(tokens):
        if tok == _MASK or (
            tok in _NAME_WORDS
            and (
                (i and tokens[i - 1] in _TITLES) or (i + 1 < n and tokens[i + 1] in _CHARACTER_NEXT)
            )
        ):
            continue
        if (
            tok in _NAME_WORDS
            and i + 2 < n
            and tokens[i + 1] in {"from", "in"}
            and (tokens[i + 2] not in _NOT_A_SOURCE)
        ):
            continue  # "Fanny from Mobile Legends", "Dick in the new Batman game": a character
        if tok in t.profanity:
            hit(t.profanity[tok])
        elif "*" in tok and tok.strip("*"):
            key = _masked_match(tok, t)
            if key:
                hit(t.profanity[key])
        else:
            sq = squeeze(tok)
            if sq != tok and sq in t.squeezed:
                hit(t.squeezed[sq])
            else:
                for root in t.roots:
                    if len(tok) > len(root) and root in tok:
                        hit(f"profanity {root!r} inside {tok!r}")
                        break
        for size in range(2, min(t.longest, n - i) + 1):
            window = tokens[i : i + size]
            if _MASK in window:
                break
            spaced, joined = " ".join(window), "".join(window)
            if spaced in t.profanity:
                hit(t.profanity[spaced])
            # "fu ck", "sh it": a word split in two, one half at most two letters long
            split_word = size == 2 and min(map(len, window)) <= 2 and len(joined) > 3
            if split_word and joined in t.profanity:
                hit(t.profanity[joined])
            elif size == 2 and _gap_masked(window):
                key = _masked_match(window[0] + "*" + window[1], t)
                if key:
                    hit(t.profanity[key])  # "f-ck", "sh t": a letter left out where they split
            for key in (spaced, joined, joined.translate(LEET)):  # "f0ll0w 4 f0ll0w"
                if key in t.spam:
                    found.setdefault(("spam_phrase", f"engagement bait {t.spam[key]!r}"))
        if tok in t.spam:
            found.setdefault(("spam_phrase", f"engagement bait {t.spam[tok]!r}"))
    return list(found)


# -- phrase rules ----------------------------------------------------------------------------------


def _alt(*words: str) -> str:
    return "(?:" + "|".join(words) + ")"


_W = r"(?: [a-z0-9*]+)"  # one more word
_PERSON = _alt(
    "you", "u", "ya", "yall", "yu", "he", "she", "they", "them", "him", "her", "people", "ppl",
    "players?", "devs?", "developers?", "streamers?", "mods?", "moderators?", "admins?", "women",
    "men", "girls?", "guys?", "kids?", "gays?", "jews?", "muslims?", "christians?", "blacks?",
    "whites?", "asians?", "mexicans?", "immigrants?", "trans", "everyone", "everybody",
    "all of you", "whoever", "anyone who", "noobs?", "idiots?", "losers?", "this dude",
    "that dude", "refs?", "referees?", "umpires?", "casters?", "coach", "coaches", "owners?",
    "ceos?", "teammates?", "team mates?", "randoms", "randos", "junglers?", "healers?", "fans",
    "haters", "trolls?", "cheaters?", "campers?", "streamer", "youtubers?", "journalists?",
    _alt("your", "ur", "his", "her", "their") + _alt(" whole", " entire", "") + " "
    + _alt("mom", "mother", "dad", "father", "family", "kids?", "sister", "brother", "wife",
           "girlfriend", "boyfriend", "children", "parents"),
)  # fmt: skip
_HARM = _alt(
    "die", "dies", "be dead", "drop dead", "get cancer", "get aids", "get shot", "be shot",
    "get stabbed", "get killed", "be killed", "burn", "rot", "hang", "be hanged", "suffer",
    "get raped", "be raped", "drown", "be gassed", "get acid", "be maimed", "get hit by an? " + _alt("car", "bus", "truck"),
)  # fmt: skip
_THREAT_VERB = _alt(
    "kill",
    "murder",
    "stab",
    "shoot",
    "hurt",
    "beat",
    "strangle",
    "choke",
    "rape",
    "find",
    "hunt down",
    "track down",
    "break",
    "end",
    "slit",
)
_GAME_VERB = {"kill", "shoot", "beat", "break", "end"}
_GAME_CONTEXT = re.compile(
    r"\b(?:in|on|at|next|this|every|1v1|ranked|game|games|match|round|lobby|map|scrim|duel|"
    r"gulag|tournament|finals|lane|raid|arena|pvp|mid|b site|a site)\b"
)
_I_WILL = _alt("i ?ll", "i will", "im gonna", "im going to", "i am going to", "i am gonna",
               "ima", "imma", "gonna", "going to", "we ?ll", "we will", "we are going to",
               "im coming to", "i want to", "i wanna")  # fmt: skip
_THREAT_RE = re.compile(
    rf"\b{_I_WILL} (?:fucking |literally |actually |come and |come |find you and )?"
    rf"(?P<verb>{_THREAT_VERB}) (?P<object>you|u|ya|your|ur|him|her|them|his|their|yall)\b"
    r"(?P<rest>.*)"
)

_WISH = _alt("die", "dies", "died", "dead", "were dead", "was dead", "get cancer", "gets cancer",
             "crash", "crashes", "get hurt", "break your neck", "get run over", "have an accident",
             "get hit by", "rot", "burn", "suffer", "drown", "crash and die", "get raped")  # fmt: skip


@functools.cache
def _not_people() -> frozenset[str]:
    """Words naming a game thing rather than a person (xbot/data/safety/not_people.txt)."""
    return frozenset(_data("not_people.txt"))


_SHOULD = (
    r"(?:really |all |just )?(?:should|shud|shld|need to|needs to|ought to|deserves? to|must|"
    r"have to|has to|gotta)(?: all| just| literally| go| fucking| really)*"
)
_DETERMINED_SHOULD_RE = re.compile(
    rf"\b(?:our|my|your|ur|this|that|the|these|those|his|her|their) (?P<noun>[a-z]+)"
    rf"(?: (?P<noun2>[a-z]+))? {_SHOULD} {_HARM}\b"
)

_HARASSMENT = [
    rf"\b{_PERSON} (?:really |all |just )?(?:should|shud|shld|need to|needs to|ought to|"
    rf"deserves? to|must|have to|has to|gotta)(?: all| just| literally| go| fucking| really)* {_HARM}\b",
    rf"\b(?:hope|wish|pray|want) (?:that )?{_PERSON} (?:would |will |gets? |get |to )?"
    rf"{_WISH}\b",
    r"\bdie (?:irl|in real life|for real|for real life)\b",
    r"\b(?:kill all (?:the )?(?:women|men|jews|muslims|blacks|whites|gays|"
    r"trans|immigrants|asians|mexicans)|you will (?:be|get) (?:raped|killed|shot|stabbed))\b",
    r"\b(?:know|ik|kno|knw|knowing|knows|found out|find out|find|found|finding) where (?:you|u|ya|he|she|they|your|ur|"
    r"his|her|their)(?: [a-z]+){0,3} (?:live|lives|sleep|sleeps|work|works|go to school|"
    r"goes to school|stay|stays)\b",
    r"\b(?:pull up|pulling up|come|coming|show up|showing up|visit|visiting|go|going|drive|"
    r"driving|be|waiting|wait) (?:to|at|by|outside|near|round) (?:your|ur|his|her|their) "
    r"(?:\w+s )?(?:house|home|address|place|school|work|job|door|parents|uni|university|college|"
    r"campus|apartment|flat|window|street|building|shop|store|bakery|restaurant|cafe|salon)\b",
    r"\b(?:pull up|pulling up|come|coming|show up|showing up|visit|visiting|go|going|drive|"
    r"driving|waiting|wait) (?:to|at|by|outside|near|round) (?:your|ur|his|her|their) "
    r"(?:office|studio|hotel|workplace|gym|hq|lectures?|classes?)\b(?=.*\b(?:something (?:they|he|she|"
    r"you) (?:wont|will not) like|make (?:them|him|her|you) "
    r"pay|hurt|beat|bats?|guns?|knives|address|teach|lesson|regret|pay for|see how|show (?:them|him|"
    r"her)|deal with|handle)\b)",
    r"\b(?:find|finding|found|get|got|look up|locate|locating|track) (?:out )?(?:where )?"
    r"(?:(?:his|her|their|your|ur)|(?:that|this|the) [a-z]+s) (?:home |real )?"
    r"(?:house|home|address|addy|ip|school|workplace|parents)\b",
    r"\b(?:hunt|track) (?:you|u|ya|him|her|them|yall) down\b",
    r"\b(?:tell me|give me|send me|dm me|drop|whats|what is) (?:your|ur|his|her|their) "
    r"(?:home |real |house )?(?:address|addy)\b",
    r"\bwhere (?:the|that|this) [a-z]+ (?:lives|sleeps|works|goes to school)\b",
    r"\b(?:watch|watching) (?:your|ur|ya) back\b",
    r"\b(?:sleep with one eye open|your days are numbered|ur days are numbered|you re dead meat|"
    r"youre dead meat|see you irl|meet me irl|catch you outside|catch u outside)\b",
    r"\b(?:better hope|pray|hope) (?:i|we) (?:never |dont |don t )?(?:find|catch|see|meet) "
    r"(?:you|u|ya)\b",
    r"\b(?:better hope|better pray|pray|hope|pray that|hope that) (?:i|we) (?:never|dont|don t) "
    r"(?:meet|cross paths|run into each other|meet irl|meet in person)\b",
    r"\bruin (?:your|ur|his|her|their) (?:\w+ )?(?:life|lives|family|whole life)\b",
    r"\b(?:hit|smack|whack|ram|bash|beat) (?:you|u|him|her|them|that \w+|this \w+|the \w+|your "
    r"\w+) (?:with|using) (?:a|an|my|the|his|their|our) (?:car|truck|bus|bat|baseball bat|brick|"
    r"hammer|crowbar|chair|pipe|rock|van|golf club|shovel)\b",
    r"\bdrag (?:you|u|him|her|them) (?:out|outside|by (?:your|his|her|their) hair|into the street)\b",
    r"\b(?:you|u|ya|youll|youre|he|she|they|hell|shell)(?: \w+){0,3} end up (?:dead|in (?:a|the) "
    r"(?:ditch|hospital|coffin|body bag|morgue|grave|wheelchair|river|icu)|six feet under)\b",
    r"\bteach (?:you|u|him|her|them|(?:that|this|the) \w+) a (?:\w+ )?lesson\b(?= .*\b(?:with a|bat|"
    r"knife|gun|irl|outside|house|home|fists|hospital|physically|in person|wont forget)\b)",
    r"\b(?:your|ur|his|her|their) (?:\w+s )?(?:school|house|home|workplace|job|address|street|gym) "
    r"(?:is|was|are) (?:on|in|all over) (?:your|ur|his|her|their) (?:insta|instagram|stream|streams|"
    r"vod|vods|twitter|tiktok|snap|snapchat|socials|profile|bio|videos?|pics?|photos?|background)\b",
    r"\b(?:if|when|once|till|until) (?:i|we) (?:ever )?(?:find|catch) (?:you|u|ya)\b",
    r"\b(?:(?:spam|call|text|flood|leak)(?:ing)? (?:his|her|their|your|ur)|(?:post|share|send)"
    r"(?:ing)? (?:his|her|their))(?: [a-z]+)? (?:phone number|number|address|addy|email|socials|"
    r"nudes|pics)\b",
    r"\b(?:i|we|ive|weve|ill|i will|well|we will|im gonna|were gonna|gonna) (?:soon )?(?:know|got|"
    r"have|found|has|find|get|find out|figure out) (?:your|ur|his|her|their) (?:home |real |ip )?"
    r"(?:address|house|ip|location|school|workplace|real name|family|phone number|number|license "
    r"plate|licence plate|plate number|plates|car|kids names|moms number|"
    r"parents address|face|pics|photos|gym|work address)\b",
    r"\b(?:outside|at|near) (?:your|ur) (?:house|home|door|window|school)\b",
    r"\bdox+(?:ed|ing|ing him|es)?\b",
    r"\b(?:leak|leaked|leaking|post|posting|drop|dropping|share|sharing|find|get|expose|exposing|"
    r"publish|spread)(?: out)? (?:his|her|their|your|ur|this guys|that guys|the streamers) "
    r"(?:home |real |house |ip |personal )?(?:address|addy|ip|location|phone number|number|"
    r"real name|family|info|face)\b",
    r"\b(?:his|her|their|your|ur) (?:home |real |house )?(?:address|addy|ip) is\b",
    r"\bip ?(?:grab|grabber|grabbed|logger|logged)\b",
    r"\bswat(?:ted|ting|ter|ters)\b",
    r"\b(?:to|gonna|should|will|ll|lets|let s|pls|please|someone|somebody|go|and|i|we) swat "
    r"(?!team|teams|operator|operators|officer|officers|unit|units|truck|van|mode|4|3|2|game)"
    r"[a-z]",
    # a harm to someone's home or car dressed as regret: "be a shame if it caught fire"
    r"\b(?:shame|pity|suck|sad|tragic|awful|terrible|unfortunate) if (?:it|your|ur|his|her|their|that|this|something|anything|someone|"
    r"somebody)(?: \w+){0,4}? (?:caught fire|catches fire|catch fire|burned down|burnt down|"
    r"burns down|went up in flames|goes up in flames|exploded|blew up|got torched|got hurt|gets hurt|"
    r"was hurt|got smashed|got keyed|was waiting|(?:got |gets |were |was |is )?(?:slashed|keyed|"
    r"vandali[sz]ed|broken into|trashed|torched|burned|burnt)|(?:happened|happens) (?:to )?(?:\w+ ){0,3}"
    r"(?:house|home|car|family|kids|wife|husband|mom|mum|dad|dog|cat|children|daughter|son|face|"
    r"sister|brother|parents|girlfriend|boyfriend|baby|school|you|him|her|them))\b",
    r"\b(?:would|wud) hate (?:for |if |to see )?(?:anything|something)(?: bad)? (?:to )?happen"
    r"(?! to (?:your|ur|his|her|their) (?:\w+ )?(?:streak|rank|elo|account|save|stream|run|lp|rr))",
    # a wish of illness or death "on" someone: "wish cancer on your bloodline"
    r"\b(?:wish|wishing|wished|wishes|wishin) (?:an? )?(?:slow |painful |horrible |quick |long )?"
    r"(?:death|cancer|aids|ebola|a stroke|a heart attack|an accident|harm|pain|suffering|the worst|"
    r"\w+ cancer) (?:on|upon|to) (?:you|u|ya|yall|him|her|them|your|ur|his|their|every|all|"
    r"(?:that|this|those|these|the)(?: \w+)? (?:guy|guys|dude|dudes|streamers?|devs?|developers?|"
    r"refs?|mods?|kids?|girls?|wom[ae]n|m[ae]n|players?|casters?|people|fans|idiots?|clowns?|"
    r"losers?|family|families|community|trans|gays?|jews?|muslims?|immigrants?))\b",
    # an execution image aimed at anyone: "should be lined up against a wall"
    r"\b(?:be|get|gets|been) (?:lined up|put|stood|placed|thrown|pushed)(?: up)? against (?:a|the) "
    r"wall\b",
    # conditional violent intent: "if i ever see that ref im breaking his jaw"
    r"\b(?:if|when|once|next time|the moment|soon as|as soon as) (?:i|we) (?:ever )?(?:see|catch|"
    r"meet|find|run into|spot|get)(?: \w+){1,6}? (?:im|i am|ill|i will|imma|ima|were|well|i swear"
    r"(?: im)?)(?: gonna| going to| literally| actually)? (?:break|breaking|snap|snapping|crack|"
    r"cracking|smash|smashing|bust|busting|punch|punching|stab|stabbing|beat|beating|knock|"
    r"knocking|kick|kicking|rearrange|rearranging|cave|caving|choke|choking|hit|hitting|jump|"
    r"jumping|fight|fighting|hurt|hurting|slap|slapping|shoot|shooting|kill|killing)(?: in| out| up)?"
    r" (?:his|her|their|your|ur|them|him|you|u)\b(?: (?:\w+ )?(?:jaw|nose|face|teeth|skull|neck|"
    r"legs?|arms?|ribs|head|kneecaps|spine|back|fingers|ass|shit))?",
    # doxxing by posting or asking for where someone works, drives or lives
    r"\b(?:post|posts|posted|posting|drop|drops|dropped|dropping|leak|leaks|leaked|leaking|share|"
    r"shares|shared|sharing|spread|spreading|publish|published|found|got|have|has)(?: out)? (?:his|her|"
    r"their|your|ur)(?: \w+)? (?:workplace|work address|work place|job address|office|employer|license plate|"
    r"licence plate|plates?|car plates?|plate number|number plate|irl address|irl addy|school|"
    r"schedule|route home)\b",
    r"\b(?:irl|real life|home|house|real|actual) (?:addy|address|location|adress) (?:of|for) "
    r"(?:the|that|this|his|her|him|them|some|a)\b",
    r"\b(?:post|posts|posted|posting|drop|dropped|leak|leaked|share|shared|found|find|figured out|"
    r"tweeted|know|knows) where (?:he|she|they|you|u) (?:works|lives|sleeps|parks|goes to school|"
    r"work|live)\b",
    # veiled threats about someone's children and their school run
    r"\b(?:your|ur|his|her|their) (?:\w+ )?(?:kids?|son|sons|daughters?|children|little ones|"
    r"sister|brother|baby)(?: \w+){0,3}? (?:walks?|goes|go|gets? out|leaves?|leave|comes? home|"
    r"come home|takes? the bus|get picked up|gets picked up)(?: \w+){0,3}? (?:home from school|"
    r"from school|to school|school|elementary|high school|daycare|kindergarten|bus stop)\b"
    r"(?=.*\b(?:right|huh|yeah|cute|nice|pretty|shame|careful|keep|hate|anything|something|"
    r"happen|around \d+|at \d+|every day|alone)\b)",
    r"\b(?:swat|send (?:a |the )?swat(?: team)? (?:to|on|at)|call (?:the )?swat(?: team)? on|"
    r"send (?:the )?(?:cops|police) to) (?:him|her|them|you|u|this guy|that guy|the streamer|"
    r"his (?:house|address|home)|her (?:house|address|home)|their (?:house|address|home)|"
    r"your (?:house|address|home))\b",
]
#: kys and kms however spelled: never game talk, so no context excuses them.
_KYS = [
    r"(?<![0-9] )\bk+[ *]?y+[ *]?s+\b",
    r"(?<![0-9] )\bk\*s\b",  # "k*s": the one word of that shape
    r"(?<![0-9] )\bkms\b",
    r"(?<![0-9] )\bky[f*]s\b",
]
_SELF_HARM = [
    r"\bkil+(?:ing|in|s)? ?(?:your|ur|yor|yo|you|u|y|ya|thy)? ?(?:sel+f+|selves|slef|slf)\b",
    r"\b(?:drink|eat|chug|swallow|gargle|inject|snort|huff)(?: some| a cup of| the)? bleach\b",
    r"\b(?:neck|hang|rope|off|unalive|delete|shoot|stab|cut|end|kill|suicide|drown|burn|gas|"
    r"poison|hurt|starve|overdose) (?:your|ur|yo|you|urself|yourself)? ?(?:sel+f+|selves)\b",
    r"\ban hero\b",
    r"\bslit (?:your|ur|ya) (?:wrists?|throat)\b",
    r"\b(?:jump|do a flip|flip|leap|throw yourself|dive|fall) off (?:a|the|ur|your) "
    r"(?:bridge|building|cliff|roof|balcony|skyscraper|tower)\b",
    r"\b(?:end|take) (?:your|ur) (?:own )?life\b",
    r"\b(?:go |just |pls |please |you should |u should )commit (?:suicide|sudoku|die)\b",
    r"\b(?:go|just|pls|please) (?:die|hang(?! (?:out|with|around|in|on|tight|up|loose|back))|"
    r"kill urself)\b",
    r"\b(?:nobody|no one|noone) (?:would|will|is going to|gonna) miss (?:you|u)\b",
    r"\b(?:world|everyone) (?:would be|is|will be) better (?:off )?without (?:you|u)\b",
    r"\bunalive\b",
    r"\b(?:overdose|od|o d|oding|overdosing) on (?:your|ur|ya|yo|all (?:your|ur|ya|the)|the|some|"
    r"them|those) (?:\w+ )?(?:meds|medication|medications|pills|tablets|prescriptions?|drugs|xanax|"
    r"insulin|sleeping pills|painkillers)\b",
    r"\b(?:take|swallow|pop|eat|down|chug) (?:all|every one of|the whole (?:bottle|pack|box) of) "
    r"(?:your |ur |ya |the |those |them |these )?(?:\w+ )?(?:meds|medication|pills|tablets|"
    r"sleeping pills|painkillers)\b",
]

_STRONG_CURRENCY = _alt(
    "v ?b[u*]+c?k+[sz]*", "v ?b[u*]+x+", "vbuck", "vb", "robu+x+", "r[o*]b[u*]x", "robu+ks", "robu+xz", "ro ?bux", "r ?bux", "rbx", "cod ?points?",
    "call of duty points", "cod cp", "apex coins", "valorant points", "riot points",
    "mine ?coins", "minecraft coins", "fifa points", "fc points", "fut coins", "primogems",
    "pubg uc", "free fire diamonds", "skins?", "knife", "knives", "karambit", "butterfly knife",
    "dragon lore", "gift ?cards?", "gift ?codes?", "steam (?:wallet|keys?|codes?|cards?|gift ?cards?)",
    "psn (?:codes?|cards?|plus)", "xbox (?:codes?|cards?|gift ?cards?|live)", "nitro",
    "discord nitro",
)  # fmt: skip
_WEAK_CURRENCY = _alt(
    "coins",
    "gems",
    "diamonds",
    "credits",
    "cp",
    "vp",
    "rp",
    "uc",
    "tokens",
    "items",
    "crates",
    "cases",
)
_SCAM_VERB = _alt("free", "freee", "fre", "gratis", "gratuit", "kostenlos", "unlimited", "generator", "generate", "gen", "hack",
                  "hacked", "glitch", "claim", "giveaway", "give away", "giving away", "giveaways",
                  "win", "won")  # fmt: skip
_ACCOUNT = _alt(
    "accounts?", "accs?", "alts?", "og account", "stacked account", "smurfs?", "smurf accounts?"
)
#: Game currencies by their slang names and compounds ("pokecoins", "primos", "stardust").
_CURRENCY_ANY = (
    r"(?:[a-z]*(?:coins|gems|bucks|bux|credits|crystals|jewels|orbs|shards|tokens|points)|"
    r"primos|primogems|stardust|pokecoins|gold|platinum|plat|bells|vc|mt|uc|cp|vp|rp|fc points|"
    r"robux|vbucks|v bucks|apex coins|riot points|crowns|genesis crystals|oneiric shards|"
    r"blue essence|orange essence|simoleons|gil|mesos|kinah|isk|silver|diamonds|souls|"
    r"atoms|cubits|stars|spins|rolls|pulls|wishes|tickets)"
)
#: Asking for a password or login: no real giveaway needs one.
_CREDENTIAL_ASK = (
    r"\b(?:confirm|approve|accept|verify) (?:it |the trade |this )?(?:with|using) (?:your|ur) (?:mobile|"
    r"phone|sms|steam guard|authenticator|2fa|guard|email) (?:code|app|confirmation)\b|"
    r"\b(?:dm|send|give|enter|type|share|tell|drop|message|pm|provide|input|put|log in with|"
    r"login with|sign in with|verify with|need|needs|want|reply with|text|verify|confirm|paste|submit)(?: me| us| them| in| it| him| her)?"
    r"(?: with)? (?:your|ur|yo|the|a)(?: \w+){0,4} (?:password|passwords|passwd|pass|pw|pwd|"
    r"login|logins|log in|credentials|2fa|2fa code|otp|auth code|verification code|security code|"
    r"recovery code|backup codes?|seed phrase|recovery phrase|private key|sign in details|login "
    r"code|guard code|steam guard code|authenticator code|authenticator|mobile code|sms code|"
    r"api key|api keys|steam api key|session token|token|cookie|cookies|card|card details|card "
    r"number|credit card|cc|bank details|"
    r"details|account details|account info)\b"
)
#: Currency the game itself hands out: "500 free gems by logging in daily", "a free gold skin
#: for completing the event" (unless the same text asks for a survey, a DM, a login...).
_EARNED = (
    r"(?!(?=.*\b(?:by|for|from|when|through|after|just for|if you|in|with|via|during) "
    r"(?:\w+ ){0,3}(?:logging|log in|"
    r"completing|playing|reaching|finishing|watching|linking|leveling|levelling|ranking|the event|"
    r"event|season|battle pass|daily|weekly|quests?|missions?|challenges?|drops|prime|"
    r"achievements?|login rewards?)\b)(?!.*\b(?:survey|generator|human verification|dm|dms|link|"
    r"bio|password|login with|click|telegram|whatsapp)\b))"
)
_SCAM = [
    r"\b(?:this is|im from|i m from|i work (?:at|for)|we are|here is|its) (?:the )?(?:steam|valve|riot|"
    r"epic|blizzard|discord|roblox|xbox|playstation|ea|ubisoft|twitch) (?:support|admin|staff|team|"
    r"moderators?|security|trust)\b(?=.*\b(?:verify|reported|ban|banned|suspend\w*|account|acc|fraud)\b)",
    r"\b\d+x (?:before|by|at) (?:launch|listing|release|the listing)\b",
    r"\bmint (?:our|my|the|this)\b.{0,30}\bnfts?\b",
    r"\btrade me (?:your|ur)(?: \w+){0,3} first\b",
    r"\b(?:hiring|we re hiring|were hiring|looking for)\b.{0,60}\b(?:buy|pay for|purchase)\b.{0,30}"
    r"\b(?:kit|starter|fee|equipment|training)\b",
    r"\bpays? (?:itself|you|u|for itself) back (?:\d+x|x\d+|double|triple)\b",
    r"\brecruit \d+ (?:friends|people)\b.{0,60}\b(?:earn|pays?|back|\d+x)\b",
    r"\btrust trades?\b",
    r"\b(?:you|u) (?:go|send|give)(?: \w+){0,3} first\b.{0,80}\b(?:i|ill|i ll|i will|then i) (?:send|give|trade)\b",
    r"\baccidentally reported (?:your|ur) (?:\w+ )?(?:account|acc)\b",
    r"\bdownload (?:the |my |our |this )?(?:launcher|client|exe|app|installer|tool|file|mod menu|"
    r"cheat|hack)\b.{0,40}\b(?:my|this|our) (?:\w+ )?link\b",
    r"\b(?:check|verify|scan|value|appraise) (?:your|ur) (?:inventory|items|skins|account)\b.{0,40}"
    r"\b(?:bot|site|link|tool)\b",
    r"\bgift ?card flip(?:ping|s)?\b",
    r"\bsend me (?:a |an )?\d+(?: \w+){0,3}\b.{0,40}\b(?:ill|i ll|i will) (?:return|send|give) "
    r"(?:you )?(?:back )?\d+\b",
    r"\b(?:log ?in|sign ?in|login) (?:to|into|on) (?:our|my|this|the) (?:launcher|app|site|website|"
    r"page|client|tool|portal) (?:with|using) (?:your|ur) (?:\w+ )?(?:account|login|acc)\b",
    r"\bunban (?:your|ur) (?:\w+ )?(?:account|acc)\b(?=.*\b(?:fee|pay|\d+|gift cards?|paypal|cashapp)\b)",
    r"\bgive me both (?:items|skins|pets|accounts|knives|limiteds)\b",
    r"\b(?:account|acc|items|inventory|skins|limiteds|pets) (?:will be|is going to be|gets|is being) "
    r"(?:deleted|banned|suspended|"
    r"terminated|locked|closed|disabled)\b.{0,80}\b(?:unless|verify|confirm|click|log ?in)\b",
    r"\bsend (?:me )?\d+(?: \w+){0,3} (?:paypal|cashapp|cash app|venmo|btc|crypto|zelle)\b.{0,60}"
    r"\b(?:ill|i ll|i will|and i) send\b",
    # investment returns: "earn 10x back in 30 days", "returns of 40% a month", "100x by next week"
    r"\b(?:(?:earn|get|make) (?:\d+x|\d+ percent|double|triple)|(?:returns? of|roi of) \d+(?: percent)?)"
    r"(?: \w+){0,4} (?:back|returns?|a month|per month|a week|per week|monthly|weekly|daily|a day|"
    r"guaranteed)\b",
    r"\b\d+x (?:by|in|within) (?:next |the next )?(?:week|month|days?|tomorrow|\d+ days|monday|"
    r"tuesday|wednesday|thursday|friday|saturday|sunday|the weekend)\b",
    r"\b(?:pump incoming|before the (?:exchange )?listing|guaranteed returns?)\b",
    # a trade that comes back doubled: "send me 10 skins, get 15 back", "i'll send double"
    r"\b(?:ill|i ll|i will|ima|imma|we ll|well|we will) (?:send|give|pay|trade|return)(?: you| u)?"
    r"(?: back| it back)? (?:2x|3x|x2|x3|double|twice|triple|\d+x|x\d+)\b",
    r"\bturn (?:your )?\d+ (?:\w+ )?into \d+\b",
    r"\bget (?:x\d+|\d+x) back\b",
    r"\bsend me (?:\d+|one|an?) (?:\w+ )?first\b",
    r"\bprove (?:you re|youre|you are|ur) not a bot\b",
    r"\b(?:processing|release|unlock|verification|activation|handling|transfer|entry|tax|customs|"
    r"clearance) fee\b"
    r"(?=.*\b(?:prize|money|winnings|funds|reward|qualified|won|win|receive)\b)|"
    r"\b(?:prize|money|winnings|funds|reward|qualified)\b.{0,80}\b(?:processing|release|unlock|"
    r"verification|activation|handling|transfer|entry) fee\b",
    r"\b(?:connect|link|sync) (?:your |ur )?(?:crypto |web3 |metamask |phantom )?wallet\b(?=.*\b(?:claim|"
    r"airdrop\w*|sign|mint|free|reward)\b)",
    r"\bairdrop(?:ping|s)? (?:free )?(?:tokens|coins|nfts|crypto)\b",
    r"\bpassive income\b(?=.*\b(?:nft|token|crypto|presale|earn|daily|plots?|land)\b)|"
    r"\b(?:nft|token|crypto|presale|plots?)\b.{0,80}\bpassive income\b",
    r"\b(?:log ?in|sign ?in|login) (?:with|using|via|through) (?:steam|discord|epic|riot|battle ?net|"
    r"xbox|psn|roblox) (?:on|at|in|through|via) (?:the|this|my|our) (?:page|site|link|website)\b",
    r"\b(?:give|send) (?:me )?both (?:items|skins|pets|accounts|knives|limiteds)\b",
    r"\b(?:send|give|trade|drop|lend|deposit) (?:me |us )?(?:\w+ ){0,3}(?:get|receive|and get|"
    r"youll get|you get|get back) (?:\d+|double|2x|3x|twice|triple)(?: \w+){0,2} back\b",
    r"\b(?:doubler|doubling|duplicator|multiplier|duper)\b(?=.*\b(?:send|drop|trade|link|dm|"
    r"deposit|give)\b)",
    # a generator that promises safety: "primogem generator, no ban, link below"
    r"\b(?:generator|gen|glitch|hack)\b(?=.*\b(?:no ban|100 safe|undetected|link below|link in "
    r"bio|no survey|no human verification|no verification|working \d{4}|still works)\b)",
    # a fee before a prize: "send $20 for verification and it ships", "just pay $4.99 shipping"
    r"\b(?:send|pay|venmo|cashapp|paypal)(?: me| us| the| a| an)?(?: small| tiny| quick| one time)? \d+(?: \d+)?(?: \w+){0,3} (?:for |to cover )?"
    r"(?:the )?(?:verification|shipping|processing|fee|fees|customs|activation|handling|unlock)\b",
    # a code or prize that works only after a login on someone's page
    r"\b(?:only works|works only|valid only|must|need to|have to|first) (?:if you |when you |after "
    r"you )?(?:log ?in|sign ?in|login|verify)(?: \w+){0,2} (?:on|at|to|through|via|with) (?:the|this|"
    r"my|our|that) (?:page|site|link|website|form)\b",
    # an account asked for: "just send email & pass"
    r"\b(?:send|dm|give|drop|message|pm|share)(?: me| us)?(?: your| ur)? (?:email|mail|user|"
    r"username|login|acc|account)(?: and| n|)? (?:pass|password|pw|pwd)\b",
    _CREDENTIAL_ASK,
    # an engagement-for-codes trade: "follow + like and I'll DM you one"
    r"\b(?:follow|like|rt|retweet|repost|comment|reply|sub|subscribe)\b(?: \w+){0,4}? "
    r"(?:and|n|then|&) (?:ill|i ll|i will|well|we will|i ?ma|imma|ima) (?:dm|send|give|message|pm|"
    r"hook up|drop) (?:you|u|ya)(?: \w+)? (?:one|some|free|(?:an? |the )?(?:\w+ )?(?:codes?|keys?|"
    r"cards?|gift ?cards?|skins?|vouchers?))\b",
    r"\b(?:unused|spare|extra|leftover|free)(?: \w+){0,3} (?:gift ?card|gift|redeem|promo|steam|"
    r"psn|xbox|nintendo|eshop) ?(?:codes?|cards?|keys)\b(?=.*\b(?:follow|like|rt|retweet|dm|"
    r"comment|reply|tag|first \d+)\b)",
    r"\b(?:link|links|url) in (?:my |the )?(?:pinned|pin|bio|profile)\b(?=.*\b(?:free|no scam|"
    r"legit|generator|claim|giveaway|unlimited)\b)",
    # a generator of anything paid ("free apex packs generator"); map and seed generators are tools
    r"\b(?:free|unlimited|infinite)\b(?: \w+){0,3}? (?!(?:seed|map|world|name|random|terrain|dungeon|"
    r"level|procedural|character|build|loadout|team|idea|maze|city|planet|music|art|image|password) )"
    r"\w+ (?:generator|gen|glitch|exploit)\b",
    r"\b\w+ (?:generator|gen)\b (?:working|no survey|no verification|no human|\d{4}|legit|online "
    r"free|100)\b",
    # doubling and "send it and I'll send back" trades
    r"\bdouble (?:your|ur|ya) (?:\w+ )?(?:skins?|knives|knife|items?|robux|vbucks|v bucks|coins|gems|"
    r"money|crypto|btc|eth|inventory|limiteds?|cash)\b",
    r"\bsend (?:me |us )?(?:your|ur) (?:\w+ )?(?:knife|knives|skins?|items?|inventory|account|robux|"
    r"limiteds?|pets?|gems|coins)\b(?: \w+){0,3} (?:and|then|&) (?:ill|i ll|i will|well|we will|"
    r"we ll|get|you get|youll get|receive)\b",
    r"\bdeposit (?:your )?(?:skins?|items?|knives|robux|coins)\b(?: \w+){0,3} (?:get|receive|win) "
    r"(?:double|triple|2x|3x|back double|\d+x)\b",
    rf"\b(?:free|unlimited|infinite|generator|gen|hack|hacked|glitch|giving away|give away|"
    rf"giveaway|claim)\b(?: [a-z0-9]+){{0,4}}? {_CURRENCY_ANY}\b"
    r"(?! (?:in|on|at|with|for|from|during|by|after) (?:the )?(?:new|this|next|season|event|update|"
    r"patch|battle pass|daily|weekly|login|quest|quests|missions?|challenges?|store|shop|game|"
    r"playing|leveling|levelling|ranking|completing|logging))"
    rf"{_EARNED}",
    r"\b(?:modded|hacked|cracked|mod|hack|patched) (?:app|apk|apps|apks|client|version|ipa)\b"
    r"(?=.*\b(?:dm|pm|link|download|free|unlimited|infinite|get|click|bio|telegram|discord)\b)",
    r"\b(?:click|tap|open|visit|use) (?:my|the|this|our) link\b.{0,60}\b(?:enter|type|log ?in|"
    r"login|sign ?in|verify|input|connect) (?:your|ur|with)\b",
    rf"\b{_SCAM_VERB}\b{_W}{{0,2}} {_STRONG_CURRENCY}\b{_EARNED}",
    rf"\b{_STRONG_CURRENCY}\b{_W}{{0,3}} (?:for free|free|4 free|gratis|gratuit|kostenlos|generator|gen|generate|giveaway|"
    rf"give away|hack|glitch|no survey|no verification|no human verification|unlimited|"
    rf"method|exploit|claim)\b",
    rf"\b(?:free|unlimited|generator|hack|glitch)\b{_W}{{0,1}} {_WEAK_CURRENCY}\b(?! (?:in|on|at|"
    r"with|for) (?:the )?(?:new|this|next|season|event|update|patch)){_EARNED}",
    rf"\b{_WEAK_CURRENCY} (?:generator|gen|hack|glitch|for free|4 free|no survey)\b",
    r"\b(?:claim|redeem|collect) (?:your|ur)? ?(?:free )?(?:gift|reward|prize|skin|"
    r"code|nitro|voucher|bonus|giveaway|airdrop|winnings)s?\b",
    r"\b(?:gift|redeem|reward|claim|giveaway) (?:link|code|url)s?\b",
    # "the EXP is free money": an idiom for something easy, not an offer
    r"(?<!\bis )(?<!\bare )(?<!\bwas )(?<!\bbasically )(?<!\blike )\bfree (?:gift|gifts|nitro|"
    r"gift ?cards?|psn|xbox live|steam (?:games?|keys?|codes?)|iphone|ps5|money|cash)\b",
    r"\b(?:you ?ve|you have|u have|youve|you|u) (?:been (?:selected|chosen|picked)|(?:have )?won "
    r"(?:a |an |the |our |free |this |\d+ )*(?:free )?(?:prize|gift|reward|skins?|iphone|ps5|"
    r"giveaway|nitro|gift ?cards?|cash|money|dollars|bucks|v ?bucks|robux|\w+ gift ?card))\b",
    r"\bcongrat(?:ulation)?s (?:you|u) (?:won|have won|are (?:the|our) winner|ve won)\b"
    r"(?=.*\b(?:claim|prize|link|dm|click|tap|gift|reward|free|redeem|collect|bio|selected|chosen|"
    r"paypal|code|voucher|cash|usd|dollars|iphone|ps5|skins?|robux|v ?bucks|within|expires?|"
    r"verify|login|log in)\b)",
    r"\b(?:dm|message|pm|text|click|tap|visit)(?: me| us| the link| link| here)? (?:to|and) "
    r"(?:claim|redeem|collect|get your|receive)\b",
    r"\bclick (?:the |this |my )?link (?:in (?:my )?bio )?(?:to|for|and) (?:claim|redeem|get|win|"
    r"receive)\b",
    r"\bgiveaway\b.*\b(?:rt|retweet|repost|follow|like|tag|comment|dm|to win|to enter|first \d+|"
    r"winners? (?:gets?|receives?)|ps5|iphone|cash|paypal|gift ?cards?)\b",
    r"\b(?:rt|retweet|repost|like|follow|tag)(?: and| n| \+| &)? (?:rt|retweet|repost|like|"
    r"follow|tag|comment|dm)\b.{0,40}\b(?:to win|to enter|for a chance|to get|and win|to claim)\b",
    r"\bfirst \d+ (?:people |ppl |users |followers )?(?:to |who |that )(?:follow|retweet|rt|like|"
    r"dm|comment|reply)\b.{0,30}\b(?:get|gets|will get|win|wins|receive)\b",
    rf"\b{_ACCOUNT} (?:giveaway|giveaways)\b|\bgiv(?:e|ing) away (?:free )?(?:[a-z]+ )?{_ACCOUNT}\b",
    r"\b(?:crypto|nft|token|coin|eth|btc|sol|usdt|wallet|web3)s? (?:\w+ )?(?:giveaway|airdrop|"
    r"drop)\b",
    r"\bairdrop (?:\w+ )?(?:claim|tokens?|crypto|nft|wallet|eth|btc|sol)\b",
    r"\bfree (?:crypto|nft|nfts|eth|btc|bitcoin|sol|usdt)\b",
    r"\bdouble your (?:crypto|btc|eth|money|bitcoin)\b",
]

_SELL = _alt(
    "sell", "sells", "selling", "seling", "sale", "wts", "wtt", "4 sale", "forsale", "buy",
    "buying", "purchase", "cheap", "cheapest", "price", "prices", "pricing", "paypal", "cashapp",
    "venmo", "btc", "usdt", "shop", "store", "discount", "in stock", "instant delivery", "lifetime",
    "per month", "monthly", "hmu", "pm me", "dm me", "dm", "dms", "usd", "eur", "dollars", "offers?",
    "trade", "trading",
)  # fmt: skip
_CHEAT = _alt(
    "cheats?", "hacks?", "hax", "aim ?bots?", "aim ?bot", "wall ?hacks?", "wh", "esp",
    "trigger ?bots?", "spin ?bots?", "mod ?menus?", "injectors?", "spoofers?", "hwid spoofers?",
    "unlock ?all", "unlockers?", "macros?", "scripts?", "exploits?", "dlls?", "radar hacks?",
    "no recoil", "silent aim",
)  # fmt: skip
_OFFER = _alt("download", "free trial", "trial", "undetected", "keys?", "lifetime",
              "subscriptions?", "sub", "private", "telegram", "discord server", "website", "order",
              "available", "working", "link in bio")  # fmt: skip
#: Words that make a post an offer: a price, a way to pay, "DM me", delivery.
_SALE_CUE = (
    r"(?:for sale|selling|sell|wts|wtb|cheap|cheapest|price|prices|pricing|priced|quote|offers?|"
    r"paypal|cashapp|cash app|venmo|crypto|btc|usdt|usd|eur|gbp|dollars|bucks|dm|dms|pm|hmu|"
    r"instant|instantly|delivery|in stock|restocked|discount|available|order|orders|shop|store|"
    r"telegram|whatsapp|link in bio|piloted|self play|guaranteed|legit|affordable|obo|per (?:clear|"
    r"run|raid|carry|game|win|"
    r"match|division|rank|tier|level|week|month|day|hour|account|key))"
)
_RANKS = (
    r"(?:iron|bronze|silver|gold|plat|platinum|diamond|emerald|master|masters|grandmaster|gm|"
    r"champion|champ|predator|pred|radiant|immortal|ascendant|legend|legendary|mythic|global|"
    r"global elite|elite|conqueror|ace|crown|top 500|t500|unreal|faceit|level \d+|lvl \d+|"
    r"\d+k badge|\d+ bomb|badges?|rank \d+|\d+ rr|\d+ elo|\d+ mmr|\d+ sr|\d+ lp)"
)
#: Cheats that are sold, never talked about as play: with a DM/menu/price cue they are an offer.
_STRONG_CHEAT = (
    r"(?:aim ?bots?|wall ?hacks?|trigger ?bots?|spin ?bots?|esp|mod ?menus?|injectors?|spoofers?|"
    r"hwid spoofers?|silent aim|no recoil scripts?|radar hacks?|unlock ?all tool|color ?bots?|"
    r"(?:\w+ )?unlockers?|"
    r"colou?r ?aim|pixel ?(?:bots?|triggers?|aim)|(?:anti ?cheat|vanguard|eac|battleye|vac|ricochet|"
    r"faceit ac) bypass(?:es)?|cronus(?: zen)?"
    r"(?: \w+){0,3} scripts?|xim(?: \w+){0,2} (?:scripts?|configs?)|strike ?pack scripts?|"
    r"(?:anti ?recoil|no recoil|recoil|aim assist|rapid fire|jitter)(?: \w+)? (?:scripts?|mods?|macros?)|"
    r"(?:scripts?|macros?|configs?|mods?) for (?:the )?(?:cronus|xim|strike ?pack|zen))"
)
_STRONG_CHEAT_RE = re.compile(rf"\b{_STRONG_CHEAT}\b")
_CHEAT_CUE_RE = re.compile(
    r"\b(?:dm|dms|pm|hmu|menu|price|prices|paypal|cashapp|crypto|btc|undetected|ban ?safe|bansafe|"
    r"0 bans|zero bans|no bans|lifetime|per (?:day|week|month)|telegram|discord|link in bio|keys?|"
    r"never detected|undetect\w*|undected|included|bypass|weekly|monthly|daily|configs?|"
    r"latest patch|one click|\d+ (?:usd|eur|gbp|dollars|bucks)|for banned|get back into|unban|"
    r"download|instant|bypass\w*|"
    r"license|licence|instantly|"
    r"selling|for sale|buy|order|instant delivery|delivery|\d+ (?:usd|eur|gbp|dollars|bucks))\b"
)
_CHEAT_TALK_RE = re.compile(
    r"(?<!\bnever )(?<!\bnot )(?<!\bun)\b(?:detection|detect|detected|detects|cheaters|report|"
    r"reported|anti ?cheat(?! bypass))\b"
)


def _sold_cheat(text: str) -> list[Reason]:
    """A cheat that is only ever sold, with a DM/menu/price/ban-safe cue ("triggerbot & ESP,
    DM for the menu"); talk about detecting or reporting it is not an offer. Three plain
    searches, not one pattern with look-aheads, so a long text stays linear."""
    m = _STRONG_CHEAT_RE.search(text)
    if m and _CHEAT_CUE_RE.search(text) and not _CHEAT_TALK_RE.search(text):
        return [("selling", repr(m.group(0)))]
    return []


_SELLING = [
    r"\b(?:modded )?money drops?\b(?=.*\b\d+\b)",
    r"\b\d+ ?(?:m|k|mil|million|billion|b) for \d+\b",
    r"\b(?:spoofing|botting|piloting|grinding|farming) services?\b",
    r"\b(?:we|i|ill|well|we ll|i ll|pro player will|will) (?:\w+ )?(?:level|rank|pilot|boost|grind) "
    r"(?:up )?(?:your|ur) (?:account|acc|character|char)\b",
    r"\bpilot (?:your|ur) (?:account|acc)\b",
    r"\b(?:\w+ )?bots? for sale\b|\bbotting (?:farms?|scripts?|setups?|services?)\b",
    r"\b(?:hacked clients?|hack clients?|killaura|kill aura|fly hacks?|speed hacks?)\b(?=.*\b(?:for "
    r"sale|selling|sell|\d+|dm|bypass\w*|included)\b)",
    r"\brmt\b",
    r"\b(?:credits|coins|gold|vbucks|robux|gems|points|roubles|rubles)\b.{0,30}\b(?:half price|cheap|"
    r"discount|below market)\b(?=.*\b(?:paypal|cashapp|venmo|crypto|dm|delivered|delivery)\b)",
    r"\b(?:log ?in|login|sign in) (?:on|into|to|with) (?:my|our) (?:account|acc)\b",
    r"\bpay per (?:rank|win|division|tier|level|game|match)\b",
    rf"\bduo (?:queue )?to {_RANKS}\b(?=.*\b(?:venmo|cashapp|paypal|pay|\d+)\b)",
    rf"\bcarry (?:you |u )?to {_RANKS}\b(?=.*\b(?:guaranteed|refund|\d+|paypal|venmo|cashapp|dm)\b)",
    rf"\b(?:sell|selling|sells)\b{_W}{{0,3}} {_STRONG_CURRENCY}\b",
    r"\bkeys?\b.{0,60}\b\d+ each\b",
    r"\b(?:jailbroken|jailbreak|modded|chipped|hacked|softmodded|cfw) (?:switch|ps4|ps5|xbox|3ds|"
    r"wii u|wii|ps vita|vita|console)\b(?=.*\b(?:\d+|shipped|for sale|selling|price|preinstalled|"
    r"included|loaded)\b)",
    r"\b(?:dlc unlockers?|creamapi|unlocker tool|unlock ?all tool)\b",
    r"\b(?:gold|coins|runes|souls|credits|currency|mesos|gil|plat|bells|vbucks|robux) (?:service|"
    r"farming service|delivery|for sale|shop|store)\b",
    r"\b\d+ ?(?:m|k|mil|million|billion) (?:gold|coins|runes|mesos|gil|credits|plat|souls)\b"
    r"(?: \w+){0,3} \d+",
    r"\bshared (?:\w+ ){0,2}accounts?\b(?=.*\b(?:\d+|price|slot|slots|month|dm)\b)",
    r"\b(?:keys|codes|accounts)\b.{0,40}\b(?:leaked|stolen) (?:database|db|dump|list)\b",
    r"\b(?:power ?level(?:ing|ling)?|leveling|levelling)\b.{0,60}\b(?:piloted|in \d+ (?:hours|days))\b",
    r"\b(?:email change|e mail change|full access|first owner|obo)\b(?=.*\b(?:accounts?|accs?)\b)",
    r"\b(?:carry|carries|boost|boosting) (?:for|4) (?:money|cash|real money|paypal)\b",
    r"\b(?:account|acc) shar(?:e|ing)\b(?=.*\b(?:\d+|price|per win|dm|paypal|cashapp|crypto)\b)",
    r"\b\d+ (?:per|a|each|for every) win\b",
    r"\bcarry (?:you|u|ya|your team|ur team)(?: \w+){0,6} (?:for|4) \d+\b",
    r"\bcheap (?:steam |game |cd |gift |xbox |psn |origin |uplay )?(?:keys|codes)\b",
    r"\b(?:stolen|cracked|leaked) (?:\w+ ){0,2}(?:keys|codes|accounts|accs|cards|logins)\b"
    r"(?=.*\b(?:sell|selling|for sale|bulk|dm|msg|price|\d+)\b)",
    r"\b(?:gold|coins|mesos|plat|platinum|credits|gil|isk|kinah|runes)\b.{0,40}\b(?:\d+ ?m|\d+ ?k|"
    r"\d+ million) (?:for|4) \d",
    r"\b(?:in stock|fast delivery|instant delivery)\b(?=.*\b(?:gold|coins|mesos|plat|gil|isk|"
    r"accounts?|accs?|keys|items)\b)",
    # account sharing sold as a carry or coaching: "we play on your account", "I log into your acc"
    r"\b(?:i|we|ill|well|i ll|we ll|i will|we will) (?:\w+ )?(?:play|log ?in|login|log|sign in|hop) "
    r"(?:on|into|to|in|onto) (?:your|ur) (?:account|acc|acct|battle ?net|bnet|steam|psn|xbox|epic|"
    r"riot)\b",
    # an account sold with its e-mail: "full email access", "FA", "first owner"
    r"\b(?:accs?|accounts?|alts?)\b.{0,80}\b(?:full (?:email )?access|email access|og email|first "
    r"owner|nfa|sfa|email included|with email)\b",
    r"\b(?:full (?:email )?access|og email|first owner)\b.{0,80}\b(?:accs?|accounts?|for sale|"
    r"selling|price|\d+)\b",
    r"\bmodded (?:\w+ )?(?:accounts?|accs?|lobb(?:y|ies)|recovery|outfits|cars)\b(?=.*\b(?:\d+|dm|price|"
    r"guarantee\w*|cheap|ban ?free|safe|delivery)\b)",
    # cheats priced by the period: "10$ weekly", "$30/month"
    rf"\b{_CHEAT}\b.{{0,60}}\b\d+ ?(?:usd|eur|gbp|dollars|bucks)? ?(?:weekly|monthly|daily|a week|"
    r"a month|a day|per week|per month|per day|lifetime|week|month)\b",
    r"\b(?:undected|undetect(?:ed|able)?|ud) (?:cheats?|hacks?|aim ?bots?|wall ?hacks?|esp|scripts?|"
    r"macros?|configs?)\b",
    r"\b(?:cronus(?: zen)?|xim|strike ?pack)\b(?: \w+){0,4} (?:scripts?|configs?|mods?)\b",
    # a paid grind done for you: camo unlocks, bot lobbies, badges, placements
    r"\b(?:unlock|unlocks|unlocking|camo|camos|bot lobb(?:y|ies)|lobbies|leveling|levelling|rank|"
    r"ranked|badge|badges|achievement|achievements|trophy|trophies|completion|farming|grinding|"
    r"placement|placements|coaching|recovery|unban|modding|mod|modded|carry|carries)\b(?: \w+){0,2} "
    rf"(?:service|services)\b(?=.*\b{_SALE_CUE}\b)",
    rf"\bbot lobb(?:y|ies)\b(?=.*\b{_SALE_CUE}\b)",
    rf"\b(?:accounts|accs|smurfs|alts|modded accounts?|stacked accounts?|og accounts?|rare "
    rf"accounts?|cheap accounts?|(?:ar|level|lvl|rank|prestige) \d+ accounts?|accounts? with)\b"
    rf"(?=.*\b{_SALE_CUE}\b)",
    r"\bboost(?:ing|ed|er|ers|s)?\b(?=.*\b(?:dm|dms|pm|hmu|cheap|cheapest|price|prices|quote|"
    r"offers?|paypal|cashapp|venmo|piloted|self play|service|services|orders?|guaranteed|legit|"
    r"affordable|usd|eur|dollars|duo or piloted|for sale|selling)\b)",
    rf"\bboost(?:ing|ed|s)? (?:\w+ ){{0,3}}(?:to|up to|into|from \w+ to) {_RANKS}\b",
    rf"\b(?:\w+ )?boosting\b(?: \w+){{0,6}} {_RANKS}\b",
    r"\b(?:carries|carry runs|carry service|raid carries|mythic carries|dungeon carries|power ?"
    r"level(?:ing|ling)?|leveling service|levelling service|account leveling|placement matches "
    r"done|wins for hire)\b(?=.*\b(?:quote|cheap|price|prices|paypal|cashapp|for sale|selling|sell|"
    r"offering|usd|eur|orders?|slots|spots open|service|services|pm me for|dm me for|dm for|pm for|"
    r"per clear|per run|per raid|piloted|vpn safe)\b)",
    r"\b(?:cheap|selling|sell|wts|buy cheap)\b(?: \S+){0,3} (?:gold|coins|currency|mesos|kinah|"
    r"isk|plat|platinum|credits|runes|carries|items|gil)\b(?=.*\b(?:pm|dm|dms|hmu|quote|price|"
    r"prices|paypal|cashapp|usd|eur|dollars|real money|irl money|discord|delivery|instant|order)\b)",
    rf"\b{_SELL}\b{_W}{{0,6}} (?:{_ACCOUNT}|{_CHEAT})\b",
    rf"\b(?:{_ACCOUNT}|{_CHEAT})\b{_W}{{0,3}} (?:{_SELL}|for sale)\b",
    rf"\b{_OFFER}\b{_W}{{0,2}} {_CHEAT}\b",
    rf"\b{_CHEAT}\b{_W}{{0,2}} {_OFFER}\b",
    r"\bundetected (?:by|since|for) (?:vac|eac|easy anti ?cheat|vanguard|battleye|ricochet|"
    r"anti ?cheat|\d+)\b",
    r"\bkeys? (?:are |is )?(?:available|in stock|restocked|on sale)\b",
    r"\b(?:elo|rank|ranked|mmr|rr|sr|kd|account|acc|win|lp) ?boost(?:ing|ers?|s)?\b",
    r"\bboosting (?:service|services|available|cheap|team|offers?|prices?|orders?)\b",
    r"\b(?:cheap|fast|safe|legit|pro|professional|best|affordable)(?: [a-z0-9]+){0,2} "
    r"boost(?:ing|s)?\b",
    r"\bboosting\b(?: [a-z0-9]+){0,3} (?:dm|pm|hmu|available|cheap|prices?|offers?|service|"
    r"services|paypal|discord)\b",
    r"\bboost (?:your|ur|you|u)(?: to| up to)? (?:rank|account|acc|elo|mmr|kd|rr|lp|to \w+|"
    r"iron|bronze|silver|gold|plat|platinum|diamond|ascendant|immortal|radiant|master|"
    r"grandmaster|champion|predator)\b",
    r"\b(?:carry|coaching|boosting|recovery|modded) (?:service|services|lobby|lobbies)\b",
    r"\bwin ?trading\b",
    r"\b(?:buy|buying|cheap|sell|selling|get) (?:[0-9][0-9a-z]* )?(?:real |active |instant )?(?:followers|"
    r"likes|views|subs|subscribers|retweets|reposts)\b",
]

_HARASSMENT_RE = [re.compile(p) for p in _HARASSMENT]
_SELF_HARM_RE = [re.compile(p) for p in _SELF_HARM]
_KYS_RE = [re.compile(p) for p in _KYS]
_SCAM_RE = [re.compile(p) for p in _SCAM]
_SELLING_RE = [re.compile(p) for p in _SELLING]


def _first(code: str, patterns: list[re.Pattern[str]], text: str) -> list[Reason]:
    for pattern in patterns:
        m = pattern.search(text)
        if m:
            return [(code, repr(m.group(0).strip()[:60]))]
    return []


def _first_not_play(
    code: str, patterns: Iterable[re.Pattern[str]], text: str, *, game_inside: bool = False
) -> list[Reason]:
    """Like :func:`_first`, but a match that :func:`_is_play` calls game talk does not count;
    with ``game_inside``, neither does one naming a game thing ("where the merchant lives")."""
    for pattern in patterns:
        for m in pattern.finditer(text):
            inside = set(m.group(0).split()[1:])
            if game_inside and inside & (_game_words() - _LOCATIVE) and not inside & _KIN_BODY_IRL:
                continue  # "where the merchant lives"; "at a tournament ... his jaw" stays real
            if not _is_play(text, m.start(), m.end()):
                return [(code, repr(m.group(0).strip()[:60]))]
    return []


@functools.cache
def rule_words() -> frozenset[str]:
    """Every literal word the phrase rules spell out ("free", "bucks", "yourself", ...).

    Used twice: to read a masked word ("b*cks") as the rule word it hides, and to split a
    word written without spaces ("freevbucks", "iknowwhereyoulive") back into rule words.
    """
    words: set[str] = {"i", "u", "v"}
    for pattern in (
        *_HARASSMENT,
        *_SELF_HARM,
        *_KYS,
        *_SCAM,
        *_SELLING,
        _THREAT_RE.pattern,
        *_THREAT_IDIOMS,
        *_SELF_HARM_SHAPES,
        _WISH_RE.pattern,
        _SHOULD_RE.pattern,
        _ACT_RE.pattern,
        _SPLIT_ACT_RE.pattern,
        _WISH_ACTOR_RE.pattern,
        _IMPERATIVE_RE.pattern,
    ):
        plain = re.sub(r"\\[a-zA-Z]|\(\?[:!=<P][^)]*?\)?|\?P<\w+>", " ", pattern)
        words.update(w for w in re.findall(r"[a-z]+", plain) if len(w) > 1)
    return frozenset(words)


@functools.cache
def _rule_words_by_length() -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = {}
    for w in sorted(rule_words()):
        out.setdefault(len(w), []).append(w)
    return {n: tuple(ws) for n, ws in out.items()}


def _unmask(token: str) -> str:
    """A masked token ("b*cks", "fr**") read as the one rule word of its shape, if any."""
    if "*" not in token or not token.strip("*"):
        return token
    pattern = re.compile(re.escape(token).replace(r"\*", "[a-z]"))
    fits = [w for w in _rule_words_by_length().get(len(token), ()) if pattern.fullmatch(w)]
    return fits[0] if len(fits) == 1 else token


#: The only two-letter pieces a run-together word may split into ("killurself"); others cut
#: names apart ("Broodmother" is no "bro od mother").
_SHORT_PIECES = frozenset({"ur", "ya", "yo"})


def _split_words(token: str) -> list[str]:
    """``token`` split into rule words when it is nothing but rule words run together.

    Dynamic programming over the token; the split with the fewest pieces wins, and pieces must
    average at least three letters so an ordinary word never dissolves into letters.
    """
    words = rule_words()
    if len(token) < 6 or token in words or len(token) > 60:
        return [token]
    best: list[list[str] | None] = [[]] + [None] * len(token)
    for end in range(1, len(token) + 1):
        for start in range(max(0, end - 16), end):
            head, current = best[start], best[end]
            piece = token[start:end]
            if (
                head is None
                or piece not in words
                or (len(piece) < 3 and piece not in _SHORT_PIECES)
            ):
                continue
            if current is None or len(head) + 1 < len(current):
                best[end] = [*head, token[start:end]]
    pieces = best[-1]
    if not pieces or len(pieces) < 2 or len(token) / len(pieces) < 3:
        return [token]
    return pieces


def phrase_texts(tokens: Sequence[str]) -> list[str]:
    """The texts the phrase rules read: masked words read as rule words; and, when it differs,
    the same with run-together rule words split apart (both are read: a split can also cut a
    word the rules know whole, such as "swatted")."""
    unmasked = [_unmask(tok) for tok in tokens]
    split = [piece for tok in unmasked for piece in _split_words(tok)]
    texts = [" ".join(unmasked)]
    if split != unmasked:
        texts.append(" ".join(split))
    plain = _plain_spelling(split)
    if plain not in texts:
        texts.append(plain)
    return texts


@functools.cache
def chat_spellings() -> dict[str, str]:
    """Folded chat spelling -> folded plain form (xbot/data/safety/chat_spellings.txt)."""
    out: dict[str, str] = {}
    for line in _data("chat_spellings.txt"):
        spelling, _, plain = line.partition("=")
        key = " ".join(fold_phrase(spelling))
        if key and plain.strip():
            out[key] = " ".join(fold_phrase(plain))
    return out


def _plain_spelling(tokens: Sequence[str]) -> str:
    """``tokens`` with chat spellings in their plain form, and a "2"/"4" standing between two
    words read as "to"/"for" ("happened 2 ur sister")."""
    table = chat_spellings()
    out: list[str] = []
    for i, tok in enumerate(tokens):
        between = 0 < i < len(tokens) - 1 and tokens[i - 1].isalpha() and tokens[i + 1].isalpha()
        if between and tok in ("2", "4"):
            out.append("to" if tok == "2" else "for")
        else:
            out.append(table.get(tok, tok))
    return " ".join(out)


_WARNING_RE = re.compile(
    r"\b(?:never trust|dont trust|do not trust|beware|dont fall for|do not fall for|is a scam|"
    r"are scams|are a scam|its a scam|scam alert|psa|warning|never click|dont click|report|"
    r"never from|only (?:on |at |through |from |via |in |into )?(?:the |our )?(?:official|in game|store)|"
    r"into the official|cracks? down|crackdown|lawsuit|sues|sued|(?<!\bnot a )(?<!\bno )scams?|"
    r"scammers|never share|"
    r"dont share|do not share|never give|will never ask|never ask (?:you )?for|only dm winners|"
    r"security tip|never log ?in|never need (?:your|ur)|only contacted by|contacted only by|"
    r"from this account only|this account only|check the handle|never pay to enter|drawn by bot|"
    r"is phishing|are phishing|phishing (?:link|site|"
    r"scam|attempt)s?|only (?:ever )?comes? from|steals? (?:your |ur )?(?:accounts?|logins?|"
    r"passwords?|info|details))\b"
)


#: Real promotions name the program that pays for them ("free skins for Prime Gaming members").
_OFFICIAL_PROMO_RE = re.compile(
    r"\b(?:prime gaming|prime members|amazon prime|twitch drops|game pass (?:ultimate )?members|"
    r"ps plus members|playstation plus members|nintendo switch online members|in the battle pass|"
    r"with the battle pass|full rules|official rules|no purchase necessary|terms apply|t cs apply|"
    r"winners announced)\b"
)


_CURSE_RE = re.compile(r"\b(?:die in a fire|drop dead|rot in hell|burn in hell)\b")


def _curse_at_people(text: str) -> list[Reason]:
    """ "die in a fire, noob" is a death wish; "this patch should die in a fire" is not."""
    for m in _CURSE_RE.finditer(text):
        game_subject = set(text[: m.start()].split()[-5:]) & _not_people()
        if not game_subject and not _is_play(text, m.start(), m.end()):
            return [("harassment", repr(m.group(0)))]
    return []


def _should_die_at_people(text: str) -> list[Reason]:
    """ "our support should die" is about a person; "this boss should die" and "the dragon in
    this expansion needs to die" are not (a game thing among the four words before)."""
    for m in _DETERMINED_SHOULD_RE.finditer(text):
        before = set(text[: m.start()].split()[-4:])
        game_subject = ({m.group("noun"), m.group("noun2")} | before) & _not_people()
        if not game_subject and not _is_play(text, m.start(), m.end()):
            return [("harassment", repr(m.group(0)[:60]))]
    return []


#: Things one may burn or smash in a game: "we will burn your base" is play.
_OBJECT_NOT_PERSON = frozenset(
    ("base", "tower", "towers", "nexus", "core", "inhibitor", "generator", "turret", "turrets",
     "defenses", "defences", "spawn", "barricade", "shield", "armor", "armour", "wall", "walls",
     "fort", "castle", "village", "ship", "tank", "army", "units", "build", "team", "squad",
     "lane", "jungle", "raid", "boss", "rank", "elo")
)  # fmt: skip
_HARM_ACT_RE = re.compile(
    r"\b(?:i|we|someone|somebody|ill|well|gonna|going to|should|will|lets|imma|ima|wanna|"
    r"want to|gotta|about to|finna|go|pls|please)(?: [a-z]+){0,2} "
    r"(?P<verb>kill|murder|stab|shoot|hurt|beat|strangle|choke|rape|burn|bomb|punch|kick|slap|"
    r"attack|jump|smash|torch|poison|run over|beat up) "
    r"(?P<object>you|u|ya|yall|him|her|them|(?:that|this|your|ur|his|her|their) (?P<noun>[a-z]+))"
    r"\b(?P<rest>.*)"
)
_PLAY_VERBS = frozenset(
    {"kill", "shoot", "beat", "burn", "bomb", "attack", "jump", "kick", "smash"}
)


def _harm_act(text: str) -> list[Reason]:
    """Someone proposing to hurt a person ("someone should shoot that streamer", "gonna burn
    your house down"); "we will burn your base" and "kill him in the 1v1" are play."""
    for m in _HARM_ACT_RE.finditer(text):
        if m.group("noun") in _OBJECT_NOT_PERSON or m.group("noun") in _not_people():
            continue
        if m.group("noun") and not (
            {m.group("noun"), *m.group("rest").split()[:2]} & (_PERSON_NOUNS | _BODY)
            or _is_person(f"that {m.group('noun')}")
        ):
            continue  # "murder this ranked grind", "kill that playlist": a thing, not a person
        if m.group("verb") in _PLAY_VERBS and _GAME_CONTEXT.search(m.group("rest")):
            continue
        if _is_play(text, m.start(), m.end("object")):
            continue
        return [("harassment", repr(m.group(0)[:60].strip()))]
    return []


# -- structural threat and self-harm rules ---------------------------------------------------------
#
# A threat is a shape, not a phrase: a wish or intent frame ("hope", "should", "deserves",
# "I'll", "someone should"), a person as target ("you", "him", "your family", "that streamer"),
# and a harm ("die", "get shot", "put down", "end", "hurt"). Self-harm is a directive ("go",
# "just", "pls", "you should", "do us a favour and") with a self-harm act ("kill/hang/neck/
# unalive yourself", "drink bleach", "jump off a bridge", "end it all"). Each part is a word
# class, so a phrasing never seen before still matches when its parts are known; a game place or
# thing next to the match (game_context.txt, not_people.txt) makes it play, a real-world word
# (real_world.txt) makes it a threat again.


@functools.cache
def _game_words() -> frozenset[str]:
    """Game places and things (game_context.txt plus not_people.txt, without "it"/"thing")."""
    people_too = {"it", "thing", "ai", "god", "gods", "king", "queen"}  # "may god strike you"
    return frozenset(_data("game_context.txt")) | (_not_people() - people_too)


@functools.cache
def _real_world() -> frozenset[str]:
    """Words that make a threat real again however game-like the rest (real_world.txt)."""
    return frozenset(_data("real_world.txt"))


_LOCATIVE = frozenset(
    {"in", "on", "at", "to", "with", "by", "during", "against", "vs", "versus", "inside", "from",
     "into", "using", "off", "without", "before", "through", "thru", "outside"}
)  # fmt: skip
#: Words after a harm that say it is about play: "you will die a lot", "hope you die less".
_PLAY_MODIFIER_RE = re.compile(
    r"^(?:a lot|alot|lots|so much|less|more|often|again|instantly|first try|every time|twice|"
    r"(?:next|this|every|each|that|the first|in the next|in round) (?:single )?(?:round|game|"
    r"match|map|fight|set|gulag|duel|scrim|lobby|queue|rotation)|"
    r"a few times|a hundred times|\d+ times|in (?:one|two|three|\d+) (?:hits?|shots?|taps?)|"
    r"if (?:you|u) (?:peek|push|miss|fail|go|stand|play|pick|dont|forget)|to respawn|to reset|"
    r"to skip|to unstuck|to get (?:out|unstuck|back)|to (?:get|reach|find|grab|unlock|land|collect|"
    r"activate|trigger|access|open|enter|glide|escape|dodge|avoid|loot|farm|save time)|for (?:the|a) "
    r"(?:secret|collectible|chest|shortcut|short cut|achievement|trophy|skip|glitch))\b"
)


#: "for real" / "in real life" within the five words after a match (used with ``.match(text, end)``).
_FOR_REAL_RE = re.compile(r"(?: \w+){0,5}? (?:for real|in real life|real life)\b")
_KIN_BODY_IRL = frozenset(
    {"irl", "reality", "family", "mom", "mum", "mother", "dad", "father", "kids", "children",
     "sister", "brother", "wife", "husband", "girlfriend", "boyfriend", "parents", "dog", "cat",
     "face", "teeth", "throat", "neck", "skull", "bones", "body", "legs", "cancer", "hospital",
     "school", "jaw", "nose", "ribs", "kneecaps", "spine", "hotel", "motel", "airbnb", "wrist",
     "wrists", "fingers", "arm", "arms"}
)  # fmt: skip
#: Things only a game has: "jump off the building and use your parachute".
_MECHANICS = frozenset(
    {"parachute", "glider", "wingsuit", "paraglider", "jetpack", "grapple", "respawn",
     "respawns", "checkpoint", "hitbox", "cooldown", "hp", "xp", "npc", "npcs", "cutscene",
     "glide", "paraglide", "shortcut", "ledge", "ledges", "bonfire", "shrine", "waypoint",
     "speedrun", "skip", "fast travel", "double jump"}
)  # fmt: skip
#: Verbs that also mean "win against": with "at/in X" after their object they name a contest.
_DEFEAT_VERBS = frozenset({"beat", "beating", "destroy", "crush", "smoke", "outplay", "wreck"})


def _is_play(text: str, start: int, end: int) -> bool:
    """Whether the match ``text[start:end]`` is about a game: a game word is its subject (among
    the four words before) or sits in a place/instrument phrase within the eight words after it,
    or a play modifier follows it; and no real-world word is in the match or after it."""
    inside = text[start:end].split()
    after = text[end:].split()[:8]
    # A place or vehicle in the match may be in a game ("jump off the roof to get the
    # collectible", "his address in the game's lore"); kin, body and "irl" never are.
    if set(after) & _real_world() or set(inside) & _KIN_BODY_IRL or _FOR_REAL_RE.match(text, end):
        return False
    games = _game_words() | {_MASK}  # an allowlisted name is a game, mode or character
    named_subject = bool(inside) and inside[0] in _PRONOUNS  # "they should all die": no guess
    if not named_subject and set(text[:start].split()[-4:]) & games:
        return True
    if _PLAY_MODIFIER_RE.match(" ".join(after)) or set(after) & _MECHANICS:
        return True
    if set(inside) & _DEFEAT_VERBS and after and after[0] in {"at", "in", "on"}:
        return True  # "I'm going to beat you at Street Fighter": a contest
    if inside and inside[-1] in _LOCATIVE and set(after[:3]) & games:
        return True  # "wait outside the boss room"
    for i, word in enumerate(after[:3]):  # "die to the boss", "find you again in the lobby"
        if word in _LOCATIVE and set(after[i + 1 : i + 4]) & games:
            return True
    return bool({"1v1", "ranked", "scrims", "scrim", "pvp"} & set(after))


_TARGET = _alt(
    "you", "u", "ya", "yall", "yu", "him", "her", "them", "he", "she", "they", "ppl", "people",
    "everyone", "everybody", "youre", "youll", "hes", "shes", "theyre",
    "all (?:the |of the )?(?:[a-z]+ ){0,2}[a-z]+(?: (?:in|on|from) (?:this|the|that|their|my) [a-z]+)?",
    "every (?:single )?[a-z]+(?: (?:of|in|on|from) (?:the|that|this|their|your|ur|my) [a-z]+(?: [a-z]+)?)?",
    "everyone (?:wearing|supporting|repping|playing|cheering for|who|that)(?: [a-z]+){1,3}?",
    "(?:women|men|girls|dude|guy|kid|bro|girl|streamers|devs|developers|mods|moderators|admins|refs|referees|casters|"
    "journalists|fans|gamers|immigrants|jews|muslims|christians|blacks|whites|asians|gays|trans "
    "people)(?: (?:in|on|from|of) [a-z]+)?",
    _alt("your", "ur", "yo", "his", "her", "their", "that", "this", "the", "those", "these")
    + r"(?: [a-z]+)? [a-z]+",
)  # fmt: skip
#: What may happen to a target in a wish or a "should": dying or being hurt.
_OUTCOME = _alt(
    r"die(?:s|d)?", "dying", "be dead", "was dead", "were dead", "dead", "drop dead",
    r"(?:get|gets|got|be|is|are|being) (?:\w+ )?"
    + _alt("shot", "killed", "murdered", "stabbed", "hurt", "beaten", "beat up", "run over",
           "hit by an? \\w+", "ran over", "hanged", "hung", "lynched", "executed", "put down",
           "tortured", "raped", "burned", "burnt", "gassed", "strangled", "choked", "cancer",
           "hunted(?: down)?", "exterminated", "mutilated", "skinned", "set on fire", "drowned",
           "dragged", "kidnapped", "thrown off a \\w+",
           "aids", "a tumou?r", "acid", "maimed", "disfigured", "crushed", "sick and die", "what(?:s| s| is) coming", "hospitalized",
           "paralyzed", "crippled", "jumped", "bullet", "bullets"),
    "cancer", "a bullet", "bullets", "death", "to suffer", r"suffer(?:s)?", r"rot(?:s)?",
    r"burn(?:s)?", r"drown(?:s)?", r"choke(?:s)?(?: and die| to death)?", r"crash(?:es)?",
    "break (?:your|ur|his|her|their) (?:neck|legs?|arms?|back|spine|skull)",
    "have an accident", "never wake up", "stop breathing", "not wake up", "disappear forever",
    r"stop(?:s|ped)? (?:waking up|breathing)", "(?:a|the) (?:brick|rock|molotov|bullet) through "
    "(?:his|her|their|your|ur) (?:\\w+ )?windows?", "an? (?:good |proper |real )?(?:beating|beatdown)",
    "a knife",
    "(?:get|be|are|is) in (?:a|an) (?:\\w+ )?(?:accident|crash|wreck|coma)", "get into an accident",
    "(?:be |get |got )?wiped (?:off|from) the face of (?:the|this) (?:earth|planet|world)",
    "(?:be |get )?erased from existence", "(?:be |get )?removed from the gene pool",
    "beaten bloody", "beaten up", "bloodied", "black and blue",
    "catch (?:a |some )?(?:stray )?(?:bullets?|hands|a stray|the hands|one to the head)",
    "end up (?:dead|in (?:a|the) (?:ditch|hospital|coffin|body bag|morgue|grave|wheelchair|river))",
    r"bleed(?:s)?(?: out)?", "in pain", "in agony", "scream", "a bullet in (?:the|his|her|your) head",
    r"(?:be |get )(?:\w+ ){1,3}and (?:shot|killed|hanged|executed|stabbed|beaten|gassed|burned)",
)  # fmt: skip
_WISH_FRAME = _alt(
    "hope", "hoping", "hopefully", "wish", "wishing", "pray", "praying", "may", "want", "wanna see",
    "want to see", "would love to see", "id love to see", "cant wait to see", "cant wait for",
    "cant wait till", "would be nice if", "deserve", "deserves", "deserved", "love to watch",
    "pay to see", "pay to watch", "pay money to see", "love to see",
    "like to watch", "wanna watch", "want to watch", "enjoy watching", "cant wait to watch",
    "id love to watch", "would love to watch", "would be (?:hilarious|funny|nice|great|cool|sick) if",
    "itd be (?:hilarious|funny|nice|great|cool) if", "imagine if", "cant wait (?:until|till|til)",
    "wouldnt it be (?:hilarious|funny|nice|great|cool) if",
)  # fmt: skip
_MODAL = _alt(
    "should", "shud", "shld", "should all", "shouldve", "need to", "needs to", "ought to",
    "must", "has to", "have to", "gotta", "deserves? to", "deserve", "deserves", "will", "ll",
    "needs", "need",
    "is gonna", "are gonna", "is going to", "are going to", "gonna", "going to", "better", "can", "could",
    "wont",
)  # fmt: skip
_ACTOR = _alt(
    "i", "ill", "id", "im", "imma", "ima", "we", "were", "someone", "somebody", "anyone",
    "any1", "some1", "lets", "let us", "gonna", "going to", "about to", "finna", "pls", "please",
    "plz", "go", "will", "i will", "we will", "i would", "should", "gotta", "wanna", "want to",
    "time to", "ready to", "cant wait to", "pay someone to", "pay somebody to",
)  # fmt: skip
_ACT = _alt(
    "kill", "murder", "stab", "shoot", "hurt", "beat", "beat up", "strangle", "choke", "rape",
    "end", "put down", "bury", "torture", "execute", "lynch", "hang", "drown", "slit", "gut",
    "knock out", "run over", "burn", "torch", "poison", "punch", "slap", "kick", "smash",
    "break", "bash", "cut", "shank", "jump", "merk", "off", "eliminate", "take out", "find",
    "hunt", "hunt down", "track down", "come for", "come after", "visit", "get", "make", "dox",
    "rearrange", "cave in", "bust", "crack", "split", "snap", "gouge", "knife", "cap", "pistol whip",
    "smack", "whoop", "clobber", "pummel", "stomp",
    "doxx", "swat", "expose", "leak", "slash", "headshot", "snipe", "one tap", "exterminate",
    "eradicate", "purge", "wipe out", "firebomb",
)  # fmt: skip
#: Acts that are also ordinary play; they need their target to be a person and no game context.
_PLAY_ACTS = frozenset(
    {"kill", "shoot", "beat", "end", "find", "hunt", "hunt down", "track down", "get", "ruin",
     "make", "wreck", "destroy", "take out", "eliminate", "jump", "smash", "break", "burn",
     "bash", "kick", "punch", "slap", "visit", "come for", "come after", "expose", "leak",
     "off", "merk", "bury", "knock out", "smack", "whoop", "clobber", "pummel", "stomp",
     "headshot", "snipe", "one tap"}
)  # fmt: skip
_OBJ = _alt(
    "you", "u", "ya", "yall", "yu", "him", "her", "them", "everyone", "everybody", "all of you",
    "every (?:single )?\\w+", "all (?:the |of the )?\\w+",
    _alt("your", "ur", "yo", "his", "her", "their", "that", "this", "the", "those", "these")
    + r"(?: [a-z]+)? [a-z]+",
)  # fmt: skip
#: Verbs whose object may be a body part or a home: "knock your teeth out", "burn his house".
_BODY = frozenset(
    {"face", "teeth", "head", "skull", "legs", "leg", "arms", "arm", "neck", "throat", "jaw",
     "nose", "kneecaps", "spine", "back", "house", "home", "car", "family", "kids", "mom", "dad",
     "wife", "dog", "cat", "children", "parents", "sister", "brother", "girlfriend", "bones",
     "life", "existence", "bloodline", "lineage", "ribs", "eyes", "fingers", "hands", "finger",
     "hand", "tooth", "bone", "rib", "kneecap", "eye", "ear", "ears", "toe", "toes", "wrist",
     "tires", "tyres", "tire", "tyre", "window", "windows", "brakes",
     "wrists", "knee", "knees", "elbow", "elbows", "ankle", "ankles"}
)  # fmt: skip
#: Nouns after "your/his/that" that name a person ("that streamer", "your kid").
_PERSON_NOUNS = frozenset(
    {"streamer", "streamers", "dev", "devs", "developer", "developers", "mod", "mods",
     "moderator", "moderators", "admin", "admins", "ref", "refs", "referee", "caster",
     "casters", "kid", "kids", "guy", "guys", "dude", "dudes", "girl", "girls", "woman",
     "women", "man", "men", "boy", "boys", "person", "people", "player", "players", "teammate",
     "teammates", "team mate", "support", "jungler", "healer", "tank", "coach", "owner", "ceo",
     "family", "mom", "mum", "mother", "dad", "father", "sister", "brother", "wife", "husband",
     "girlfriend", "boyfriend", "son", "daughter", "children", "parents", "friends", "fans",
     "fanbase", "community", "youtuber", "journalist", "reviewer", "noob", "noobs", "loser",
     "losers", "idiot", "idiots", "clown", "clowns", "bozo", "rat", "rats", "trash", "bitch",
     "pos", "cheater", "cheaters", "camper", "campers", "troll", "trolls", "hater", "haters",
     "gamer", "gamers", "nerd", "nerds", "creator", "host", "judge", "umpire", "commentator",
     "lot", "bunch", "whole", "entire", "one", "ones", "self", "ass", "dog", "dogs", "cat", "cats", "pet", "pets", "baby", "grandma", "grandpa", "cousin",
     "uncle", "aunt", "jews", "muslims", "christians", "blacks", "whites", "asians", "gays",
     "immigrants", "mexicans", "trans", "fag", "fags", "crew", "chat", "clan", "guild",
     "followers", "viewers", "subs", "simps", "kin", "relatives", "grandparents", "neighbours",
     "neighbors", "roommate", "bf", "gf", "twin", "babies", "nephew", "niece", "member",
     "members", "shoutcaster", "shoutcasters", "journalists", "reviewers", "staff", "employees",
     "employee", "intern", "interns", "designer", "designers", "producer", "producers",
     "foreigner", "foreigners", "refugees", "migrants"}
)  # fmt: skip
_PRONOUNS = frozenset({"you", "u", "ya", "yall", "yu", "him", "her", "them", "he", "she", "they",
                       "ppl", "people", "everyone", "everybody", "youre", "youll", "hes", "shes",
                       "theyre"})  # fmt: skip


#: Where a target phrase's qualifier starts: "every member | of the dev team", "all the players |
#: in this server" (the person is before it).
_QUALIFIER_RE = re.compile(
    r" (?:of|in|on|from|wearing|supporting|repping|playing|cheering|who|that) "
)


def _is_person(phrase: str) -> bool:
    """A target phrase that names a person: a pronoun, or a determiner with a person noun
    ("that streamer", "your whole family", "every streamer")."""
    phrase = _QUALIFIER_RE.split(phrase, maxsplit=1)[0]
    words = phrase.split()
    if not words:
        return False
    if words[0] in _PRONOUNS:
        return True
    head = _head_noun(phrase)
    if head == "team":
        return True  # "the balance team"
    if words[-1] in _game_words() or words[-1] in _OBJECT_NOT_PERSON:
        return False
    return head is not None


_DETERMINERS = frozenset(
    {"the", "that", "this", "those", "these", "your", "ur", "yo", "his", "her", "their", "every",
     "all", "my", "our"}
)  # fmt: skip


_STAFF_TEAMS = frozenset({"dev", "devs", "balance", "design", "mod", "moderation", "admin", "qa",
                          "pr", "community", "art", "writing", "leadership", "management"})  # fmt: skip


def _is_person_noun(word: str) -> bool:
    return (
        word in _PERSON_NOUNS
        or (word.endswith("s") and word[:-1] in _PERSON_NOUNS)
        or word + "s" in _PERSON_NOUNS  # "every immigrant"
    )


def _head_noun(phrase: str) -> str | None:
    """The person noun of a determiner phrase: "that toxic jungler" -> "jungler", and "that dev
    for" -> "dev" (a phrase matched as determiner + two words may run one word past its noun)."""
    words = phrase.split()
    if words and words[0] not in _DETERMINERS and _is_person_noun(words[0]):
        return words[0]  # a bare group leads: "women in esports"
    if len(words) >= 2 and words[-1] == "team" and words[-2] in _STAFF_TEAMS:
        return "team"  # "the balance team": people who work on the game, not a side in a match
    return next((w for w in reversed(words[1:][-2:]) if _is_person_noun(w)), None)


def _head_end(m: re.Match[str], group: str) -> int:
    """Where the phrase in ``group`` really ends: after its person noun when the pattern took
    one word more ("end this guy for real": the object is "this guy", "for real" follows)."""
    phrase = m.group(group)
    words = phrase.split()
    if len(words) < 3 or _is_person_noun(words[-1]) or words[-1] in _BODY:
        return m.end(group)
    if not (_is_person_noun(words[-2]) or words[-2] in _BODY):
        return m.end(group)
    return m.start(group) + len(" ".join(words[:-1]))


def _role(phrase: str) -> bool:
    """Whether the phrase's noun is an in-game role ("the healer first", "their support")."""
    return (_head_noun(phrase) or phrase.split()[-1]) in _ROLE_NOUNS


#: In-game roles: "kill the healer first" is a tip, so with a play act they are not people.
_ROLE_NOUNS = frozenset(
    {"support", "supports", "jungler", "junglers", "healer", "healers", "tank", "player",
     "players", "teammate", "teammates", "noob", "noobs", "camper", "campers", "cheater",
     "cheaters", "carry", "adc", "mid", "top", "bot", "medic", "one", "ones", "lot", "bunch",
     "whole", "entire", "self", "kid", "guy", "guys", "dude", "trash", "rat", "rats", "team",
     "chat", "crew", "gamer", "gamers", "nerd", "nerds", "clown", "clowns", "bozo", "idiot",
     "idiots", "loser", "losers", "troll", "trolls", "boys", "lobby"}
)  # fmt: skip
_WISH_RE = re.compile(
    rf"\b{_WISH_FRAME}(?: that| for| if)? (?P<target>{_TARGET})(?: (?:who|that)(?: \w+){{1,5}}?)?(?:(?: \w+){{0,3}}?|"
    # a longer wish joins its harm with "and": "hope you trip down the stairs and break your neck"
    rf"(?: \w+){{1,5}}? and(?: then)?) "
    rf"(?:would |will |to |gets? |get |could |just |finally |all |ll |d )?(?:\w+ )?"
    rf"(?P<harm>{_OUTCOME})\b"
)
_SHOULD_RE = re.compile(
    rf"\b(?P<target>{_TARGET}(?: and {_TARGET})?)(?: like (?:you|u|ya|him|her|them|that|this)|"
    r" (?:who|that)(?: \w+){1,6}?)?"
    rf"(?: \w+)?? (?:really |all |just |literally )?"
    rf"{_MODAL}"
    rf"(?: all| just| literally| go| fucking| really| actually| be| get| gets| lined up and| taken "
    rf"out and| dragged out and| publicly| slowly)* (?P<harm>{_OUTCOME}|(?:lined up|taken out|"
    r"dragged out|rounded up|strung up) and (?:shot|killed|executed|hanged|hung|gassed|burned|"
    r"stabbed|beaten))\b"
)
_ACT_RE = re.compile(rf"\b{_ACTOR}(?: \w+){{0,2}}? (?P<verb>{_ACT}) (?P<object>{_OBJ})\b")
#: Phrasal acts with the target inside: "put you down", "beat him up", "take her out".
_SPLIT_ACT_RE = re.compile(
    rf"\b{_ACTOR}(?: \w+){{0,2}}? (?P<verb>put|beat|take|knock|rough|lay|gun|cut|shoot|mess|run|"
    r"smoke|wipe|rub|snuff|stamp|string|lock|bottle|jump|light|fuck|shut|blow|lit) "
    r"(?P<object>you|u|ya|yall|him|her|them|(?:this|that|the|your|ur|his|her|their) [a-z]+) "
    r"(?P<particle>down|up|out|off|over|6 feet under|six feet "
    r"under|in the dirt|in the ground)\b"
)
#: A wish that someone else does the harm: "hope someone stabs you", "pray a bus hits him".
_WISH_ACTOR_RE = re.compile(
    rf"\b{_WISH_FRAME}(?: that)? (?:someone|somebody|some1|a \w+|the cops|the police|an? \w+ \w+|"
    r"(?:your|ur|his|her|their) (?:\w+ )?\w+) "
    r"(?:\w+ )?(?:kills?|stabs?|shoots?|hurts?|murders?|beats?|runs? over|hits?|rapes?|swats?|"
    r"doxx?e?s|chokes?|strangles?|jumps?|ends?|breaks?|finds?|burns?|torch(?:es)?|bombs?|"
    r"blows? up|sets? fire to|poisons?|hunts? down|tracks? down|shanks?|robs?|kidnaps?|slashes|"
    r"slash) (?:you|u|ya|yall|him|her|them|your|ur|his|their|(?P<object>(?:the|that|this|those|"
    r"these) [a-z]+))\b"
)
#: An order to harm people with nobody named to do it: "hang the devs", "kill every streamer".
_IMPERATIVE_RE = re.compile(
    r"(?:^|\b(?:lets|let s|pls|please|just|go|someone|somebody|time to|we should|yall should|"
    r"everyone|everybody|chat|boys) )"
    r"(?P<verb>hang|lynch|execute|shoot|stab|kill|murder|behead|gas|burn|torch|nuke|bomb|beat|"
    r"exterminate|eradicate|purge|firebomb|"
    r"hurt|rape|strangle|choke|drown|dox|doxx|swat|jump) "
    rf"(?P<object>{_OBJ})\b"
)


def _threat_shapes(text: str) -> list[Reason]:
    """The structural threat rules (section comment above) on a folded text."""
    for rule in (_WISH_RE, _SHOULD_RE):
        for m in rule.finditer(text):
            target = m.group("target")
            if target.split()[-1] in {"game", "games"} or not _is_person(target):
                continue
            if set(text[m.start() : m.start("harm")].split()[-2:]) & _NEGATORS:
                continue  # "hope you enjoy it and don't die", "hope you never get hurt"
            if text[: m.start()].split()[-1:] in (["or"], ["otherwise"], ["else"]):
                continue  # "upgrade the ship, or people will die": a consequence, not a wish
            if _is_play(text, m.start(), m.end()):
                continue
            return [("harassment", repr(m.group(0)[:60]))]
    for rule in (_WISH_ACTOR_RE, _SPLIT_ACT_RE):
        for m in rule.finditer(text):
            verb = m.groupdict().get("verb")
            obj = m.groupdict().get("object") or "you"
            if not _is_person(obj) or (verb in {"take", "run"} and _role(obj)):
                continue  # "take the tower out", "run the healer over" (a kart game)
            if verb in {
                "take",
                "shoot",
                "jump",
                "light",
                "lit",
                "wipe",
                "smoke",
                "blow",
                "shut",
                "lock",
                "mess",
            } and _is_play(text, m.start(), m.end()):
                continue
            if verb in {"shut", "mess", "lock", "light", "lit", "blow", "fuck", "rub"}:
                continue  # "shut him up", "mess you up" (a game), "light him up": play and banter
            if _is_play(text, m.start(), m.end()):
                continue
            return [("harassment", repr(m.group(0)[:60]))]
    for m in _IMPERATIVE_RE.finditer(text):
        obj, verb = m.group("object"), m.group("verb")
        words = obj.split()
        if words[0] in _PRONOUNS or not _is_person(obj) or _role(obj):
            continue  # "kill him" / "kill the healer first" are calls in a match
        if _is_play(text, m.start(), m.end()):
            continue
        return [("harassment", repr(m.group(0)[:60]))]
    for m in _ACT_RE.finditer(text):
        obj, verb = m.group("object"), m.group("verb")
        end = _head_end(m, "object")
        obj = text[m.start("object") : end]
        words = obj.split()
        body = len(words) >= 2 and words[-1] in _BODY
        if not (_is_person(obj) or body):
            continue
        if verb in _PLAY_ACTS and not body and _is_play(text, m.start(), end):
            continue
        if body and set(text[: m.start()].split()[-4:]) & _game_words():
            continue  # "the new map will burn your eyes": a game thing does it
        real = set(text[end:].split()[:8]) & _real_world() or _FOR_REAL_RE.match(text, end)
        if verb in _PLAY_ACTS and not body and _role(obj) and not real:
            continue  # "we should kill their support first"
        if verb in {"headshot", "snipe", "one tap"} and not real:
            continue  # "we carry, you headshot": shots in a game unless real life is named
        if verb in _PLAY_ACTS and end == len(text) and verb in {"get", "make", "find"}:
            # "i'll get you" / "find him": too vague alone
            continue
        if (
            verb in {"get", "make", "visit", "find", "ruin", "wreck", "destroy", "expose", "leak"}
            and not body
            and not _TAIL_THREAT_RE.match(text[end:])
            and not real  # "we find them. faces, homes, cars."
        ):
            continue
        if verb in _PLAY_ACTS and not body and m.group(0).split()[0] == "go":
            continue  # "go kill him" is a play call
        return [("harassment", repr(m.group(0)[:60]))]
    return []


#: After a vague act ("find you", "get him", "make you"): what makes it a threat.
_TAIL_THREAT_RE = re.compile(
    r"^ (?:irl|in real life|outside|at (?:your|ur|his|her|their) \w+|and (?:kill|hurt|end|"
    r"stab|shoot|beat|make|break|ruin)|pay|suffer|regret|bleed|and your|where|when (?:you|u) "
    r"(?:sleep|least)|soon|tonight|one day|eventually|(?:i|we) promise|wait)\b"
)

#: Threat idioms and doxxing/swatting shapes that need no act verb; each is vetted by _is_play.
_THREAT_IDIOMS = [
    r"\b(?:you|u|ya|youll|youre|ur|he|she|they|hell|shell|theyll) (?:\w+ )?(?:gonna |going to |will |ll |are gonna |is gonna )?"
    r"regret (?:it|this|that|everything|the day|ever|being born)\b(?= .*\b(?:irl|when (?:i|we)|once (?:i|we)|"
    r"if (?:i|we)|outside|find|see you|catch|door|house|home|address|promise|born))",
    r"\b(?:see|watch|wait and see|wait till you see|youll see) what (?:happens|will happen|is gonna "
    r"happen|i do|we do) (?:when (?:i|we)|if (?:i|we)|once (?:i|we)|to (?:you|u|ya|him|her|them|"
    r"your|ur|his|their)|next)\b",
    # a person in a coffin, a body bag, six feet under
    r"\b(?:you|u|ya|youd|ud|youll|youre|ur|he|she|they|him|her|them|hed|shed)(?: \w+){0,3} "
    r"(?:in|into|inside|under) (?:a |the |an |your |his |her )?(?:coffin|casket|grave|body bag|"
    r"bodybag|morgue|urn|ground|dirt|six feet|6 feet|wheelchair|hospital bed|icu|cast|neck brace)\b",
    r"\bwhen (?:i|we|im|were|i m|we re) (?:m |am |are |re )?(?:done|finished|through) with (?:you|u|ya|"
    r"him|her|them)\b",
    r"\b(?:dies|burns|burns down|crashes|goes down|explodes|blows up)\b(?: \w+){0,2} and (?:you|u|him|"
    r"her|them) (?:with it|too|along with it|next)\b",
    r"\bstrike (?:you|u|ya|him|her|them) (?:down|dead)\b",
    r"\b(?:you|u|ya|youd|ud|you d)(?: d)? better (?:hide|lock your doors|pray|run while you can|"
    r"start running|not show your face|stay home|stay inside)\b",
    r"\b(?:run|hide) while (?:you|u) (?:still )?can\b",
    r"\b(?:waiting|wait|be waiting|waitin|well be|ill be) (?:for (?:you|u|ya|him|her|them) )?"
    r"(?:outside|by the exit|at the exit|in the parking lot|at your|at the door|by your|at his|"
    r"at her)\b",
    r"\b(?:youre|you are|ur|u r|you|u|your family is|your kids are|ur family is) (?:not|never) safe\b",
    r"\bmake an example (?:out )?of (?:you|u|ya|him|her|them)\b",
    r"\b(?:youll|you will|u will|ull|you ll|hell|shell|theyll|you|u) never see (?:it|me|us|this) "
    r"coming\b",
    r"\b(?:next time|the day|the moment) (?:you|u|he|she|they) \w+(?: \w+){0,2} (?:will be|is|is gonna "
    r"be|s gonna be|ll be|gonna be) (?:your|ur|his|her|their) last\b(?! \w)",
    r"\b(?:if|when|once) (?:you|u|he|she|they) (?:ever )?(?:show up|come|show (?:your|his|her) face)"
    r"(?: \w+){0,4} (?:you|u|he|she|they) (?:wont|will not|are not|arent|aint|isnt) (?:leave|leaving|"
    r"walk out|make it out|go home|going home|be leaving)\b",
    r"\b(?:youre|you are|ur|u r|hes|he is|shes|she is) (?:a )?(?:dead (?:man|woman|kid|boy|girl)|"
    r"walking corpse)\b",
    r"\bone more (?:word|move|time|comment|tweet|post|peep|clip|stream)(?: \w+){0,3} and (?:you|u|ur|"
    r"youre|you are|your \w+)(?: \w+){0,2} (?:dead|done|finished|gone|next|regret it)\b",
    r"\b(?:youll|you will|u will|ull|you ll) be sorry\b(?= .*\b(?:when|once|if) (?:i|we)\b)",
    r"\b(?:youll|you will|u will|ull|you ll|hell|shell|theyll|he will|she will|(?:your|ur|his|her) "
    r"(?:whole )?(?:family|kids|mom|mum|dad|parents|wife|sister|brother) (?:will|ll|is gonna|are "
    r"gonna)) pay for (?:this|"
    r"that|it|what you did|what you said|your words)\b",
    r"\bknow (?:your|ur|his|her|their) (?:daily )?(?:schedule|routine)\b(?! (?:is|looks|seems))",
    r"\b(?:you|u|ya|your|ur|his|her|their) (?:\w+ ){0,2}(?:wont|will not|arent|are not|isnt|is not|"
    r"aint|not gonna|never) be safe\b",
    r"\bmake (?:your|ur|his|her|their) (?:\w+ )?life (?:a )?(?:living )?(?:hell|miserable|a nightmare)\b",
    # someone else's hand in a wish: "hope a truck flattens you"
    r"\b(?:hope|hoping|wish|pray|praying|may) (?:that )?(?:a|an|the|some) (?:\w+ )?(?:truck|car|bus|"
    r"train|plane|bullet|meteor|bomb|shark|bear|dog|tornado|lightning|piano|brick|drunk driver|"
    r"semi|tank|missile|nuke|virus|disease|cancer|stroke|heart attack) (?:\w+ )?\w+s "
    r"(?:you|u|ya|him|her|them|your|ur|his|their)\b",
    r"\bsee what happens to (?:you|u|ya|him|her|them|your|ur)\b",
    r"\bsee what happens (?:when|if|once) (?:you|u|he|she|they) (?:\w+ )?(?:walk|leave|go home|step|"
    r"get home|get out|come out|drive|log off|show up|walk out)\b",
    r"\b(?:watch|watching|mind) (?:your|ur|ya|yo|his|her) (?:\w+ )?back\b",
    r"\bsleep with (?:one eye open|the lights on|a knife|your door locked)\b",
    r"\b(?:count|counting) (?:your|ur|his|her) days\b",
    r"\b(?:days|hours) are numbered\b",
    r"\b(?:wont|will not|never|not|aint) (?:live|make it|survive|last) (?:to see|to|through|past|"
    r"till|until) (?:tomorrow|the (?:week|night|weekend|day|morning)|next (?:week|month|year|"
    r"weekend|day|friday|monday|tuesday|wednesday|thursday|saturday|sunday)|another day|your "
    r"(?:birthday|next birthday|graduation|wedding)|christmas|the end of the (?:week|month|day))\b",
    r"\b(?:shame|pity) if (?:your|ur|you|u|his|her|their|he|she|they)(?: \w+){0,3} (?:caught fire|"
    r"catches fire|"
    r"burned|burnt|burns|got hurt|gets hurt|broke|exploded|blew up|got leaked|leaked|disappeared|"
    r"went missing|had an accident|has an accident|got hit|gets hit|fell|died|dies|got broken|gets "
    r"broken|broken|got injured|gets injured|snapped|got snapped|got smashed|gets smashed)\b",
    r"\bshoot(?:s|ing)? up (?:your|ur|his|her|their|the|a|that|this) (?:\w+ )?(?:school|house|"
    r"home|office|work|workplace|mosque|church|synagogue|mall|event|convention|stream|lan|party|"
    r"studio|hq|headquarters|arena|venue|stadium|con)\b",
    r"\b(?:you|u|ya|your family|ur family|your kids|ur kids|your mom|ur mom)(?: are| is|re)? next\b"
    r"(?! (?:in|up|on|to|for|round|game|match|map|pick|turn|after|week|season|time|year))",
    r"\b(?:coming|comin|come) for (?:you|u|ya|him|her|them|your|ur|his|their)\b(?! (?:\w+ )?"
    r"(?:crown|title|spot|rank|ranking|throne|record|records|belt|place|seat|job|position|wr|pb|"
    r"lunch|top spot|number one|no 1|#1|trophy|championship|streak|kd|elo|mmr)\b)",
    r"\bwhat(?:s| s| is) coming (?:to|for) (?:you|u|ya|him|her|them)\b",
    r"\bmake sure (?:you|u|ya|he|she|they|your \w+|ur \w+) (?:\w+ )?(?:suffer|suffers|pay|pays|"
    r"regret|regrets|bleed|bleeds|die|dies|cry|cries|hurt|hurts|never)\b",
    r"\bmake sure (?:you|u|he|she|they) (?:never|cant|wont|dont|can not|cannot) "
    r"(?:walk|breathe|wake up|see|live|talk|stream|play|speak|use (?:your|his|her) \w+) again\b",
    r"\bmake sure (?:you|u|he|she|they) (?:never|dont|wont) (?:wake up|see tomorrow|live)\b",
    r"\b(?:put|puts|putting) (?:you|u|ya|him|her|them|(?:that|this|the|your|ur|his|her|their) [a-z]+) "
    r"(?:in|into|six feet) (?:the |a )?(?:hospital|ground|grave|"
    r"coma|wheelchair|body bag|under|icu|morgue|casket|coffin)\b",
    r"\bbreak(?:s|ing)? (?:every|all the|all of the) (?:bone|bones)\b",
    r"\bbones? in (?:your|ur|his|her|their) body\b",
    r"\b(?:knock|kick|punch|smash|bash|cave|beat) (?:your|ur|his|her|their) (?:\w+ )?"
    r"(?:teeth|lights|head|skull|face|brains|jaw) (?:out|in|off|to)\b",
    r"\b(?:slit|cut|slash) (?:your|ur|his|her|their) (?:\w+ )?throats?\b",
    r"\b(?:last thing|last mistake) (?:you|u|ya) (?:ever |will ever )?(?:do|make|say)\b",
    r"\b(?:nobody|no one|noone) (?:would|will|is gonna|gonna) (?:care|notice|cry|mind) "
    r"(?:if|when) (?:you|u|he|she|they) (?:got|get|were|was|are|is)? ?(?:shot|killed|died|die|dead|"
    r"stabbed|murdered|run over|gone|hurt)\b",
    r"\b(?:id|i would|i ll|ill|i will|i d|would) (?:pay|give) (?:someone|somebody|anyone|"
    r"any1|money|good money|\$?\d+) (?:\w+ )?to (?:kill|hurt|beat|shoot|stab|end|jump|murder|"
    r"break|find|dox|doxx|swat)\b",
    r"\b(?:gets?|got|get) (?:you|u|ya|him|her|them) (?:killed|shot|stabbed|hurt|murdered|"
    r"swatted|doxxed|doxed|jumped)\b",
    r"\b(?:your|ur|his|her|their) (?:whole )?(?:family|kids|mom|mum|dad|wife|children|parents|"
    r"sister|brother) (?:is|are|will be|gonna be) (?:next|dead|done|in danger|not safe)\b",
    r"\b(?:your|ur|you|u|youre) (?:re |are |r )?(?:so |gonna be |going to be )?dead (?:next time|"
    r"when|once|if|the "
    r"moment|as soon as) (?:i|we)\b",
    # veiled threats: nothing said outright, the harm is implied
    r"\b(?:shame|pity|sad|tragic|terrible|awful|unfortunate) if (?:something|anything|smth) "
    r"(?:bad |terrible |unfortunate )?(?:were to |was to |is to |)?(?:happen|happened|happens) "
    r"(?:to )?(?:you|u|ya|your|ur|his|her|their|him|them|that|this|the)\b(?! (?:win|streak|rank|ranking|"
    r"account|stats|kd|elo|mmr|base|team|save|saves|progress|loadout|character|build|run|score|"
    r"record|game|games|channel|setup|pc|controller|console|collection|inventory|skin|skins))",
    r"\bwhat (?:happens|will happen|is gonna happen|happened) to (?:people|ppl|guys|girls|kids|"
    r"players|streamers|snitches|rats) like (?:you|u|ya|him|her|them|that)\b",
    r"\b(?:accidents|bad things|things) (?:happen|can happen|do happen) to (?:people|ppl|you|u|"
    r"streamers|kids|snitches|guys|\w+s) (?:like )?(?:you|u|who|that|like)\b",
    r"\b(?:be careful|careful|watch out|stay safe|hope you get home safe) (?:\w+ )?"
    r"(?:walking|driving|going|getting) (?:home|to school|to work|back)\b",
    r"\b(?:i|we) (?:know|found|saw|see|got) (?:what|which) (?:car|school|house|gym|bus|train|"
    r"street|town|door) (?:you|u|ya|he|she|they|your|ur|his|her) (?:\w+ )?(?:drive|drives|"
    r"take|takes|live|lives|go|goes|use|uses|work|works|attend|attends|is|are)\b",
    r"\b(?:stop|quit|leave|delete|log off|uninstall|apologi[sz]e|pay up|unban|unmute|give)\b"
    r"(?: \w+){0,4} or else\b",
    r"\b(?:ill|i will|we will|well|im gonna|were gonna|gonna|imma|ima) (?:\w+ )?make (?:you|u|ya|"
    r"him|her|them|your family|ur family) (?:pay|suffer|regret|bleed|beg|scream|disappear)\b",
    r"\b(?:if|when|once|next time|the day|the moment|as soon as) (?:i|we) (?:ever )?(?:meet|see|"
    r"catch|find|run into|spot|get) (?:you|u|ya|him|her|them)\b(?: \w+){0,3} "
    r"(?:irl|outside|in person|in real life|on the street|at (?:school|work|the mall|lan|the lan))"
    r"\b(?= .*\b(?:dead|die|kill|hurt|beat|smash|break|regret|end|finished|done|pay|bleed|"
    r"hospital|sorry|fight|jump|stab|shoot|punch|fuck you up|mess you up))",
    r"\b(?:you|u|ur|youre|you are|ya|he|she|hes|shes|theyre|they are) (?:so |gonna be |going to "
    r"be |literally |actually )?(?:dead|finished|done for|a dead man|dead meat|dead weight irl)\b"
    r"(?=.*\b(?:irl|in real life|outside|in person|when (?:i|we)|once (?:i|we)|if (?:i|we)|meet)\b)",
    r"\b(?:irl|in real life|in person|outside)\b.{0,40}\b(?:ur|youre|you are|your|you|u) "
    r"(?:so |gonna be |literally )?(?:dead|finished|done for|dead meat)\b",
    rf"\b{_WISH_FRAME}(?: that)? (?:your|ur|his|her|their|you|u|ya|(?:that|this|the) \w+(?: \w+)?s)(?: \w+){{0,3}} "
    r"(?:car|truck|van|bike|motorbike|bus|plane|flight|house|home|train|boat|ship|taxi|uber|apartment|flat|family|brakes|"
    r"tires|tyres|engine|parachute)\b"
    r"(?: \w+)? (?:crashes|crash|burns|burn|burns down|explodes|explode|blows up|blow up|sinks|"
    r"sink|catches fire|catch fire|collapses|collapse|gets hit|get hit|falls|goes down|burned|"
    r"crashed|flips|flip|flips over|rolls over|gets totaled|derails|goes up in flames|"
    r"gets t boned|wraps around|fail|fails|give out|gives out|blow out|blows out|gets torched|gets "
    r"burned|gets keyed|gets smashed|gets vandali[sz]ed|gets stolen|gets blown up|burns down)\b",
    # doxxing: knowing or hunting someone's whereabouts and personal details
    r"\b(?:know|ik|kno|knw|found|find|found out|find out|got|have|figured out|tell|see|spot|guess) (?:what|which) "
    r"(?:school|college|uni|university|town|city|street|house|gym|office|job|hospital|hotel|motel|"
    r"airbnb|room|apartment|flat|building|neighbou?rhood|bus stop|station|car|floor|gate) "
    r"(?:you|u|he|she|they|ur|your|his|her|their|youre|hes|shes|theyre|it is|its|this is)\b",
    r"\b(?:anyone|any1|who|somebody|someone|does anyone|anybody) (?:got|has|have|know|knows|"
    r"find|found|get) (?:his|her|their|ur|your|(?:this|that|the) [a-z]+s) (?:home |real |house |ip |irl |personal |full )?"
    r"(?:address|addy|ip|location|number|phone|phone number|real name|school|workplace|info|"
    r"socials|family|parents|dox)\b",
    r"\b(?:trace|tracing|traced|tracking|track|pinging|ping|grab|grabbing|grabbed|pulling|pull|"
    r"pulled|resolve|resolving|resolved|booting|boot|ddos|ddosing) (?:your|ur|his|her|their) "
    r"(?:ip|location|address|router|internet|wifi)\b",
    r"\b(?:ddos|ddosing|ddosed|boot|booting|booted) (?:you|u|him|her|them|this \w+|that \w+|the "
    r"streamer)\b(?! (?:off|from) (?:the )?(?:server|lobby|game|match|party))",
    r"\bpay (?:you|u|ya|him|her|them|your|ur|his|their) (?:\w+ )?(?:a visit|visits)\b",
    r"\b(?:time to|gonna|lets|going to|we should|well|we will|ill|i will|imma|ima|about to) "
    r"(?:go )?visit (?:you|u|him|her|them|his|her|their|your|ur)\b",
    r"\b(?:your|ur|his|her|their) (?:home |real |house |ip |irl |full )?(?:address|addy|ip|"
    r"location|phone number|real name|dox) (?:is|was|are|got|just got|has been|been) (?:all )?"
    r"(?:over|out|leaked|public|posted|on|in|here|below|now|everywhere)\b",
    r"\b(?:post|posting|drop|dropping|leak|leaking|share|sharing|spread|spreading|publish|sent|"
    r"send|sending|gave|"
    r"find|finding|get|getting|dig up|digging up|expose|exposing)(?: out)? (?:his|her|their|"
    r"your|ur|this guys|that guys|the streamers|this streamers)(?: \w+)? (?:home |real |house |"
    r"ip |irl |personal |full |street )?(?:address|addy|ip|location|phone number|number|real name|"
    r"family|info|face|school|workplace|dox|socials|identity|parents)\b",
    r"\b(?:get|getting|got|have|has) (?:this \w+|that \w+|him|her|them|you|u|the streamer) "
    r"(?:doxx?ed|swatted|raided irl)\b",
    # swatting: sending armed police to someone's home on a false report
    r"\b(?:call|calling|called|phone|report|send|sending|sent) (?:the |a |an )?(?:cops|police|feds|"
    r"911|swat|swat team|swat unit|fbi|law enforcement|5 0|popo|armed police) (?:on|to|after|at) "
    r"(?:him|her|them|you|u|ya|this|that|the|his|her|their|your|ur)\b(?! (?:game|lobby|server|match))",
    r"\bswat(?: team| unit)? (?:sent|called|rolling|showing up|show up|kicking|at the door) (?:to|on|"
    r"at|in) (?:him|her|them|you|u|his|her|their|your|ur)\b",
    r"\b(?:fake|false|prank|bogus|hoax) (?:a )?(?:911|police|emergency|hostage|bomb|shooting|"
    r"swat|cop) (?:call|calls|threat|report|tip)\b",
    r"\b(?:say|said|tell them|tell the cops|claim|claiming|report) (?:that )?(?:he|she|they|"
    r"you|u) (?:has|have|got|is holding|are holding) (?:hostages|a hostage|a bomb|bombs|a gun|"
    r"guns)\b",
    # organised hounding: many people told to flood someone until they give up
    r"\b(?:everyone|everybody|yall|chat|boys|lets|let s|go|all of you|guys|we|you all)(?: \w+){0,2} "
    r"(?:spam|flood|raid|mass report|harass|hound|bombard|dogpile|blow up|call|text|email|message|"
    r"dm|ring)\b(?: \w+){0,10} (?:until|till|til|untill) (?:she|he|they|it|her|him|them)\b",
    r"\b(?:here s|heres|here is|this is|found|got) (?:his|her|their|(?:that|this|the) [a-z]+s) "
    r"(?:personal |home |real |private |cell |mobile )?(?:phone number|number|cell|address|ip|"
    r"email|home address|location|socials|linkedin|insta|instagram|facebook|workplace)\b",
    # someone's traces handed over: "his linkedin, his wife's insta ... do what you want with it"
    r"\b(?:his|her|their) (?:\w+ )?(?:linkedin|insta|instagram|facebook|school|workplace)\b"
    r".{0,60}\bdo (?:what(?:ever)? you want|what u want|whatever) with\b",
    # a funeral or coffin planned for someone
    r"\b(?:planning|plan|arrange|arranging|pick out|picking out|book|booking|buy|buying|order|"
    r"ordering) (?:a |your |ur |his |her |their )(?:funeral|coffin|casket|headstone|tombstone|"
    r"grave|urn)\b",
    # armed people sent or going somewhere
    r"\b(?:pull up|pulling up|show up|showing up|roll up|rolling up|come|coming|go|going|head|"
    r"heading|meet)(?: \w+){0,6} with (?:bats|guns|knives|a gun|a knife|a bat|weapons|crowbars|"
    r"pipes|machetes|axes|a machete|an axe|pitchforks|brass knuckles|a crowbar|acid)\b",
    r"\b(?:get|gets|getting|got) (?:your|ur|his|her|their) (?:\w+ )?(?:skull|head|face|teeth|jaw|"
    r"nose|legs?|arms?|ribs|kneecaps|neck) (?:caved|kicked|bashed|smashed|knocked|punched|beaten|"
    r"broken|snapped|split|cracked)(?: in| out| open| off)?\b",
    r"\bmake (?:you|u|ya|him|her|them|yall|em) (?:bleed|scream in pain|beg for (?:your|his|her|"
    r"their|ur) li(?:fe|ves))\b",
    # the person will not be around much longer
    r"\b(?:wont|will not|not gonna|aint gonna|wont be) (?:have|be having) (?:a |their |his |her "
    r"|your |ur )?(?:dad|father|mom|mum|mother|son|daughter|husband|wife|parent|parents|brother|"
    r"sister|family|streamer)(?: \w+){0,2} (?:much |for much )?(?:longer|anymore)\b",
    r"\b(?:wont|will not|not gonna|aint gonna|isnt gonna|arent gonna) be (?:alive|breathing|"
    r"walking|with us|above ground) (?:much |for much )?(?:longer|anymore|soon|next week)\b",
    # swatting: armed police or a SWAT team sent to a home
    r"\b(?:send|sending|sent|call|calling|get|getting)(?: \w+){0,4} (?:swat|the swat|cops|police|"
    r"armed police|feds)(?: team| unit| squad)? (?:to|at|on|round) (?:the |his |her |their |your "
    r"|ur |that |this )?(?:\w+ )?(?:house|home|place|address|door|apartment|flat|parents)\b",
    r"\b(?:house|home|car|family|kids|place|apartment|flat|dog|cat|setup)\b.{0,80}\b(?:shame|pity) "
    r"if (?:something|anything) (?:\w+ )?(?:happened|happens|were to happen|was to happen) to "
    r"(?:it|them)\b",
    # menace about where someone lives or works, with a promised visit
    r"\b(?:you|u|he|she|they|your \w+|ur \w+|his \w+|her \w+) (?:live|lives|stay|stays|work|works|"
    r"go|goes) (?:on|at|in|near|by|to) \w+(?: \w+){0,4}\b.{0,80}\b(?:see (?:you|u|ya|him|her) "
    r"soon|be seeing (?:you|u)|stopping by|stop by|drop by|dropping by|pay (?:you |him |her )?a "
    r"visit|coming over|knock knock|say hi|said hi)\b",
    r"\b(?:ich weiss wo du wohnst|se donde vives|je sais ou tu (?:habites|vis)|so dove abiti|"
    r"sei onde (?:voce|vc) mora|ik weet waar je woont|wiem gdzie mieszkasz)\b",
    r"\b(?:shame|pity) if (?:someone|somebody|anyone|people|a few of us|we|i|my boys|my friends) (?:\w+ )?(?:showed up|"
    r"came|turned up|visited|stopped by|knocked|found|dropped by|paid)\b",
    r"\b(?:kick|kicks|kicked|kicking|bust|busts|busted|busting|break|breaks|broke|breaking) "
    r"(?:your|ur|his|her|their) (?:front |bedroom )?door (?:in|down|open)\b",
    r"\b(?:go|everyone|everybody|chat|yall|lets|let s|boys|guys|then|and) (?:\w+ )?(?:flood|spam|raid|"
    r"bomb|blow up|harass|mass report|brigade|dogpile) (?:his|her|their|(?:this|that|the) [a-z]+s) "
    r"(?:\w+ ){0,2}(?:facebook|instagram|insta|dms|inbox|phone|email|number|socials|comments|"
    r"mentions|twitter|tiktok|page|work|job|school|family)\b",
    r"\b(?:remember|think about) (?:that|this) when (?:you|u) (?:walk|drive|go|get|head) home\b",
    r"\b(?:irl|in real life)\b.{0,60}\bwhen (?:you|u) (?:walk|drive|go|get|head) home\b",
    r"\b(?:yall|you all|you guys|chat|boys|everyone|u all) know what to do\b(?=.*\b(?:flat|house|"
    r"address|lives|apartment|street|road|ave|avenue|lane|number \d+|above|next to|school)\b)",
    r"\b(?:i|we) (?:have|got|made|keep|am making|m making|im making|are making) (?:a|the) list\b"
    r"(?! of)",
    r"\bmake sure (?:their|his|her|your|ur) (?:\w+ )?(?:bus|car|plane|flight|train|ride|uber|"
    r"taxi) (?:doesnt|does not|never|wont|dont|do not) (?:make it|arrive|get|land)\b",
    r"\b(?:youd|you would|ud|you d|hed|shed|theyd|youll|you will|youre|ull) (?:\w+ )?be "
    r"(?:in|at) (?:the |a )?(?:hospital|er|emergency room|icu|morgue|ground)\b",
    r"\b(?:your|ur|his|her|their|(?:the|that|this|your|ur) \w+s) (?:mom|mum|mother|dad|father|sister|brother|wife|girlfriend|"
    r"boyfriend|kids?|son|daughter|family|parents) (?:works|lives|goes to school|goes|stays|shops) "
    r"(?:at|on|in|near|by)\b.{0,80}\b(?:stopping by|stop by|drop by|say hi|said hi|see (?:you|her|"
    r"him|them)|visit|pay a visit|be there|waiting|coming|wait for (?:her|him|them)|easy to)\b",
    r"\b(?:hope|hoping|pray|wish) (?:that )?(?:your|ur|his|her|their) (?:\w+ )?(?:kids|family|wife|"
    r"husband|mom|mum|dad|parents|children|baby|girlfriend|boyfriend) (?:are|is|will be|re|s) "
    r"(?:home|there|inside|in the house|in the car|with (?:you|him|her)) when\b",
    r"\b(?:leaving|leave|go home|going home|leaves|carried out|wheeled out|goes home|coming "
    r"out|going out) (?:in|on) (?:an? |the )?(?:ambulance|stretcher|body bag|wheelchair|hearse)\b",
    r"\b(?:lovely|nice|cute|beautiful|pretty) (?:\w+ )?(?:front door|door|house|home|car|flat|"
    r"apartment|garden|window|street|neighbou?rhood)\b.{0,80}\b(?:see you soon|be seeing you|"
    r"stopping by|pay (?:you )?a visit|knock knock)\b",
    r"\b(?:every|all|these|those) (?:\w+ ){0,6}(?:is|are) (?:an? |just |literally |all )?"
    r"(?:cockroach|cockroaches|vermin|subhuman|subhumans|parasites?|savages|apes|monkeys|insects|"
    r"untermensch|mongrels)\b",
    r"\b(?:he|she|you|u|they|hes|shes|youre|theyre)(?: s| is| are| re)? (?:going to|gonna|will|ll|"
    r"is going to|is gonna) (?:disappear|go missing|vanish)\b(?! (?:from|off) (?:the )?(?:leaderboard|"
    r"ladder|rankings?|meta|map|game|lobby|server|queue))",
    r"\b(?:doesnt|dont|wont|will not|never|shouldnt|does not|do not) (?:get to |gonna |going to )?"
    r"feel safe\b",
    r"\b(?:lesson|beating|beatdown) (?:he|she|they|you|u) (?:wont|will not|will never|never|aint "
    r"gonna) (?:walk away from|forget|recover from|walk off|get up from)\b",
    r"\blooking over (?:your|ur|his|her|their) shoulders?\b",
    r"\b(?:wont|will not|never|dont|wont ever) see (?:it|this|me|us|them) coming\b",
    r"\bmake sure (?:its|it s|it is|this is|thats|that is) (?:your|ur|his|her|their) last\b",
    r"\b(?:follow|reply|replying|spam|flood|message|dm|harass|hound|report|tag|call|text|email|ping|"
    r"stalk|raid|pile on|dogpile|brigade)\b(?: \w+){0,12} (?:until|till|til) (?:she|he|they|her|him|them) (?:breaks|quits|"
    r"leaves|cries|deletes|snaps|gives up|kills|logs off|goes offline|stops|breaks down|is gone)\b",
    r"\b(?:ring|call|email|contact|message|phone) (?:his|her|their) (?:boss|employer|work|job|manager|"
    r"school|uni|university|parents|landlord)\b(?=.*\b(?:sacked|fired|expelled|evicted|everyone|"
    r"everybody|all of you|real name|workplace)\b)",
    r"\b(?:whose|his|her|their|your|ur) (?:home |real |house )?(?:address|addy|ip) is (?:on my "
    r"screen|right here|in my|saved|pinned|written down|in front of me)\b",
    r"\b(?:smash|smashes|smashed|smashing|bash|bashes|bashing|kick|kicks|kicking|cave|caves|caving|"
    r"stomp|stomps|stomping) (?:it|your \w+|his \w+|her \w+|ur \w+) in\b",
    r"\bmake (?:you|u|him|her|them) regret (?:ever|being born|the day|going live|streaming|"
    r"existing|posting|that|this)\b",
    r"\bwhat (?:he|she|they|you) (?:deserves?|has coming|have coming)\b.{0,40}\b(?:broken|"
    r"wheelchair|hospital|beating|bleed|bullet|stitches|cast)\b",
    r"\b(?:unfortunate|shame|pity|sad|tragic|terrible|awful)\b (?:if|when) (?:your|ur|his|her|their) "
    r"(?:\w+ )?(?:cat|dog|pet|kid|kids|car|house|mom|mum|dad|family|baby|sister|brother)\b"
    r"(?: \w+){0,2} (?:got out|gets out|ran away|went missing|got lost|goes missing|got run over|"
    r"gets run over|got hurt|gets hurt|disappeared|caught fire|got sick)\b",
    r"\b(?:thought|think|thinking) (?:you were|youre|you are|ur|he was|she was) anonymous\b",
    r"\bnot so anonymous (?:now|anymore)\b",
    r"\bcheck (?:your|ur) (?:mailbox|mail box|porch|front door|doorstep|driveway|car|window)\b"
    r"(?: (?:tomorrow|tonight|soon|in the morning|later))",
    r"\b(?:i|we) know (?:people|some people|guys|someone|a guy|a few people) (?:near|around|close "
    r"to|in) (?:you|u|ya|your (?:area|city|town)|ur (?:area|city|town))\b",
    r"\b(?:anyone|anybody|who|someone)(?: \w+){0,3} (?:from|in|near|around) (?:his|her|their|ur|your) "
    r"(?:city|town|area|school|neighbou?rhood|street)\b(?=.*\b(?:honors|honours|pay|jump|hurt|beat|"
    r"handle|visit|deal with|teach|do it|do the)\b)",
    r"\bmake (?:him|her|them|you|u) (?:scared|afraid|terrified|too scared|too afraid) (?:to|of)\b",
    r"\bnice (?:\w+ ){0,3}(?:car|house|door|place|flat|apartment|bike|truck)\b.{0,60}\b(?:parked|"
    r"parks|outside|live|lives) (?:outside |at |on |in )?\d+\b",
    r"\brun(?:s|ning)? (?:your|ur|his|her|their|you|him|her|them) (?:car |bike |truck )?off the "
    r"road\b",
    r"\buntil (?:his|her|their) (?:sponsors?|team|org|employer|boss|school|family|parents) "
    r"(?:drops?|fires?|kicks?|dumps?|disowns?|bans?) (?:him|her|them)\b",
    r"\bbeat (?:some )?sense into (?:them|him|her|you|u|yall)\b",
    r"\b(?:get|catch) (?:cancer|aids|ebola|a tumou?r) and (?:rot|die|suffer)\b",
    r"\b(?:immigrants|jews|muslims|gays|gay \w+|trans \w+|women|blacks|asians|mexicans|refugees|"
    r"foreigners|migrants|arabs|indians|chinese|russians|brazilians|filipinos)\b (?:are|r) (?:all )?"
    r"(?:an? )?(?:rats|vermin|cockroaches|animals|a disease|diseased|subhuman|parasites|mentally ill "
    r"freaks|freaks|savages|filth|insects|a plague)\b",
    r"\bcleanse (?:this|the|our) \w+ of (?:them|those \w+|these \w+)\b",
    r"\bfind (?:her|him|them)\b.{0,20}\b(?:post|expose|dox|doxx|ruin) (?:her|him|them)\b",
]
_THREAT_IDIOMS_RE = [re.compile(p) for p in _THREAT_IDIOMS]
#: Menace about a person's home, family, commute or car (these name real places on purpose).
_MENACE_AT_HOME = [
    r"\b(?:your|ur|his|her) (?:kids?|sons?|daughters?|childs?|little \w+)s? (?:school|class|"
    r"practice|bus|daycare|nursery)\b.{0,40}\b(?:lets out|gets out|ends|finishes|starts|at \d)",
    r"\b(?:hate|shame|pity) (?:for|if) (?:your|ur|his|her) (?:commute|drive|walk|trip|ride|flight|"
    r"journey) (?:home )?(?:to )?(?:get|be|go|became|got|turned)\b",
    r"\b(?:bring|bringing|brought|take|taking) (?:a |my |some |the )?(?:bat|bats|gun|guns|knife|"
    r"knives|crowbar|machete|axe|hammer|pipe|weapons?) (?:to|into|at) (?:their|his|her|your|ur|the) "
    r"(?:\w+ )?(?:office|house|home|studio|school|work|stream|lan|event|venue|meetup|con|"
    r"convention|arena|hotel|stadium|hq)\b",
    r"\benjoy (?:your|ur) (?:\w+ )?(?:walk|drive|ride|trip|commute) home\b(?=.*\b(?:alone|tonight|"
    r"in the dark|while you can)\b)",
    r"\b(?:got|have|has|get|find|found|need|want) (?:the )?(?:dox|doxx|home address|addy|irl info|"
    r"real name) on (?:him|her|them|the \w+|that \w+|this \w+)\b",
    r"\b(?:your|ur|his|her) (?:flight|plane|bus|train) (?:lands|arrives|gets in)\b.{0,40}"
    r"\b(?:waiting|be there|see you|see u)\b",
    r"\b(?:ring|rang|rings|ringing|knock|knocked|knocks|knocking) (?:on )?(?:your|ur|his|her) "
    r"(?:doorbell|door|bell|window)\b(?: at \d+| every night| at night| in the middle of the night)",
    r"\bambulance\b(?: \w+){0,5} (?:to )?(?:your|ur|his|her) (?:street|house|home|place|address|door|"
    r"building|flat|apartment)\b",
    r"\bpackage (?:we re|were|we are|im|i m|i am|ill be|we ll be|well be) sending (?:to )?"
    r"(?:your|ur|his|her|their)\b",
    r"\b(?:your|ur|his|her|their) (?:\w+ )?(?:windows|car|house|tires|tyres|office|door|studio) "
    r"(?:wont|will not|aint gonna|isnt gonna) (?:survive|last|make it)\b",
    r"\b(?:funny|shame|pity|unfortunate) if (?:all )?(?:\w+ )?(?:of )?(?:your|ur|his|her) "
    r"(?:tires|tyres|windows|brakes) (?:were|was|got|are) (?:flat|slashed|smashed|broken|cut)\b",
    r"\bcheck under (?:your|ur|his|her|their) (?:car|cars|truck|vehicle|bed)\b",
    r"\b(?:dog|cat|pet|puppy|kitten|car|house|kid|kids|baby)\b.{0,80}\b(?:shame|pity|sad|unfortunate) "
    r"if (?:it|he|she|they) (?:went missing|got lost|got out|ran away|got hurt|disappeared|got run "
    r"over|caught fire|burned down)\b",
    r"\b(?:your|ur|his|her) (?:\w+s )?(?:mom|mum|mother|dad|father|sister|brother|wife|family)s? "
    r"(?:\w+ )?(?:bakery|shop|store|restaurant|office|work|job|school|house|salon|cafe)\b.{0,60}"
    r"\b(?:see (?:u|you|ya) soon|stopping by|say hi|pay a visit|be there)\b",
    r"\b(?:has|got) (?:a |two |three |\d+ )?(?:kids|daughters|sons|daughter|son|wife|family)\b.{0,60}"
    r"\b(?:house|home|door|car)\b.{0,80}\b(?:think (?:hard|twice|carefully)|be careful|watch "
    r"(?:it|himself|herself|yourself))\b",
    r"\b(?:your|ur) (?:little |baby |big )?(?:sister|brother|daughter|son|kids?|mom|mum|wife|"
    r"girlfriend)\b.{0,40}\b(?:insta|instagram|facebook|tiktok|school|address)\b.{0,60}\b(?:keep in "
    r"mind|just saying|think about it|be careful|remember that)\b",
    r"\bmake sure (?:she|he|they|you) knows? (?:we|i) (?:can see|know where|are watching|re "
    r"watching)\b",
    r"\b(?:step|walk|go) (?:outside|out of) (?:your|ur) (?:apartment|house|home|flat|door|building)"
    r"\b.{0,40}\b(?:regret|sorry|last|pay)\b",
    r"\b(?:wont be|isnt|is not) the only thing (?:that )?(?:gets?|getting) (?:blown up|burned|"
    r"torched|smashed|broken|hurt)\b",
    r"\b(?:show up|pull up|meet|go|head)\b.{0,40}\b(?:studio|office|house|hq|venue|arena|stadium|"
    r"school)\b.{0,30}\b(?:bring|with) (?:bats|guns|knives|weapons|crowbars|pipes)\b",
]
#: Threats no game context excuses: a bomb threat to a venue is one whatever "arena" says.
_NEVER_PLAY_THREATS_RE = [
    re.compile(
        r"\b(?:call|calling|called|phone|phoning|send|sending|make|making|report|reporting) (?:in )?"
        r"(?:a |an )?(?:bomb threat|bomb scare|fake threat|shooting threat|bomb hoax)s?\b"
    ),
    # menace at a person's home, school, commute or car: no game is meant, whatever it names
    *(re.compile(p) for p in _MENACE_AT_HOME),
    re.compile(
        r"\b(?:call|calling|phone|phoning) in (?:a )?(?:fake |false )?(?:hostage|bomb|shooting|swat)"
        r"(?: \w+)? (?:situation|call|report|threat)\b"
    ),
    # a false report that sends armed police to a home
    re.compile(
        r"\b(?:say|said|tell (?:them|the cops|911)|report|claim|claiming) (?:that )?(?:there s|theres|"
        r"there is|there are) (?:a )?(?:hostage|hostages|bomb|gunman|shooter|body) (?:at|in) "
        r"(?:your|ur|his|her|their)\b"
    ),
    # a building burned with people in it ("torch that studio with the devs still inside")
    re.compile(
        r"\b(?:burn|torch|bomb|firebomb|blow up|gas|set fire to|lock)\w*\b.{0,60}\bwith (?:the \w+|"
        r"them|him|her|you|everyone|people|the \w+ \w+|his \w+|her \w+|their \w+) (?:still |all )?"
        r"(?:inside|in it|in there|locked inside)\b"
    ),
]

_SELF = r"(?:(?:your|ur|yor|yo|ya|you|u|thy|yuor|yur|urs|yours) ?(?:sel+f+e?|selv(?:e|es)|slef|slf|sefl|elf|sel|seif)|youself|yoursef|yourse|ureself)"
#: Acts done to oneself: "kill yourself", "neck urself", "unalive yourself".
_SELF_ACT = _alt(
    "kiil", "uninstall", "alt f4", "ctrl alt delete", "ctrl alt del", "offed", "off",
    "kill", "kil", "kll", "kl", "k", "end", "off", "unalive", "delete", "hang", "neck", "rope",
    "hurt", "cut", "shoot", "stab", "drown", "burn", "poison", "gas", "starve", "choke",
    "strangle", "suffocate", "overdose", "od", "harm", "slit", "behead", "defenestrate",
    "remove", "erase", "uninstall", "unlive", "murder", "electrocute", "hang up", "blow up",
    "set fire to", "light", "immolate", "yeet", "throw", "bleach",
)  # fmt: skip
_DIRECTIVE = _alt(
    "go", "just", "pls", "please", "plz", "pleas", "now", "you should", "u should", "ya should",
    "you need to", "u need to", "you have to", "u have to", "you gotta", "u gotta", "why dont you",
    "why dont u", "why not", "time to", "time for you to", "bout time you", "about time you",
    "do it", "better", "you better", "u better", "someone tell him to", "tell him to",
    "tell her to", "do (?:us|everyone|the world|me|all of us|humanity|society|the community|"
    "the team|the game|the lobby|chat)(?: all| a| a big| a huge)* favou?r and(?: just| go)?",
    "u deserve to", "you deserve to", "just go", "go and", "kindly", "maybe", "can you",
    "could you", "you might as well", "might as well", "shut up and", "stfu and", "gtfo and",
    "noob", "loser", "bozo", "trash", "lol", "lmao", "kid", "idiot", "bro", "dude",
)  # fmt: skip
_SELF_HARM_SHAPES = [
    r"\bif i (?:were|was) (?:you|u)\b.{0,30}\b(?:end(?:ed)? (?:myself|it)|kill(?:ed)? myself|rope|"
    r"hang(?:ed)? myself|off(?:ed)? myself)\b",
    r"\b(?:nobody|no one|noone) (?:would|will|is gonna|gonna) (?:care|notice|miss you|cry|mind) "
    r"(?:if|when) (?:you|u) (?:just )?(?:stopped breathing|stop breathing|ended it|end it|were gone|"
    r"disappeared|took your own life|offed yourself)\b",
    r"\b(?:sweet )?release of (?:a |the )?(?:noose|rope|death|bullet|pills)\b",
    r"\blog (?:off|out) (?:permanently|forever|for good)\b(?=.*\b(?:life|existence|world|breathing)\b)",
    r"\b(?:building|bridge|roof|rooftop|cliff|tower|balcony|skyscraper)\b(?: \w+){0,3} (?:and|then|n) "
    r"(?:touch|meet|kiss|hug) the (?:pavement|ground|concrete|floor|sidewalk)\b",
    r"\bwaste of (?:oxygen|air|space|life)\b(?=.*\b(?:stop breathing|end it|do us|do everyone|favou?r)\b)",
    r"(?:^|\b(?:just|go|pls|please|so) )end it\b(?=.*\b(?:nobody|no one|noone|nobodys|noones)(?: s| is| "
    r"will| would| gonna)? (?:\w+ )?(?:miss|care|notice)\b)",
    r"\b(?:sewer ?slide|self ?delete|toaster bath)\b",
    r"\b(?:go|just|pls|please) end it\b(?=.*\b(?:better off|nobody|no one|world|everyone|relieved)\b)",
    r"\b(?:considered|consider|try|tried|thought about|think about) (?:not existing|not living|not "
    r"being alive|ceasing to exist|ending it|ending it all|not waking up)\b",
    r"\b(?:buy|get|grab|find|tie|order) (?:a |some |yourself a |urself a |ur self a )?(?:rope|noose)"
    r"\b(?: \w+){0,3} (?:and|n|then) (?:use it|hang|use that|put it on|try it on)\b",
    r"\b(?:take|swallow|eat|down|pop|chug) (?:every|all (?:the|your|ur|of the|of your)?|the whole "
    r"(?:bottle|box|pack) of|a bottle of|a handful of|a whole bottle of) (?:\w+ )?(?:pills?|meds|"
    r"tablets|sleeping pills|painkillers|xanax|tylenol|medicine|medication)\b",
    r"\b(?:alt f4|alt f 4|alttfa|altfa|alt fa|log off|logout|log out|uninstall|quit|exit|delete|unsubscribe) (?:out of |"
    r"from |your |ur )?(?:life|existence|reality|the planet|this planet|earth|this world)\b",
    r"\bkeep (?:your|ur|yo)? ?sel(?:f|ves) safe\b(?=.*\b(?:stands? for|know what (?:that|it|this) "
    r"(?:means|stands)|know what i mean|wink|hint hint|acronym|initials|kys|k y s)\b)",
    # find somewhere high and jump
    r"\b(?:find|climb|go to|get to|go up|head to) (?:the |a |your |ur )?(?:tallest |highest |"
    r"nearest |closest |biggest )?(?:building|bridge|roof|rooftop|cliff|tower|balcony|overpass|"
    r"skyscraper|window|parking garage)\b(?: \w+){0,5} (?:and|then|n) (?:jump|leap|step off|fall)\b",
    r"\brope (?:time|szn|season|o clock|oclock) (?:for|4) (?:you|u|ya|him|her|them)\b",
    r"\b(?:time to|go|pls|please|just) rope\b",
    # everyone better off if the person were gone
    r"\b(?:family|world|everyone|everybody|they|parents|mom|dad|mum|friends|team|we)(?: \w+){0,3} "
    r"(?:would be|d be|will be|would all be|would feel) (?:\w+ )?(?:relieved|better off|happier|"
    r"glad|grateful|lighter|better)\b(?: \w+){0,4} (?:if|when|once) (?:you|u) (?:just |finally )?(?:took "
    r"(?:your|ur) (?:own )?life|ended "
    r"it|end it|ended it all|were gone|was gone|werent here|werent around|disappeared|died|are "
    r"gone|left this world|stopped breathing|(?:offed|killed|hanged|hung|unalived|deleted) "
    r"(?:yourself|urself|ur self))\b",
    # any act + "yourself": the act list is the class, "yourself" the target
    rf"\b{_SELF_ACT} (?:your |ur |ya |yo |the |a )?(?:\w+ )?{_SELF}\b",
    rf"\b{_SELF_ACT} {_SELF}\b",
    # swallow something that kills
    r"\b(?:drink|drinking|chug|chugging|eat|eating|swallow|swallowing|gargle|down|sip|inhale|"
    r"huff|snort|inject|shoot up|take|try|have)(?: \w+){0,4}? (?:bleach|antifreeze|anti freeze|"
    r"drain cleaner|rat poison|cyanide|tide pods?|lighter fluid|gasoline|petrol|battery acid|"
    r"arsenic|weed killer|drano|clorox|ammonia)\b",
    # jump, step or lie where one dies
    r"\b(?:jump|jumping|leap|dive|fall|step|walk|run|throw (?:yourself|urself|ur self)|"
    r"hurl (?:yourself|urself)|yeet (?:yourself|urself)|do a flip|flip|backflip|swan dive|"
    r"lie down|lay down|play)(?! ed\b)(?: \w+)? (?:off|from|in front of|into|under|onto|on|in) (?:of )?"
    r"(?:a |the |ur |your |some |an |nearest |closest |tall |high |moving |busy )*"
    r"(?:bridge|building|cliff|roof|rooftop|balcony|skyscraper|tower|window|train|trains|bus|truck|"
    r"car|cars|traffic|highway|freeway|motorway|overpass|tracks|railway|train tracks|subway|"
    r"metro|woodchipper|wood chipper|volcano|blender|ocean|river|lake)\b",
    # "end it all", "end your life", "take your own life"
    rf"\b{_DIRECTIVE} (?:\w+ )?(?:end it all|end it(?= (?:already|now|pls|please|loser|noob|bozo|"
    r"kid|lol|lmao|for real|irl|tonight)\b|$)|end (?:your|ur) (?:own )?(?:life|existence|"
    r"misery|suffering)|take (?:your|ur) (?:own )?life|stop breathing|stop existing|cease to exist|"
    r"not exist|unalive|unlive|die|go die|drop dead|hang|rope|neck|overdose|od|kms|kys|commit|"
    r"off (?:yourself|urself)|end yourself|disappear forever|leave this (?:earth|world|planet)|"
    r"get hit by an? \w+|get run over|jump|slit \w+ wrists?|cut \w+ wrists?|swallow \w+ pills|"
    r"take (?:all )?(?:your|ur|the|some) (?:\w+ )?pills)\b"
    r"(?! (?:out|with|around|in there|on|at|tight|loose|up|them|off the|ledge|button|chat|the "
    r"(?:boss|game|match|round|stream|fight|series|run)|now and|back|already (?:boss|dragon)))",
    r"\b(?:end|ended|ending) it all\b",
    r"\b(?:end|take) (?:your|ur) (?:own )?(?:\w+ )?(?:life|existence)\b",
    r"\bropes? (?:is|are|r) (?:cheap|free|\d+|on sale|right there)\b",
    r"\b(?:take|swallow|pop|down|eat) (?:all |a bottle of |a handful of |the whole bottle of |"
    r"every one of )(?:your |ur |the |those |these |my )?(?:\w+ )?pills\b",
    r"\b(?:slit|cut|slash|open) (?:your|ur|ya|yo|both|ur own|your own) (?:\w+ )?wrists?\b",
    r"(?:^|\b(?:just|go|pls|please|now|so|then|lol|you|u) )end it(?: all)?\b(?= (?:already|now|pls|"
    r"please|"
    r"loser|noob|bozo|kid|lol|lmao|nobody|no one|noone|for real|irl|tonight)\b|$)",
    r"\b(?:take|go for) a (?:long )?walk off a (?:short )?(?:pier|cliff|bridge|roof|plank)\b",
    r"\b(?:eat|swallow|suck on|suck) (?:a |the |some )?(?:bullet|shotgun|gun|barrel|lead|glock)\b",
    r"\bput (?:a |the |your |ur )?(?:gun|pistol|barrel|shotgun|glock|knife) (?:in|to|against|"
    r"into) (?:your|ur) (?:own )?(?:mouth|head|temple|throat|wrist|heart)\b",
    r"\b(?:go |just |pls |please )?(?:overdose|od) (?:already|now|pls|please|loser|noob|lol|lmao|"
    r"bozo|kid|tonight)\b",
    r"\b(?:just|go|pls|please|now|you should|u should) (?:stop living|stop existing|stop breathing|"
    r"quit living|quit life|cease existing)\b",
    r"\b(?:jump|leap|dive|fall|throw yourself|throw urself) off (?:something|anything|smth) "
    r"(?:tall|high|really tall|really high)\b",
    r"\bcommit (?:suicide|sudoku|seppuku|toaster bath|neck rope|die|death|unalive|not alive|"
    r"self (?:harm|delete)|alt f4 irl|kms|kys)\b",
    r"\b(?:take|have) a (?:toaster|toaster oven) bath\b|\btoaster bath\b",
    r"\b(?:no one|nobody|noone|not one person) (?:will|would|is gonna|gonna|is going to) (?:cry|come|"
    r"show up|go|care|attend|be sad)(?: \w+){0,2} (?:at|to|about) (?:your|ur) funeral\b",
    r"\b(?:swallow|take|pop|down|eat) (?:some|all|a bunch of|a handful of|a few|a lot of|too many|"
    r"enough) (?:\w+ )?pills\b(?= .*\b(?:sleep forever|never wake up|dont wake up|die|end it|"
    r"goodnight forever|and done)\b)",
    r"\b(?:the world|society|humanity|earth|the planet|everyone|nobody|no one) (?:doesnt|does not|"
    r"dont|do not|wont|will not|would not|wouldnt) (?:need|want|miss) (?:you|u|ya)\b(?= .*\b(?:end "
    r"it|die|kys|kill|rope|hang|disappear|leave|gone))",
    r"\b(?:go|just|pls|please|you should|u should|now) (?:kys|kms|an hero|rope|neck|die|unalive|"
    r"overdose|od)\b",
    r"^(?:(?:just|pls|please|plz|now|omg|bro|lol|so|then|ok|okay|pls just|just go) )?die already\b",
    r"\b(?:you|u|ya|ur|noob|loser|bozo|kid|bro|idiot|clown|trash) (?:should |need to |gotta |just )?"
    r"die already\b",
    r"\b(?:you|u|ya|ur|youre|you are|ur) (?:would be |are |re |r |is )?(?:better off|better) "
    r"(?:dead|gone|in a grave|six feet under|not existing|not alive|never born)\b",
    r"\b(?:world|everyone|everybody|earth|society|the internet|the community|chat|we|gaming|"
    r"this game|the game) (?:would be|will be|is|d be|would|will) (?:\w+ )?(?:better|happier|"
    r"a better place)(?: \w+)? (?:off )?(?:without|if) (?:you|u|ya)\b(?: (?:were )?(?:dead|gone|"
    r"died|werent born|never existed|never been born))?",
    r"\b(?:nobody|no one|noone|not one person|no1) (?:would|will|is gonna|gonna|is going to|"
    r"wants|cares|is) (?:miss|care|notice|cry|care about|remember) (?:you|u|ya|it)\b"
    r"(?: (?:if|when) (?:you|u) (?:die|died|dies|were gone|are gone|disappear|disappeared|dead|"
    r"kill|killed))?",
    r"\b(?:no one|nobody|noone) (?:would|will) (?:care|notice|mind|cry) (?:if|when) (?:you|u|ya) "
    r"(?:die|died|were gone|disappear|disappeared|were dead|killed|kill|ended|hanged|left for good)\b",
    r"\bwhy (?:are|r) (?:you|u|ya) (?:still )?(?:alive|breathing|living|here|existing|"
    r"even alive|allowed to live)\b",
    r"\bwhy (?:dont|do not|wont|will not|cant|not|haven t|havent) (?:you|u|ya) (?:just )?(?:die|"
    r"kill|end|off|hang|rope|neck|unalive|drink bleach|jump|kms|kys|stop breathing|stop existing|"
    r"disappear|commit)\b",
    r"\b(?:you|u|ya) (?:dont|do not|shouldnt|should not|dont even|do not even) deserve to "
    r"(?:live|exist|be alive|breathe|be born|have been born)\b",
    r"\b(?:you|u|ya) (?:should|need to|gotta|have to|must|ought to) (?:not exist|stop existing|"
    r"stop breathing|never have been born|not be alive|cease to exist|disappear forever|go die)\b",
    r"\b(?:stop|quit) (?:breathing|existing|living) (?:already|pls|please|lol|loser|noob|"
    r"forever|permanently|for good)\b",
    r"\b(?:do|doing) (?:everyone|us|the world|humanity|society|all of us|me|the planet|chat|"
    r"the community)(?: all| a| a big| a huge)* favou?r and (?:\w+ )?(?:die|disappear|leave|stop|"
    r"end|kill|off|unalive|hang|rope|neck|jump|drink|overdose|vanish|kys|kms|cease|go away forever|"
    r"stop breathing|not wake up|get hit|walk into|swallow|take)\b",
]
_SELF_HARM_SHAPES_RE = [re.compile(p) for p in _SELF_HARM_SHAPES]
#: Acts on oneself that no game has, so game words nearby do not excuse them ("trash at this game,
#: hang urself"); "kill yourself with your own rockets" stays a play-vetted shape.
_NEVER_PLAY_SELF_RE = [
    re.compile(
        rf"\b(?:hang|neck|rope|uninstall|unalive|slit|overdose|alt f4|alttfa|ctrl alt delete|"
        rf"ctrl alt del) {_SELF}\b"
    )
]


#: A post about selling, doxxing or swatting rather than doing it: news, a PSA, a complaint
#: ("boosting services get accounts banned", "swatting is a crime"). "no bans" is a seller's
#: promise, so a negated ban word does not count.
_TOPIC_RE = re.compile(
    r"(?<!\bno )(?<!\bnever )(?<!\bzero )(?<!\bnot )(?<!\b0 )(?<!\bwithout )\b(?:banned|bannable|"
    r"ban wave|banwave|bans (?:\w+ )?(?:games|accounts|players|cheaters|boosters|sellers|users|streamers|\d+)|reported|reporting|report it|report them|illegal|crime|crimes|criminal|suing|sues|alleging|alleged|allegedly|"
    r"against (?:the |\w+s |\w+ s )?(?:rules|tos|terms|terms of service|eula|policy|guidelines)|"
    r"(?:violates?|violating|breaks?|breaking|breach(?:es)?) (?:\w+ ){0,2}(?:rules|tos|terms|"
    r"terms of service|eula|policy|policies|guidelines)|lose (?:your|ur) account|get (?:you|u) "
    r"banned|gets (?:you|u) banned|tos violation|crackdown|lawsuit|sued|arrested|charged|sentenced|"
    r"jailed|prison|victims?|incidents?|arrest|arrests|policy|policies|guidelines|dont need|"
    r"do not need|random sites|"
    r"not a joke|never okay|never ok|is dangerous|scam|scams|scammers|scammed|beware|psa|dont buy|never buy|investigat\w*|"
    r"condemn\w*|lawmakers|police say|police said|police confirm\w*|targeted by|is phishing|"
    r"(?:a |an )?(?:permanent|perma|instant|hardware|hwid) ban|should be (?:a )?ban\w*|"
    r"(?:is|are) (?:the )?(?:saddest|most pathetic|pathetic|cringe|embarrassing|lame|sad)|"
    r"steals? (?:your |ur )?accounts?)\b"
)
_DOX_SWAT_WORD_RE = re.compile(r"'(?:dox+(?:ed|ing|es)?|swat(?:ted|ting|ter|ters))'")
_DOX_SWAT_ORDER_RE = re.compile(
    r"\b(?:dox+|swat)\w* (?:him|her|them|you|u|ya|this|that|the|his|their|every|all)\b"
)
#: A seller speaking: "selling my account, my main got banned" is an offer whatever else it says.
_FIRST_PERSON_SALE_RE = re.compile(
    r"\b(?:selling my|sell my|im selling|i m selling|i sell|we sell|wts|for banned (?:players|accounts|"
    r"users)|get back into (?:ranked|the game|your account))\b"
)
#: Words that negate a self-harm act right before it: "please don't kys over a game".
_NEGATORS = frozenset({"dont", "never", "not", "doesnt", "didnt", "wont", "shouldnt", "cant",
                       "nobody", "noone"})  # fmt: skip


def _not_negated(reasons: list[Reason], text: str) -> list[Reason]:
    """Drop a self-harm reason whose match follows "don't"/"never" ("don't kill yourself over a
    ranked loss" is care, not a directive)."""
    out = []
    for code, detail in reasons:
        found = text.find(detail.strip("'\""))
        before = text[:found].split()[-2:] if found >= 0 else []
        if before and (before[-1] in _NEGATORS or before == ["do", "not"]):
            continue
        out.append((code, detail))
    return out


#: Idioms built from harm words that harm nobody: "the boss will hang you out to dry".
_HARMLESS_IDIOM_RE = re.compile(r"\b(?:hang|hung|hanging|hangs) (\w+) out to dry\b")


def phrases(text: str) -> list[Reason]:
    """Harassment, self-harm, scam and selling rules on a folded, allowlist-masked text.

    A post that warns about a scam ("never trust sites offering free V-Bucks") is not one.
    """
    text = _HARMLESS_IDIOM_RE.sub(r"leave \1 exposed", text)
    out = (
        _first("harassment", _NEVER_PLAY_THREATS_RE, text)
        or _first_not_play("harassment", _HARASSMENT_RE, text, game_inside=True)
        or _should_die_at_people(text)
        or _curse_at_people(text)
        or _harm_act(text)
        or _threat_shapes(text)
        or _first_not_play("harassment", _THREAT_IDIOMS_RE, text)
    )
    if (
        out
        and _DOX_SWAT_WORD_RE.fullmatch(out[0][1])
        and _TOPIC_RE.search(text)
        and not _DOX_SWAT_ORDER_RE.search(text)
    ):
        out = []  # "swatting is a crime": about it, not doing it
    if not out:
        for m in _THREAT_RE.finditer(text):
            if m.group("verb") in _GAME_VERB and _GAME_CONTEXT.search(m.group("rest")):
                continue
            noun = (m.group("rest").split() or [""])[0]
            possessive = m.group("object") in {"your", "ur", "his", "their"}
            if possessive and not (_is_person(f"your {noun}") or noun in _BODY):
                continue  # "end your win streak", "break his combo"
            if not _is_play(text, m.start(), m.start() + len(m.group(0)) - len(m.group("rest"))):
                out = [("harassment", repr(m.group(0)[:60].strip()))]
                break
    out += _not_negated(
        _first("self_harm", (*_KYS_RE, *_NEVER_PLAY_SELF_RE), text)
        or _first_not_play("self_harm", (*_SELF_HARM_RE, *_SELF_HARM_SHAPES_RE), text),
        text,
    )
    warning = _WARNING_RE.search(text)
    if not (warning or _OFFICIAL_PROMO_RE.search(text)):
        out += _first("scam", _SCAM_RE, text)
    selling = _first("selling", _SELLING_RE, text) or _sold_cheat(text)
    about_it = warning or _TOPIC_RE.search(text)
    if selling and (not about_it or _FIRST_PERSON_SALE_RE.search(text)):
        out += selling
    return out


# -- phishing --------------------------------------------------------------------------------------

_DOMAIN_RE = re.compile(
    r"(?<![a-z0-9@.-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,126}(?:[a-z]{2,24}|xn--[a-z0-9-]+))"
    r"(?![a-z0-9-])"
)
_DOTS_RE = re.compile(r"\s*(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\s+dot\s+)\s*")
_BRANDS = ("steamcommunity", "steampowered", "steam", "discordapp", "discord", "epicgames",
           "fortnite", "roblox", "riotgames", "valorant", "leagueoflegends", "battlenet",
           "blizzard", "xbox", "playstation", "nintendo", "twitch", "ubisoft", "minecraft",
           "paypal", "csgo", "counterstrike", "faceit", "mojang", "activision", "callofduty",
           "hoyoverse", "mihoyo", "genshin", "pokemon", "niantic", "rockstargames",
           "socialclub", "bethesda", "microsoft", "instagram", "tiktok", "youtube", "tarkov",
           "warframe", "wargaming", "battlestate", "supercell", "clashofclans", "brawlstars",
           "speedrun", "itchio", "humblebundle", "gogcom", "origin", "eaplay")  # fmt: skip
_BAIT_WORDS = ("gift", "nitro", "free", "giveaway", "claim", "reward", "promo", "redeem", "vote",
               "generator", "vbucks", "vbux", "robux", "drop", "bonus", "airdrop", "prize",
               "winner", "skins", "trade-offer", "tradeoffer", "verify", "login", "auth", "points", "coins", "gems",
               "migrate", "migration", "signin", "sign-in", "unban", "appeal", "recover",
               "recovery", "suspend", "2fa", "password", "wallet-connect", "walletconnect",
               "account-secure", "secure-account", "account-verify", "free-", "-free")  # fmt: skip


@functools.cache
def official_domains() -> frozenset[str]:
    return frozenset(d.lower() for d in _data("official_domains.txt"))


@functools.cache
def shortener_domains() -> frozenset[str]:
    return frozenset(d.lower() for d in _data("url_shorteners.txt"))


def _within(domain: str, names: frozenset[str]) -> bool:
    parts = domain.split(".")
    return any(".".join(parts[i:]) in names for i in range(len(parts) - 1))


def _edit_distance_at_most(a: str, b: str, limit: int) -> bool:
    if abs(len(a) - len(b)) > limit:
        return False
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return False
        prev = cur
    return prev[-1] <= limit


def domains(text: str) -> list[str]:
    """Domains written in ``text`` (any scheme or none; "[.]" and " dot " read as dots)."""
    skel = _DOTS_RE.sub(".", skeleton(text))
    known = tlds()[0]
    out: list[str] = []
    for m in _DOMAIN_RE.finditer(skel):
        domain = m.group(1).rstrip(".")
        if domain.rsplit(".", 1)[-1] in known:
            out.append(domain)
    return out


#: A login asked for next to a link: "log in with your EA account to claim".
_LOGIN_ASK_RE = re.compile(
    r"\b(?:log ?in|sign ?in|signin|connect|verify|link|authori[sz]e)(?: \w+)? (?:with|using|to|into) "
    r"(?:your|ur|ya|the|a)(?: \w+){0,2} (?:account|acc|acct|login|profile|wallet)\b|"
    r"\b(?:log ?in|sign ?in|login|verify|connect) (?:with|using|via|through) (?:steam|discord|epic|"
    r"riot|battle ?net|xbox|psn|playstation|twitch|google|roblox|ea|ubisoft)\b"
)


#: What a short link is sold with when it hides a trap: "is this you in this video??".
_SHORTENER_BAIT_RE = re.compile(
    r"\b(?:is (?:this|that) (?:you|u)|(?:you|u) in (?:this|that) (?:video|clip|pic|photo)|look what "
    r"(?:they|someone|people) (?:posted|said)|vote for (?:me|my|us|our)|leaked|leak|patch notes "
    r"leaked|exclusive|before release)\b",
    re.IGNORECASE,
)


def _shortened_path(skel: str, domain: str) -> str:
    """The path after a shortener's domain ("cutt.ly/EAfreeCoins" -> "eafreecoins")."""
    m = re.search(re.escape(domain) + r"/(\S+)", skel)
    return m.group(1).lower() if m else ""


_RAW_HOST_RE = re.compile(r"(?:[^\W_][\w-]*\.)+[^\W\d_]{2,}")


def _homograph_domain(text: str) -> str | None:
    """A host written with non-Latin look-alike letters that reads as an official or brand
    domain ("ѕteamcommunity.com" with a Cyrillic ѕ). :func:`domains` sees the folded spelling,
    so without this check the look-alike would pass as the real site."""
    for m in _RAW_HOST_RE.finditer(unicodedata.normalize("NFKC", text)):
        host = m.group(0)
        if host.isascii():
            continue
        folded = skeleton(host)
        name = folded.rsplit(".", 1)[0].replace(".", "")
        if _within(folded, official_domains()) or any(b in name for b in _BRANDS):
            return host
    return None


def phishing(text: str, *, block_shorteners: bool) -> list[Reason]:
    """Look-alike brand domains, gift/free-nitro style domains, shorteners when blocked; a
    shortener that hides a bait path or comes with a login ask is phishing either way."""
    official = official_domains()
    skel = _DOTS_RE.sub(".", skeleton(text))
    spoof = _homograph_domain(text)
    if spoof:
        return [("phishing", f"{spoof!r} spells a known domain with look-alike letters")]
    for domain in domains(text):
        if _within(domain, official) or domain == "t.co":
            continue
        if _within(domain, shortener_domains()):
            if block_shorteners:
                return [("phishing", f"URL shortener {domain!r} (blocked by configuration)")]
            if (
                _LOGIN_ASK_RE.search(skel)
                or _SHORTENER_BAIT_RE.search(skel)
                or any(w in _shortened_path(skel, domain) for w in _BAIT_WORDS)
            ):
                return [("phishing", f"URL shortener {domain!r} hiding a login or bait link")]
            continue
        name = domain.rsplit(".", 1)[0]
        flat = name.translate(LEET).replace("rn", "m").replace("vv", "w").replace("cl", "d")
        flat = re.sub(r"[^a-z]", "", flat)
        for brand in _BRANDS:
            if brand in flat:
                return [("phishing", f"{domain!r} looks like {brand} but is not its domain")]
        for label in re.split(r"[.-]", name.translate(LEET)):
            for brand in _BRANDS:
                if len(brand) >= 6 and _edit_distance_at_most(
                    label, brand, 2 if len(brand) > 8 else 1
                ):
                    return [("phishing", f"{domain!r} looks like {brand} but is not its domain")]
        for word in _BAIT_WORDS:
            if word in name:
                return [("phishing", f"{domain!r} is a {word!r}-bait domain")]
        if _LOGIN_ASK_RE.search(skel):
            return [
                ("phishing", f"a login asked for next to {domain!r}, which is no platform's domain")
            ]
    return []


# -- entry point -------------------------------------------------------------------------------------


def content_reasons(
    text: str,
    *,
    allowlist: Iterable[tuple[str, ...]] = (),
    block_shorteners: bool = False,
) -> list[Reason]:
    """Every content reason for ``text`` (harassment .. phishing, spam_phrase)."""
    folded: Folded = fold(text)
    phrases_allowed = (*shipped_allowlist(), *allowlist)
    primary = mask_allowed(folded.tokens, phrases_allowed)
    readings = [primary]
    if folded.l_tokens:  # the words allowlisted in the first reading stay excused in the second
        second = mask_allowed(folded.l_tokens, phrases_allowed)
        if len(second) == len(primary):
            second = tuple(_MASK if p == _MASK else t for p, t in zip(primary, second, strict=True))
        readings.append(second)
    reasons: list[Reason] = []
    for tokens in readings:
        seen = {code for code, _ in reasons}
        for variant in phrase_texts(tokens):
            reasons += [r for r in phrases(variant) if r[0] not in seen]
            seen = {code for code, _ in reasons}
        reasons += [r for r in profanity(tokens) if r[0] not in seen]
    reasons += phishing(text, block_shorteners=block_shorteners)
    return reasons
