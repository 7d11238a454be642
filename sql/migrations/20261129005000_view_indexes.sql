-- Indexes for the runbook's view queries, which filter on time but not on environment
-- (`SELECT * FROM vw_recent_posts ORDER BY posted_at DESC LIMIT 10` and friends). The earlier
-- indexes lead with environment, so those queries fell back to full scans: 0.4-0.9 s on
-- 1,000,000 tweets (benchmarks/bench_views.py). These lead with the time column and INCLUDE the
-- generated columns the views aggregate, so the 7/30/90-day windows are index-only scans.

create index if not exists tweets_posted_at_cover_idx on tweets (posted_at desc)
    include (environment, topic, source, engine, hour, impressions, engagements, reward)
    where status = 'posted';

create index if not exists candidates_created_cover_idx on candidates (created_at)
    include (environment, source, status);

-- The daily views group by (environment, day) expressions; without statistics on them the
-- planner guessed ~66,000 groups for ~730, chose a disk sort of whole jsonb rows and JIT.
create statistics if not exists audit_log_env_day_stats (ndistinct)
    on (context ->> 'environment'), ((ts at time zone 'UTC')::date) from audit_log;
create statistics if not exists tweets_env_day_stats (ndistinct)
    on environment, ((date_trunc('day', posted_at at time zone 'UTC'))::date) from tweets;

-- vw_bandit_performance, same columns: the day's totals by hash aggregation, then the day's
-- last cycle fetched by index (audit_log_env_cycle_idx) instead of three ordered array_agg over
-- whole jsonb rows, which sorted every cycle of the year on disk (~350 ms for a year of
-- 15-minute cycles in two environments).
create or replace view vw_bandit_performance as
with days as (
    select
        a.context ->> 'environment'                                      as environment,
        (a.ts at time zone 'UTC')::date                                  as day,
        count(*)                                                         as cycles,
        coalesce(sum((a.event_data ->> 'tweets_processed')::bigint), 0)  as tweets_processed,
        coalesce(sum((a.event_data ->> 'total_rewards')::double precision), 0) as total_rewards,
        coalesce(sum((a.event_data ->> 'bandit_updates')::bigint), 0)    as bandit_updates,
        avg((a.event_data ->> 'average_engagement')::double precision)
            filter (where (a.event_data ->> 'tweets_processed')::bigint > 0) as avg_engagement,
        max(a.ts)                                                        as last_cycle_at
    from audit_log a
    where a.event_type = 'LEARNING_CYCLE_COMPLETE'
    group by 1, 2
)
select
    d.environment,
    d.day,
    d.cycles,
    d.tweets_processed,
    d.total_rewards,
    d.bandit_updates,
    d.avg_engagement,
    (l.event_data ->> 'baseline_median')::double precision           as last_baseline_median,
    l.event_data -> 'top_topics'                                     as last_top_topics,
    l.event_data -> 'best_hours'                                     as last_best_hours,
    d.last_cycle_at
from days d
left join lateral (
    select a.event_data
    from audit_log a
    where a.event_type = 'LEARNING_CYCLE_COMPLETE'
      and a.ts = d.last_cycle_at
      and a.context ->> 'environment' is not distinct from d.environment
    order by a.id desc
    limit 1
) l on true;
