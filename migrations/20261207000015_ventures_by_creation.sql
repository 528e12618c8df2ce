-- The ventures list reads a page of the newest ventures: straight off this index, not by
-- sorting them all.
CREATE INDEX ventures_by_creation ON ventures (created_at, id);
