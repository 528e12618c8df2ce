-- When each step's latest attempt started (epoch ms), so step durations can be shown and
-- measured; `updated_at` is when it last changed (its end, once done or failed).
ALTER TABLE job_steps ADD COLUMN started_at BIGINT;
