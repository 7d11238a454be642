-- Cheaper learning writes. A learning cycle rewrites every matured post's row once (analytics,
-- reward, learned_cycle_id), so each index and each per-row trigger on tweets is paid per post
-- (100,000 posts in benchmarks/bench_learning.py).
--
-- 1. The foreign key tweets.learned_cycle_id -> learning_cycles(id) ran one referential check
--    per updated row. The only writer sets the column to the cycle it inserts in the same
--    transaction, and cycles are never deleted, so the check can never fail; the column stays
--    indexed (tweets_learned_cycle_idx) for rebuilds.
alter table tweets drop constraint if exists tweets_learned_cycle_id_fkey;

-- 2. tweets_env_posted_idx (environment, posted_at desc) where posted is covered by
--    tweets_posted_at_cover_idx (posted_at desc) include (environment, ...) where posted: the
--    last-post and posts-per-hour queries read the covering index, newest first.
drop index if exists tweets_env_posted_idx;
