-- Jobs looked up by venture: the claim's "no other job of this venture holds a live lease"
-- check runs for every candidate on every poll, and queueing, step progress and the latest
-- job's steps all filter by venture. Without this each of them scans the whole table.
CREATE INDEX jobs_venture ON jobs (venture_id, created_at);
