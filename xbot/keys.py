"""Every Redis key xbot uses, in one place, always under REDIS_PREFIX.

No other module builds a key string: they call these methods. That is what keeps staging
(``stg:``) and production (``prod:``) apart on a shared server, and what lets
``xbot emergency clear-queue`` and the tests find every key by ``SCAN <prefix>*``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Keys:
    prefix: str

    def __post_init__(self) -> None:
        if not self.prefix.endswith(":"):
            raise ValueError(f"REDIS_PREFIX must end with ':' (got {self.prefix!r})")

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # -- everything under this prefix (SCAN MATCH patterns) -----------------------------------
    def all_pattern(self) -> str:
        return self.prefix + "*"

    # -- candidate queue ----------------------------------------------------------------------
    def queue(self) -> str:
        """Sorted set of queued candidate ids, scored by priority."""
        return self._k("queue", "candidates")

    def inflight(self) -> str:
        """Sorted set of claimed candidate ids, scored by lease expiry (unix seconds)."""
        return self._k("queue", "inflight")

    def queue_expiry(self) -> str:
        """Sorted set of queued candidate ids scored by expiry (unix seconds), for pruning."""
        return self._k("queue", "expiry")

    def claim_token(self, candidate_id: str) -> str:
        """String holding the token of the current claim of a candidate."""
        return self._k("claim", candidate_id)

    def claim_pattern(self) -> str:
        return self._k("claim", "*")

    def payload(self, candidate_id: str) -> str:
        """Hash holding one candidate's payload (text, topic, format, tags, source, ...)."""
        return self._k("candidate", candidate_id)

    def payload_pattern(self) -> str:
        return self._k("candidate", "*")

    def content_hash(self, digest: str) -> str:
        """SET NX marker (with TTL) of a normalised content hash: the fast dedup filter."""
        return self._k("content_hash", digest)

    def content_hash_pattern(self) -> str:
        return self._k("content_hash", "*")

    def source_stats(self, source: str) -> str:
        """Hash of per-source counters (fetched, accepted, duplicates, rejected:*, errors)."""
        return self._k("sources", "stats", source)

    def feed_cache(self, source: str) -> str:
        """Hash with a feed's ETag / Last-Modified for conditional GET."""
        return self._k("sources", "http", source)

    # -- bandits --------------------------------------------------------------------------------
    def bandit(self, family: str, arm: str) -> str:
        """Hash {alpha, beta, pulls} of one arm of one feature family (topic, hour, format, tag)."""
        return self._k("bandit", family, arm)

    def bandit_pattern(self, family: str = "*") -> str:
        return self._k("bandit", family, "*")

    def bandit_arms(self) -> str:
        """Set of every ``bandit:<family>:<arm>`` key: what a learning cycle decays, atomically."""
        return self._k("bandit_meta", "arms")

    def bandit_cycle(self) -> str:
        """Id of the last learning cycle applied to the bandit hashes (learn-once, idempotent)."""
        return self._k("bandit_meta", "cycle")

    # -- scheduler and poster state -------------------------------------------------------------
    def poster_status(self) -> str:
        """Hash {state, reason, since}: set when X refused our credentials (health reads it)."""
        return self._k("state", "poster")

    def rate_limit(self, endpoint: str) -> str:
        """Hash {reset_at, remaining, limit} learned from X's rate-limit headers."""
        return self._k("rate", endpoint)

    def rate_limit_pattern(self) -> str:
        return self._k("rate", "*")

    def health_probe(self) -> str:
        """Short-lived string ``xbot health`` writes to learn whether Redis accepts writes."""
        return self._k("state", "health_probe")

    def sim_posts(self) -> str:
        """Hash tweet id -> JSON {id, text, created_at}: the timeline of the simulated X (demo)."""
        return self._k("sim", "posts")

    def sim_world(self) -> str:
        """Hash {seed, start, horizon_days}: the simulated world the demo's X runs on."""
        return self._k("sim", "world")

    def sim_post_seq(self) -> str:
        """Counter giving the simulated X its tweet ids."""
        return self._k("sim", "post_seq")

    def lock(self, name: str) -> str:
        """Lock string (value = owner token) with a lease (PX)."""
        return self._k("lock", name)
