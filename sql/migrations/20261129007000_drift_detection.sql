-- Change detection (flag drift_check, xbot/drift.py). A learning cycle that runs the detector
-- stores its statistics after the cycle (the next cycle continues from them) and the family
-- restarts it decided, which the Redis store and `xbot learn rebuild` replay after the cycle's
-- increments:
--   {"threshold": 8.0,
--    "detector": {family: {arm: [S up, S down, s up, f up, s down, f down]}},
--    "restarts": {family: {"keep": 0.02, "evidence": {arm: [successes, failures]}}}}
-- NULL: the detector was off for that cycle.
alter table learning_cycles add column if not exists drift jsonb;
