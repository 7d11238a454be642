-- Every X API call xbot makes, with what X will bill for it (estimated from config/x_pricing.toml).
--
-- A row is written BEFORE a billable call (http_status null = in flight, estimated_cost_usd =
-- the most it can cost) inside the budget gate's transaction, and settled after the answer
-- (status, resources returned, what is billed). A process that dies mid-call leaves its
-- reservation counted against the budget: the estimate errs high, never low.
create table if not exists x_api_usage (
    id                 bigserial primary key,
    ts                 timestamptz not null,
    environment        text        not null,
    endpoint           text        not null,  -- e.g. 'POST /2/tweets'
    operation          text        not null,  -- a rate of the price file, e.g. post_create_url
    purpose            text        not null,  -- post | media | reconcile | learn | check
    plan               text        not null,
    resources          integer     not null default 0,  -- requests (writes) / items returned (reads)
    billed_resources   integer     not null default 0,  -- after X's once-per-UTC-day read rule
    estimated_cost_usd numeric(12, 6) not null default 0,
    http_status        integer,
    simulated          boolean     not null default false
);
create index if not exists x_api_usage_env_ts_idx on x_api_usage (environment, ts);

-- X bills a read of the same resource once per UTC day. One row per post read per day: the
-- billing rule (a second read that day costs nothing) and the cache that lets xbot not read a
-- post twice in a day at all (its metrics as read).
create table if not exists x_read_log (
    environment text        not null,
    day         date        not null,
    tweet_id    text        not null,
    read_at     timestamptz not null,
    owned       boolean     not null,
    metrics     jsonb,
    primary key (environment, day, tweet_id)
);
