-- Portable SQL (SQLite and PostgreSQL): TEXT ids, BIGINT epoch-millisecond times, no booleans.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('creator', 'operator', 'admin')),
    created_at    BIGINT NOT NULL
);

-- Only a SHA-256 of the session token is stored: a copy of the database logs nobody in.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE ventures (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    repository        TEXT NOT NULL,
    status            TEXT NOT NULL,
    vercel_project_id TEXT,
    created_by        TEXT NOT NULL REFERENCES users (id),
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);

-- Durable jobs: a job is claimed with a lease; a crashed runner's lease expires and another run resumes it.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    venture_id       TEXT NOT NULL REFERENCES ventures (id),
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    run_after        BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX jobs_claimable ON jobs (status, run_after);

-- One row per step of a job. 'intent' is written before a step creates anything remotely,
-- so a resumed step knows the remote resource may already exist and must be looked up.
CREATE TABLE job_steps (
    job_id     TEXT NOT NULL REFERENCES jobs (id),
    step       TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('intent', 'done', 'failed')),
    output     TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (job_id, step)
);

-- The provisioning log. Ids are assigned in insertion order and double as SSE event ids.
CREATE TABLE events (
    id         BIGINT PRIMARY KEY,
    venture_id TEXT NOT NULL REFERENCES ventures (id),
    job_id     TEXT,
    step       TEXT NOT NULL,
    level      TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
    message    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_venture ON events (venture_id, id);
