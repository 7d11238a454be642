"""One clock helper: every cycle refuses a naive ``now`` with the same XbotError (exit 2), and
writes nothing, instead of a bare ValueError from some modules and a ValidationError from others.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from xbot import clock
from xbot.bandit_store import BanditStore
from xbot.candidates.pipeline import refresh
from xbot.decision_log import decision_log
from xbot.errors import ValidationError, XbotError
from xbot.scheduler import run_cycle
from xbot.services import Services
from xbot.settings import Settings

NAIVE = datetime(2026, 3, 1, 12, 0)


def test_as_utc_converts_and_refuses_naive() -> None:
    berlin = datetime(2026, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    assert clock.as_utc(berlin) == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert clock.as_utc(berlin).tzinfo is UTC
    assert abs(clock.as_utc(None) - clock.utc_now()) < timedelta(seconds=5)
    with pytest.raises(ValidationError, match="timezone-aware") as info:
        clock.as_utc(NAIVE)
    assert isinstance(info.value, XbotError) and info.value.exit_code == 2


def _rows(services: Services) -> tuple[int, int]:
    with services.engine.connect() as conn:
        return (
            conn.execute(sa.text("select count(*) from decisions")).scalar_one(),
            conn.execute(sa.text("select count(*) from candidates")).scalar_one(),
        )


def test_every_cycle_refuses_a_naive_now_alike(services: Services, settings: Settings) -> None:
    before = _rows(services)
    with pytest.raises(ValidationError, match="timezone-aware"):
        run_cycle(services, settings, poster=None, now=NAIVE)  # was a bare ValueError
    with pytest.raises(ValidationError, match="timezone-aware"):
        refresh(services, settings.environment, now=NAIVE)
    with pytest.raises(ValidationError, match="timezone-aware"):
        BanditStore(services, settings.environment).rebuild(now=NAIVE)
    with pytest.raises(ValidationError, match="timezone-aware"):
        decision_log(services, settings.environment, now=NAIVE)
    assert _rows(services) == before
