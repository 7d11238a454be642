"""The guard's content rules: one matcher per category, each with its own reason code.

Every matcher reads the *folded* text (:mod:`xbot.text_fold`: NFKC, zero-width characters gone,
look-alike letters and leetspeak folded, separators and stretching undone), with the words of
allowlisted phrases taken out first. Categories and codes:

``harassment``  threats and wishes of harm against people, "I know where you live", doxxing and
                swatting incitement. "should die" counts when its subject is a person ("you",
                "that streamer", "people"), not a boss or a character.
``self_harm``   directives to hurt oneself: kys in any spelling, "kill yourself", "drink bleach".
``profanity``   slurs and profanity (better-profanity's list minus ordinary gaming words, plus
                ours), whole words, inside compounds ("fuckfuckfuck"), masked ("f*ck", "sh#t").
``scam``        free in-game currency or skins, generators, gift/redeem bait, giveaway bait.
``selling``     accounts, cheats and boosting offered for sale.
``phishing``    look-alike brand domains, gift/free-nitro style domains, shorteners if blocked.
``spam_phrase`` engagement bait (follow4follow, link in bio).

Why rules and not a model: every verdict can be explained by the rule that fired, an operator
can fix a false positive with a line in a text file, and nothing is downloaded at run time.
"""

from __future__ import annotations

import functools
import re
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
        if tok == _MASK or (tok in _NAME_WORDS and i and tokens[i - 1] in _TITLES):
            continue
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
    "get raped", "be raped", "drown", "be gassed", "get hit by an? " + _alt("car", "bus", "truck"),
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
    rf"(?P<verb>{_THREAT_VERB}) (?:you|u|ya|your|ur|him|her|them|his|their|yall)\b(?P<rest>.*)"
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
    r"(?:house|home|address|place|school|work|job|door|parents)\b",
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
    r"\b(?:if|when|once|till|until) (?:i|we) (?:ever )?(?:find|catch) (?:you|u|ya)\b",
    r"\b(?:spam|call|text|flood|leak|post|share|send)(?:ing)? (?:his|her|their|your|ur)"
    r"(?: [a-z]+)? (?:phone number|number|address|addy|email|socials|nudes|pics)\b",
    r"\b(?:i|we|ive|weve) (?:know|got|have|found|has) (?:your|ur|his|her|their) (?:home |real |ip )?"
    r"(?:address|house|ip|location|school|workplace|real name|family|phone number|number)\b",
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
    r"\b(?:swat|send (?:a |the )?swat(?: team)? (?:to|on|at)|call (?:the )?swat(?: team)? on|"
    r"send (?:the )?(?:cops|police) to) (?:him|her|them|you|u|this guy|that guy|the streamer|"
    r"his (?:house|address|home)|her (?:house|address|home)|their (?:house|address|home)|"
    r"your (?:house|address|home))\b",
]
_SELF_HARM = [
    r"(?<![0-9] )\bk+ ?y+ ?s+\b",
    r"(?<![0-9] )\bkms\b",
    r"\bkil+ ?(?:your|ur|yor|yo|you|u|y|ya|thy)? ?(?:sel+f+|selves|slef|slf)\b",
    r"\b(?:drink|eat|chug|swallow|gargle|inject|snort|huff)(?: some| a cup of| the)? bleach\b",
    r"\b(?:neck|hang|rope|off|unalive|delete|shoot|stab|cut|end|kill|suicide|drown|burn|gas|"
    r"poison|hurt|starve|overdose) (?:your|ur|yo|you|urself|yourself)? ?(?:sel+f+|selves)\b",
    r"\ban hero\b",
    r"\bslit (?:your|ur|ya) (?:wrists?|throat)\b",
    r"\b(?:jump|do a flip|flip|leap|throw yourself|dive|fall) off (?:a|the|ur|your) "
    r"(?:bridge|building|cliff|roof|balcony|skyscraper|tower)\b",
    r"\b(?:end|take) (?:your|ur) (?:own )?life\b",
    r"\b(?:go |just |pls |please |you should |u should )commit (?:suicide|sudoku|die)\b",
    r"\b(?:go|just|pls|please) (?:die|hang|kill urself)\b",
    r"\b(?:nobody|no one|noone) (?:would|will|is going to|gonna) miss (?:you|u)\b",
    r"\b(?:world|everyone) (?:would be|is|will be) better (?:off )?without (?:you|u)\b",
    r"\bunalive\b",
]

