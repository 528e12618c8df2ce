-- The platforms' connections as last checked, shared by every instance: pages read this row
-- instead of asking the platforms, and one instance at a time checks (it claims the row by
-- moving `started_at`). `statuses` is the JSON list the REST API calls `Connection`.
CREATE TABLE connection_checks (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    statuses   TEXT NOT NULL,
    -- When the statuses were asked for (0: never yet).
    checked_at BIGINT NOT NULL,
    -- When an instance last began a check (0: never).
    started_at BIGINT NOT NULL
);
INSERT INTO connection_checks (id, statuses, checked_at, started_at) VALUES (1, '[]', 0, 0);

-- When each user last asked for a check on demand: one per user per minute, on every instance.
CREATE TABLE connection_check_requests (
    username     TEXT PRIMARY KEY,
    requested_at BIGINT NOT NULL
);
