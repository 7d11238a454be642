"""What an X API call costs: the versioned price file ``config/x_pricing.toml``, read, checked.

No price lives in code. The flag ``x_plan`` names one plan of the file; a plan has a rate per
*operation* (USD per resource for reads, per request for writes) and optional caps (counts per
period, for the legacy Free and Basic subscriptions). :mod:`xbot.x_usage` applies X's billing
rules on top (a post read twice on one UTC day is billed once).
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from xbot.errors import ValidationError, XbotError

PRICING_FILE = Path(__file__).resolve().parents[1] / "config" / "x_pricing.toml"
# operation -> (kind, what one resource is)
OPERATIONS: dict[str, tuple[str, str]] = {
    "post_create": ("write", "request"),
    "post_create_url": ("write", "request"),
    "media_upload": ("write", "request"),
    "media_metadata": ("write", "request"),
    "post_read": ("read", "post returned"),
    "owned_read": ("read", "own post returned"),
    "user_read": ("read", "user returned"),
}
POST_OPERATIONS = ("post_create", "post_create_url")
CAPS = ("posts_per_24h", "writes_per_month", "reads_per_month")


@dataclass(frozen=True)
class Plan:
    """One plan of the price file: rates, caps, and where the numbers come from."""

    name: str
    description: str
    kind: str  # credits | subscription
    monthly_fee_usd: float
    rates: dict[str, float]
    caps: dict[str, int]
    checked: date
    source: str

    def cost(self, operation: str, resources: int = 1) -> float:
        """Estimated USD for ``resources`` billed units of ``operation``."""
        if operation not in self.rates:
            raise ValidationError("operation", operation, "one of " + ", ".join(OPERATIONS))
        return self.rates[operation] * max(resources, 0)

    def post_cost(self, has_url: bool) -> float:
        """What one post costs: a post whose text has a URL is priced separately by X."""
        return self.cost("post_create_url" if has_url else "post_create")


@dataclass(frozen=True)
class Pricing:
    version: str
    default_plan: str
    plans: dict[str, Plan]

    def plan(self, name: str | None) -> Plan:
        chosen = name or self.default_plan
        if chosen not in self.plans:
            raise ValidationError("x_plan", chosen, "one of " + ", ".join(self.plans))
        return self.plans[chosen]


def _plan(name: str, raw: Any, where: str) -> Plan:
    if not isinstance(raw, dict):
        raise XbotError(f"{where}: [plans.{name}] must be a table")
    rates = raw.get("rates") or {}
    missing = [op for op in OPERATIONS if op not in rates]
    if missing:
        raise XbotError(f"{where}: plan {name!r} has no rate for {', '.join(missing)}")
    for op, value in rates.items():
        if op not in OPERATIONS:
            raise XbotError(f"{where}: plan {name!r}: unknown operation {op!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise XbotError(f"{where}: plan {name!r}: rate {op} must be a number >= 0")
        if not math.isfinite(value):
            raise XbotError(f"{where}: plan {name!r}: rate {op} must be finite")
    caps = raw.get("caps") or {}
    for cap, value in caps.items():
        if cap not in CAPS or isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise XbotError(
                f"{where}: plan {name!r}: cap {cap}={value!r}: allowed caps "
                f"{', '.join(CAPS)} as integers >= 0"
            )
    checked = raw.get("checked")
    if not isinstance(checked, date) or not raw.get("source"):
        raise XbotError(f"{where}: plan {name!r} needs `checked = YYYY-MM-DD` and `source`")
    return Plan(
        name=name,
        description=str(raw.get("description", "")),
        kind=str(raw.get("kind", "credits")),
        monthly_fee_usd=float(raw.get("monthly_fee_usd", 0.0)),
        rates={k: float(v) for k, v in rates.items()},
        caps={k: int(v) for k, v in caps.items() if v},
        checked=checked,
        source=str(raw["source"]),
    )


@functools.cache
def load_pricing(path: Path = PRICING_FILE) -> Pricing:
    """Read and check the price file once per process (it changes only with a release)."""
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise XbotError(f"X price file {path} unreadable: {exc}") from exc
    plans = {name: _plan(name, body, str(path)) for name, body in (raw.get("plans") or {}).items()}
    default = raw.get("default_plan")
    if not plans or default not in plans:
        raise XbotError(f"{path}: needs [plans.*] tables and a default_plan naming one of them")
    return Pricing(version=str(raw.get("version", "")), default_plan=default, plans=plans)


def plan_names() -> tuple[str, ...]:
    return tuple(load_pricing().plans)
