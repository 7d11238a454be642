"""``xbot x check``: can this configuration post to X, with what, and at what cost so far?

One ``GET /2/users/me`` (a $0.010 user read at pay-per-use rates, recorded like every call)
verifies the credentials; the rest is read from the settings, the poster state, the price file
and ``x_api_usage``. X's common refusals become one plain sentence of advice each.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from xbot.errors import PosterError
from xbot.poster_state import paused_reason, poster_state
from xbot.services import Services
from xbot.settings import Settings
from xbot.x_usage import usage_report

ADVICE = (  # (what X says, contains) -> what to do
    ("client-not-enrolled", "the app is not attached to a Project: in the X developer console, "
     "add the app to a Project (pay-per-use apps need one), then retry"),
    ("attached to a project", "the app is not attached to a Project: in the X developer console, "
     "add the app to a Project, then retry"),
    ("app permissions", "the access token was generated before the app's permissions changed: "
     "set the app to Read and write, then regenerate X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET"),
    ("not permitted", "X refuses this action for these tokens: check the app has Read and write "
     "permission and regenerate the access token and secret"),
    ("code 453", "the plan does not include this endpoint (453): check x_plan and the plan in the "
     "developer console (legacy Free/Basic apps lack some endpoints)"),
    ("application-only", "an app-only bearer token cannot post or read /2/users/me: set the four "
     "OAuth 1.0a values X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET"),
    ("(401)", "X rejected the credentials (401): check the four OAuth 1.0a values, regenerate "
     "them in the developer console if they were revoked"),
    ("credits depleted", "the app's pay-per-use credits are used up (402): top up in the "
     "developer console, then `xbot schedule resume`"),
)  # fmt: skip


def advice_for(message: str) -> str:
    lowered = message.lower()
    for needle, advice in ADVICE:
        if needle in lowered:
            return advice
    return "see the message above; `xbot x check` again after fixing it"


@dataclass
class CheckReport:
    """What ``xbot x check`` prints; ``can_post`` decides the exit code."""

    can_post: bool
    credentials: dict[str, bool]
    auth: dict[str, str]  # operation -> which credentials it will use
    account: dict[str, Any] = field(default_factory=dict)
    rate_limits: dict[str, int] = field(default_factory=dict)
    plan: str = ""
    month_usd: float = 0.0
    month_projection_usd: float = 0.0
    monthly_budget_usd: float | None = None
    problems: list[str] = field(default_factory=list)  # each one stops a live post
    warnings: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        out = [f"X API check: {'live posting possible' if self.can_post else 'CANNOT POST'}"]
        creds = ", ".join(f"{k} {'set' if v else 'unset'}" for k, v in self.credentials.items())
        out.append(f"credentials: {creds}")
        out += [f"  {op}: {how}" for op, how in self.auth.items()]
        if self.account:
            out.append(
                f"account: @{self.account.get('username', '?')} (id {self.account.get('id')})"
            )
        if self.rate_limits:
            out.append(
                "rate limit (users/me, 15 min): "
                f"{self.rate_limits.get('x-rate-limit-remaining', '?')} of "
                f"{self.rate_limits.get('x-rate-limit-limit', '?')} left"
                + (
                    f"; posts 24 h: {self.rate_limits['x-user-limit-24hour-remaining']} of "
                    f"{self.rate_limits.get('x-user-limit-24hour-limit', '?')} left"
                    if "x-user-limit-24hour-remaining" in self.rate_limits
                    else ""
                )
            )
        budget = (
            "no ceiling" if self.monthly_budget_usd is None else f"${self.monthly_budget_usd:.2f}"
        )
        out.append(
            f"plan {self.plan}: this month ${self.month_usd:.3f} estimated, "
            f"month-end ${self.month_projection_usd:.2f}, monthly budget {budget}"
        )
        out += [f"problem: {p}" for p in self.problems]
        out += [f"warning: {w}" for w in self.warnings]
        out += [f"advice: {a}" for a in self.advice]
        return out


def poster_usage_refusal(services: Services, settings: Settings) -> str | None:
    """Why the budget gate would refuse even the cheapest post right now, else None."""
    from xbot.x_usage import XUsage

    return XUsage(services, settings.environment).refusal("post_create")


def check_x(services: Services, settings: Settings) -> CheckReport:
    """Verify the credentials against X and say whether a live post would be possible."""
    from xbot.x_client import XPoster  # tweepy only when this command runs

    user, bearer = settings.has_user_context, bool(settings.x_bearer_token)
    auth = {
        "post (POST /2/tweets)": "OAuth 1.0a user context" if user else
        "impossible: needs the four OAuth 1.0a values (an app-only bearer cannot post)",
        "media upload (POST /2/media/upload)": "OAuth 1.0a user context" if user else "impossible",
        "own timeline (GET /2/users/:id/tweets)": "OAuth 1.0a user context (owned read)" if user
        else "bearer token (regular read)" if bearer else "impossible",
        "metrics lookup (GET /2/tweets)": "bearer token" if bearer else
        "OAuth 1.0a user context" if user else "impossible",
        "verify (GET /2/users/me)": "OAuth 1.0a user context" if user else
        "bearer token (X refuses app-only here)" if bearer else "impossible",
    }  # fmt: skip
    report = CheckReport(
        can_post=False,
        credentials={"oauth1_user_context": user, "bearer_token": bearer},
        auth=auth,
    )
    usage = usage_report(services, settings.environment, days=1)
    report.plan, report.month_usd = usage.plan, usage.month_usd
    report.month_projection_usd = usage.month_projection_usd
    report.monthly_budget_usd = usage.monthly_budget_usd
    report.warnings.extend(usage.warnings)
    refusal = poster_usage_refusal(services, settings)
    if refusal:
        report.problems.append(refusal)
    if not user and not bearer:
        report.problems.append("no X credentials are set")
        report.advice.append(advice_for("application-only"))
        return report
    paused = paused_reason(poster_state(services))
    if paused:
        report.problems.append(paused)
    poster = XPoster(settings, services, attempts=1)
    try:
        if user:
            report.account, report.rate_limits = poster.me()
        else:
            # app-only: ask anyway, so the operator sees X's own refusal
            response, reservation = poster._attempt(
                "GET /2/users/me", "user_read", "check", 1, poster.client.get_me,
                user_auth=False, gate=False,
            )  # fmt: skip
            poster.usage.settle(reservation, status=response.status_code, resources=1, billed=1)
    except PosterError as exc:
        report.problems.append(str(exc))
        report.advice.append(advice_for(str(exc)))
    if not user and not report.advice:
        report.advice.append(advice_for("application-only"))
    report.can_post = user and not report.problems
    if user and not settings.live_posts:
        report.advice.append("LIVE_POSTS is not true: cycles stay in shadow mode until it is")
    return report
