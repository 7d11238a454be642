-- Posterior summaries of the hierarchical engagement model (xbot/model.py), one row per fit and
-- one row per effect, so reports read them with plain SQL and never refit.
-- Rates are engagement rates (engagements / impressions) on the probability scale; the interval
-- is the 94% highest density interval.

create table if not exists model_fits (
    id          bigserial        primary key,
    environment text             not null,
    fitted_at   timestamptz      not null,
    method      text             not null check (method in ('advi', 'nuts')),
    draws       integer          not null check (draws > 0),
    n_posts     integer          not null check (n_posts >= 0),
    seconds     double precision not null check (seconds >= 0),
    diagnostics jsonb            not null default '{}'::jsonb,
    created_at  timestamptz      not null default now()
);
create index if not exists model_fits_env_id_idx on model_fits (environment, id desc);

create table if not exists model_effects (
    fit_id   bigint           not null references model_fits (id) on delete cascade,
    level    text             not null check (level in ('global', 'topic', 'hour', 'cell')),
    topic    text,
    hour     smallint         check (hour between 0 and 23),
    mean     double precision not null,
    hdi_low  double precision not null,
    hdi_high double precision not null,
    posts    integer          not null check (posts >= 0),
    check (hdi_low <= hdi_high)
);
create index if not exists model_effects_fit_idx on model_effects (fit_id, level);