_STRONG_CURRENCY = _alt(
    "v ?bucks?", "v ?bux", "vbuck", "vb", "robux", "robuks", "r ?bux", "rbx", "cod ?points?",
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
_SCAM_VERB = _alt("free", "freee", "fre", "unlimited", "generator", "generate", "gen", "hack",
                  "hacked", "glitch", "claim", "giveaway", "give away", "giving away", "giveaways",
                  "win", "won")  # fmt: skip
_ACCOUNT = _alt(
    "accounts?", "accs?", "alts?", "og account", "stacked account", "smurfs?", "smurf accounts?"
)
_SCAM = [
    rf"\b{_SCAM_VERB}\b{_W}{{0,2}} {_STRONG_CURRENCY}\b",
    rf"\b{_STRONG_CURRENCY}\b{_W}{{0,3}} (?:for free|free|4 free|generator|gen|generate|giveaway|"
    rf"give away|hack|glitch|no survey|no verification|no human verification|unlimited|"
    rf"method|exploit|claim)\b",
    rf"\b(?:free|unlimited|generator|hack|glitch)\b{_W}{{0,1}} {_WEAK_CURRENCY}\b(?! (?:in|on|at|"
    r"with|for) (?:the )?(?:new|this|next|season|event|update|patch))",
    rf"\b{_WEAK_CURRENCY} (?:generator|gen|hack|glitch|for free|4 free|no survey)\b",
    r"\b(?:claim|redeem|collect) (?:your|ur)? ?(?:free )?(?:gift|reward|prize|skin|"
    r"code|nitro|voucher|bonus|giveaway|airdrop|winnings)s?\b",
    r"\b(?:gift|redeem|reward|claim|giveaway) (?:link|code|url)s?\b",
    r"\bfree (?:gift|gifts|nitro|gift ?cards?|psn|xbox live|steam (?:games?|keys?|codes?)|iphone|"
    r"ps5|money|cash)\b",
    r"\b(?:you ?ve|you have|u have|youve|you|u) (?:been (?:selected|chosen|picked)|(?:have )?won "
    r"(?:a |an |the |our |free |this |\d+ )*(?:free )?(?:prize|gift|reward|skins?|iphone|ps5|"
    r"giveaway|nitro|gift ?cards?|cash|money|dollars|bucks|v ?bucks|robux|\w+ gift ?card))\b",
    r"\bcongrat(?:ulation)?s (?:you|u) (?:won|have won|are (?:the|our) winner|ve won)\b",
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
_SELLING = [
    rf"\b{_SELL}\b{_W}{{0,3}} (?:{_ACCOUNT}|{_CHEAT})\b",
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
_SCAM_RE = [re.compile(p) for p in _SCAM]
_SELLING_RE = [re.compile(p) for p in _SELLING]


def _first(code: str, patterns: list[re.Pattern[str]], text: str) -> list[Reason]:
    for pattern in patterns:
        m = pattern.search(text)
        if m:
            return [(code, repr(m.group(0).strip()[:60]))]
    return []


@functools.cache
def rule_words() -> frozenset[str]:
    """Every literal word the phrase rules spell out ("free", "bucks", "yourself", ...).

    Used twice: to read a masked word ("b*cks") as the rule word it hides, and to split a
    word written without spaces ("freevbucks", "iknowwhereyoulive") back into rule words.
    """
    words: set[str] = {"i", "u", "v"}
    for pattern in (*_HARASSMENT, *_SELF_HARM, *_SCAM, *_SELLING, _THREAT_RE.pattern):
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
            if head is None or token[start:end] not in words:
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
    return texts


_WARNING_RE = re.compile(
    r"\b(?:never trust|dont trust|do not trust|beware|dont fall for|do not fall for|is a scam|"
    r"are scams|are a scam|its a scam|scam alert|psa|warning|never click|dont click|report|"
    r"never from|only (?:through|from|via|in) (?:the )?(?:official|in game|store)|never share|"
    r"dont share|do not share|never give)\b"
)


#: Real promotions name the program that pays for them ("free skins for Prime Gaming members").
_OFFICIAL_PROMO_RE = re.compile(
    r"\b(?:prime gaming|prime members|amazon prime|twitch drops|game pass (?:ultimate )?members|"
    r"ps plus members|playstation plus members|nintendo switch online members|in the battle pass|"
    r"with the battle pass)\b"
)


_CURSE_RE = re.compile(r"\b(?:die in a fire|drop dead|rot in hell|burn in hell)\b")


def _curse_at_people(text: str) -> list[Reason]:
    """ "die in a fire, noob" is a death wish; "this patch should die in a fire" is not."""
    for m in _CURSE_RE.finditer(text):
        if not set(text[: m.start()].split()[-5:]) & _not_people():
            return [("harassment", repr(m.group(0)))]
    return []


def _should_die_at_people(text: str) -> list[Reason]:
    """ "our support should die" is about a person; "this boss should die" and "the dragon in
    this expansion needs to die" are not (a game thing among the four words before)."""
    for m in _DETERMINED_SHOULD_RE.finditer(text):
        before = set(text[: m.start()].split()[-4:])
        if not ({m.group("noun"), m.group("noun2")} | before) & _not_people():
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
        if m.group("verb") in _PLAY_VERBS and _GAME_CONTEXT.search(m.group("rest")):
            continue
        return [("harassment", repr(m.group(0)[:60].strip()))]
    return []


def phrases(text: str) -> list[Reason]:
    """Harassment, self-harm, scam and selling rules on a folded, allowlist-masked text.

    A post that warns about a scam ("never trust sites offering free V-Bucks") is not one.
    """
    out = (
        _first("harassment", _HARASSMENT_RE, text)
        or _should_die_at_people(text)
        or _curse_at_people(text)
        or _harm_act(text)
    )
    if not out:
        m = _THREAT_RE.search(text)
        if m and not (m.group("verb") in _GAME_VERB and _GAME_CONTEXT.search(m.group("rest"))):
            out = [("harassment", repr(m.group(0)[:60].strip()))]
    out += _first("self_harm", _SELF_HARM_RE, text)
    if not (_WARNING_RE.search(text) or _OFFICIAL_PROMO_RE.search(text)):
        out += _first("scam", _SCAM_RE, text)
    out += _first("selling", _SELLING_RE, text)
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
           "paypal", "csgo", "counterstrike", "faceit")  # fmt: skip
_BAIT_WORDS = ("gift", "nitro", "free", "giveaway", "claim", "reward", "promo", "redeem",
               "generator", "vbucks", "vbux", "robux", "drop", "bonus", "airdrop", "prize",
               "winner", "skins", "trade-offer", "tradeoffer", "verify", "login", "auth", "points", "coins", "gems")  # fmt: skip


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


def phishing(text: str, *, block_shorteners: bool) -> list[Reason]:
    """Look-alike brand domains, gift/free-nitro style domains, shorteners when blocked."""
    official = official_domains()
    for domain in domains(text):
        if _within(domain, official) or domain == "t.co":
            continue
        if block_shorteners and _within(domain, shortener_domains()):
            return [("phishing", f"URL shortener {domain!r} (blocked by configuration)")]
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
