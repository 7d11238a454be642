-- Core tables of xbot. Postgres is the source of truth; Redis is rebuildable working state.
-- File names are <UTC timestamp>_<name>.sql so `supabase db push` applies them in the same order.

create table if not exists bot_config (
    environment  text        not null,
    config_key   text        not null,
    config_value jsonb       not null default '{}'::jsonb,
    updated_at   timestamptz not null default now(),
    primary key (environment, config_key),
    constraint bot_config_value_is_object check (jsonb_typeof(config_value) = 'object')
);

-- Every generated candidate. The unique (environment, content_hash) is the dedup authority.
create table if not exists candidates (
    id           bigserial   primary key,
    environment  text        not null,
    content_hash text        not null,
    text         text        not null,
    topic        text        not null,
    format       text        not null default 'post',
    tags         text[]      not null default '{}',
    source       text        not null,
    priority     double precision not null default 0,
    status       text        not null default 'queued'
        check (status in ('queued', 'claimed', 'posted', 'shadowed', 'rejected', 'expired')),
    created_at   timestamptz not null default now(),
    expires_at   timestamptz,
    metadata     jsonb       not null default '{}'::jsonb,
    unique (environment, content_hash)
);
create index if not exists candidates_env_created_idx on candidates (environment, created_at);
create index if not exists candidates_env_source_idx on candidates (environment, source);

-- One row per post attempt. idempotency_key (the normalised content hash) is unique per
-- environment: a second attempt at the same text can never be inserted, so never posted twice.
create table if not exists tweets (
    id                bigserial   primary key,
    environment       text        not null,
    idempotency_key   text        not null,
    candidate_id      bigint      references candidates (id) on delete set null,
    tweet_id          text,
    text              text        not null,
    status            text        not null default 'claimed'
        check (status in ('claimed', 'posted', 'in_doubt', 'failed')),
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    posted_at         timestamptz,
    -- topic, source, tags, format, engine, environment, hour (local hour of the slot)
    metadata          jsonb       not null default '{}'::jsonb,
    -- likes, retweets, replies, quotes, bookmarks, impressions, engagement_rate,
    -- performance_tier, last_updated
    analytics         jsonb       not null default '{}'::jsonb,
    -- scores, policy, propensity, reward, learned_at ...
    learning_metadata jsonb       not null default '{}'::jsonb,
    -- Derived columns so views and indexes never re-parse jsonb per row.
    topic       text generated always as (metadata ->> 'topic') stored,
    source      text generated always as (metadata ->> 'source') stored,
    engine      text generated always as (metadata ->> 'engine') stored,
    impressions bigint generated always as (
        case when jsonb_typeof(analytics -> 'impressions') = 'number'
             then (analytics ->> 'impressions')::bigint end) stored,
    engagements bigint generated always as (
        case when jsonb_typeof(analytics -> 'impressions') = 'number' then
            coalesce((analytics ->> 'likes')::bigint, 0)
          + coalesce((analytics ->> 'retweets')::bigint, 0)
          + coalesce((analytics ->> 'replies')::bigint, 0)
          + coalesce((analytics ->> 'quotes')::bigint, 0)
          + coalesce((analytics ->> 'bookmarks')::bigint, 0) end) stored,
    unique (environment, idempotency_key)
);
create unique index if not exists tweets_tweet_id_uidx on tweets (tweet_id) where tweet_id is not null;
create index if not exists tweets_env_posted_idx on tweets (environment, posted_at desc)
    where status = 'posted';
create index if not exists tweets_env_status_idx on tweets (environment, status);

-- One row per scheduling cycle: posted, shadowed or skipped. Off-policy evaluation reads this.
create table if not exists decisions (
    id            bigserial   primary key,
    environment   text        not null,
    ts            timestamptz not null default now(),
    slot_at       timestamptz not null default now(),
    engine        text        not null check (engine in ('v1', 'v2')),
    outcome       text        not null check (outcome in ('posted', 'shadow', 'skipped')),
    reason        text        not null,
    candidate_id  bigint      references candidates (id) on delete set null,
    content_hash  text,
    topic         text,
    format        text,
    hour          smallint    check (hour between 0 and 23),
    scores        jsonb       not null default '{}'::jsonb,
    propensity    double precision check (propensity is null or (propensity > 0 and propensity <= 1)),
    flags         jsonb       not null default '{}'::jsonb,
    tweet_pk      bigint      references tweets (id) on delete set null,
    context       jsonb       not null default '{}'::jsonb
);
create index if not exists decisions_env_ts_idx on decisions (environment, ts desc);

-- One schema for every audit event, written by every component.
create table if not exists audit_log (
    id          bigserial   primary key,
    ts          timestamptz not null default now(),
    event_type  text        not null,
    component   text        not null,
    event_data  jsonb       not null default '{}'::jsonb,
    context     jsonb       not null default '{}'::jsonb
);
create index if not exists audit_log_type_ts_idx on audit_log (event_type, ts desc);
