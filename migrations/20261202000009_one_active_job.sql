-- At most one job per venture is queued or running. queue_job checks before it inserts, but two
-- instances on PostgreSQL (READ COMMITTED) could both pass the check; this index makes the
-- second insert fail, and queue_job then answers with the job that won.
-- Should an older database hold two already, the newer ones are given up first.
UPDATE jobs SET status = 'failed', last_error = 'superseded: one job per venture at a time'
WHERE status IN ('queued', 'running')
  AND EXISTS (
    SELECT 1 FROM jobs AS older
    WHERE older.venture_id = jobs.venture_id
      AND older.status IN ('queued', 'running')
      AND (older.created_at < jobs.created_at OR (older.created_at = jobs.created_at AND older.id < jobs.id))
  );
CREATE UNIQUE INDEX jobs_one_active_per_venture ON jobs (venture_id) WHERE status IN ('queued', 'running');
