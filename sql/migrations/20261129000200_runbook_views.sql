-- The six views of the runbook. Column meanings: docs/views.md.
-- Engagement rate = (likes + retweets + replies + quotes + bookmarks) / impressions, and every
-- division goes through nullif(..., 0): a post without impressions has rate NULL, never an error.

alter table tweets add column if not exists reward double precision generated always as (
    case when jsonb_typeof(learning_metadata -> 'reward') = 'number'
         then (learning_metadata ->> 'reward')::double precision end) stored;
alter table tweets add column if not exists hour smallint generated always as (
    case when jsonb_typeof(metadata -> 'hour') = 'number'
         then (metadata ->> 'hour')::smallint end) stored;

create or replace view vw_recent_posts as
select
    t.id,
    t.environment,
    t.tweet_id,
    t.text,
    t.topic,
    t.metadata ->> 'format'                                   as format,
    t.source,
    t.engine,
    coalesce(t.hour, extract(hour from t.posted_at at time zone 'UTC')::smallint) as hour,
    t.posted_at,
    t.impressions,
    t.engagements,
    t.engagements::double precision / nullif(t.impressions, 0) as engagement_rate,
    t.analytics ->> 'performance_tier'                        as performance_tier,
    t.learning_metadata -> 'scores'                           as v2_scores,
    (t.learning_metadata ->> 'propensity')::double precision  as propensity,
    t.reward
from tweets t
where t.status = 'posted'
  and t.posted_at > now() - interval '30 days';

create or replace view vw_topics_perf_7d as
select
    t.environment,
    t.topic,
    count(*)                                                         as posts,
    count(*) filter (where t.impressions > 0)                        as measured_posts,
    coalesce(sum(t.impressions), 0)                                  as impressions,
    coalesce(sum(t.engagements), 0)                                  as engagements,
    avg(t.engagements::double precision / nullif(t.impressions, 0))  as avg_engagement_rate,
    sum(t.engagements)::double precision / nullif(sum(t.impressions), 0) as pooled_engagement_rate,
    avg(t.reward)                                                    as success_rate,
    max(t.posted_at)                                                 as last_posted_at
from tweets t
where t.status = 'posted'
  and t.posted_at > now() - interval '7 days'
group by t.environment, t.topic;

create or replace view vw_time_of_day_perf_7d as
select
    t.environment,
    coalesce(t.hour, extract(hour from t.posted_at at time zone 'UTC')::smallint) as hour,
    count(*)                                                         as posts,
    count(*) filter (where t.impressions > 0)                        as measured_posts,
    coalesce(sum(t.impressions), 0)                                  as impressions,
    coalesce(sum(t.engagements), 0)                                  as engagements,
    avg(t.engagements::double precision / nullif(t.impressions, 0))  as avg_engagement_rate,
    sum(t.engagements)::double precision / nullif(sum(t.impressions), 0) as pooled_engagement_rate,
    avg(t.reward)                                                    as success_rate
from tweets t
where t.status = 'posted'
  and t.posted_at > now() - interval '7 days'
group by 1, 2;

create or replace view vw_learning_performance as
select
    t.environment,
    (date_trunc('day', t.posted_at at time zone 'UTC'))::date        as day,
    count(*)                                                         as posts,
    count(*) filter (where t.engine = 'v2')                          as v2_posts,
    count(*) filter (where t.engine = 'v1')                          as v1_posts,
    count(*) filter (where t.impressions > 0)                        as measured_posts,
    avg(t.engagements::double precision / nullif(t.impressions, 0))  as avg_engagement_rate,
    avg(t.engagements::double precision / nullif(t.impressions, 0))
        filter (where t.engine = 'v2')                               as v2_avg_engagement_rate,
    avg(t.engagements::double precision / nullif(t.impressions, 0))
        filter (where t.engine = 'v1')                               as v1_avg_engagement_rate,
    count(t.reward)                                                  as learned_posts,
    coalesce(sum(t.reward), 0)                                       as total_reward,
    avg(t.reward)                                                    as success_rate
from tweets t
where t.status = 'posted'
  and t.posted_at > now() - interval '90 days'
group by 1, 2;

create or replace view vw_bandit_performance as
select
    a.context ->> 'environment'                                      as environment,
    (date_trunc('day', a.ts at time zone 'UTC'))::date               as day,
    count(*)                                                         as cycles,
    coalesce(sum((a.event_data ->> 'tweets_processed')::bigint), 0)  as tweets_processed,
    coalesce(sum((a.event_data ->> 'total_rewards')::double precision), 0) as total_rewards,
    coalesce(sum((a.event_data ->> 'bandit_updates')::bigint), 0)    as bandit_updates,
    avg((a.event_data ->> 'average_engagement')::double precision)
        filter (where (a.event_data ->> 'tweets_processed')::bigint > 0) as avg_engagement,
    (array_agg((a.event_data ->> 'baseline_median')::double precision order by a.ts desc))[1]
                                                                     as last_baseline_median,
    (array_agg(a.event_data -> 'top_topics' order by a.ts desc))[1]  as last_top_topics,
    (array_agg(a.event_data -> 'best_hours' order by a.ts desc))[1]  as last_best_hours,
    max(a.ts)                                                        as last_cycle_at
from audit_log a
where a.event_type = 'LEARNING_CYCLE_COMPLETE'
group by 1, 2;

create or replace view vw_content_sources_perf as
with gen as (
    select c.environment, c.source,
           count(*)                                       as candidates,
           count(*) filter (where c.status = 'queued')    as queued,
           count(*) filter (where c.status = 'rejected')  as rejected,
           count(*) filter (where c.status in ('posted', 'shadowed')) as picked
    from candidates c
    where c.created_at > now() - interval '30 days'
    group by 1, 2
), posted as (
    select t.environment, t.source,
           count(*)                                                        as posts,
           count(*) filter (where t.impressions > 0)                       as measured_posts,
           avg(t.engagements::double precision / nullif(t.impressions, 0)) as avg_engagement_rate,
           count(t.reward)                                                 as learned_posts,
           avg(t.reward)                                                   as success_rate
    from tweets t
    where t.status = 'posted'
      and t.posted_at > now() - interval '30 days'
    group by 1, 2
)
select
    coalesce(g.environment, p.environment)  as environment,
    coalesce(g.source, p.source)            as source,
    coalesce(g.candidates, 0)               as candidates,
    coalesce(g.queued, 0)                   as queued,
    coalesce(g.rejected, 0)                 as rejected,
    coalesce(g.picked, 0)                   as picked,
    coalesce(p.posts, 0)                    as posts,
    coalesce(p.measured_posts, 0)           as measured_posts,
    p.avg_engagement_rate,
    coalesce(p.learned_posts, 0)            as learned_posts,
    p.success_rate
from gen g
full outer join posted p on p.environment = g.environment and p.source = g.source;

create index if not exists audit_log_env_cycle_idx on audit_log (ts)
    where event_type = 'LEARNING_CYCLE_COMPLETE';
