"""The X API's refusals as xbot errors: one class per thing the caller must do differently.

:func:`xbot.x_client.translate` maps tweepy/requests failures onto these in one place, so the
outbox, the learning loop and ``xbot x check`` all apply the same policy to the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from xbot.errors import PosterError


class DuplicateContent(PosterError):
    """X answered 403 "duplicate content": final, never retried; reconciled by timeline read."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"X refused duplicate content: {detail}", status=403)


class AuthFailed(PosterError):
    """401, or 403 other than duplicate: our credentials or app permissions are refused."""

    def __init__(self, status: int | None, detail: str) -> None:
        super().__init__(f"X refused our credentials ({status}): {detail}", status=status)
        self.detail = detail


class RateLimited(PosterError):
    """429: no call until ``reset_at`` (the later of the 15-minute and 24-hour windows)."""

    def __init__(
        self, reset_at: datetime, detail: str, headers: Mapping[str, int] | None = None
    ) -> None:
        super().__init__(f"X rate limit until {reset_at.isoformat()}: {detail}", status=429)
        self.reset_at = reset_at
        self.headers = dict(headers or {})


class PosterUnavailable(PosterError):
    """5xx, timeout or connection error: transient, retried with bounded backoff."""


class MediaRejected(PosterError):
    """X refused the image: a 4xx on ``POST /2/media/upload`` (unsupported or broken file), or
    a post whose media X calls invalid. X did not post; retrying the same image cannot help.

    Final for the candidate: it is rejected (``media_rejected``), never posted without the
    image it was checked and approved with (docs/x-api.md, "Images").
    """


class CreditsDepleted(PosterError):
    """402 on any endpoint: the app's pay-per-use credits ran out. X did not do the call.

    Posting and reads pause at once (recorded in poster state, like an auth failure) until an
    operator tops up the credits and runs ``xbot schedule resume``; nothing retries meanwhile.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"X API credits depleted (402): {detail}; top up the credits, then run "
            "`xbot schedule resume`",
            status=402,
        )
        self.detail = detail


class BudgetExceeded(PosterError):
    """The call would take estimated X spend past a budget flag or a plan cap: not made.

    Raised by :mod:`xbot.x_usage` before any HTTP request, so X never sees it; the candidate
    stays queued (``skipped/budget``) and learning counts the reads it skipped.
    """

    def __init__(self, budget: str, detail: str) -> None:
        super().__init__(f"X API {budget} would be exceeded: {detail}", status=None)
        self.budget = budget
