-- Learn-once bookkeeping. Every learning cycle that teaches the bandit gets one row; every post
-- it taught points at that row (tweets.learned_cycle_id), with its reward in
-- learning_metadata.reward. Postgres is the source of truth: the Redis bandit state is the
-- replay of these cycles in id order (decay first, then the cycle's increments), which is what
-- `xbot learn rebuild` recomputes and what Redis records as its last applied cycle.

create table if not exists learning_cycles (
    id              bigserial        primary key,
    environment     text             not null,
    ran_at          timestamptz      not null,  -- the cycle's clock (simulated in the demo)
    decay           double precision not null check (decay > 0 and decay <= 1),
    baseline_median double precision not null check (baseline_median >= 0),
    posts_learned   integer          not null check (posts_learned > 0),
    total_reward    double precision not null check (total_reward >= 0),
    created_at      timestamptz      not null default now()
);
create index if not exists learning_cycles_env_id_idx on learning_cycles (environment, id);

alter table tweets add column if not exists learned_cycle_id bigint
    references learning_cycles (id) on delete restrict;
create index if not exists tweets_learned_cycle_idx on tweets (learned_cycle_id)
    where learned_cycle_id is not null;
-- The learning loop's scan: posted, not yet learned, by age.
create index if not exists tweets_env_unlearned_idx on tweets (environment, posted_at)
    where status = 'posted' and learned_cycle_id is null;
