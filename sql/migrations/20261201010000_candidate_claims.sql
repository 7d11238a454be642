-- The candidate queue as a projection of Postgres (xbot/candidates/queue.py, issue 10).
-- A claim is recorded on its row (token and lease end), so a claim whose Redis state vanished
-- can still be acknowledged by its holder and goes back to 'queued' once its lease has passed;
-- `xbot candidates requeue` and the drift check read the queued, unexpired rows through the
-- partial index below.
alter table candidates add column if not exists claim_token text;
alter table candidates add column if not exists claim_until timestamptz;
create index if not exists candidates_queued_idx
    on candidates (environment, expires_at) where status = 'queued';
create index if not exists candidates_claimed_idx
    on candidates (environment, claim_until) where status = 'claimed';
