-- The human approval gate (flag require_approval, xbot/review.py). Review state lives in
-- Postgres with the candidate, so it survives Redis and the queue can be rebuilt with it:
--   review_state  NULL (pending), 'approved', 'rejected' (by a person), 'edited' (replaced by a
--                 new candidate whose metadata.edited_from names this one)
--   reviewed_by   who acted (`--by`, default the OS user); reviewed_at when; review_note why.
alter table candidates add column if not exists review_state text
    check (review_state in ('approved', 'rejected', 'edited'));
alter table candidates add column if not exists reviewed_by text;
alter table candidates add column if not exists reviewed_at timestamptz;
alter table candidates add column if not exists review_note text;
-- The live gate asks "which of these queued hashes are approved" every cycle.
create index if not exists candidates_env_approved_idx
    on candidates (environment, content_hash) where review_state = 'approved';
