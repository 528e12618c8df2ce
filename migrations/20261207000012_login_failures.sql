-- Failed sign-ins in a row, per username (`user:<name>`) and per client address (`addr:<ip>`),
-- shared by every instance: past a few, sign-ins from that scope wait until `blocked_until`.
-- A success clears its scopes; a scope left alone for a while starts again from one.
CREATE TABLE login_failures (
    scope         TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
