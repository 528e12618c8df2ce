-- Event ids come from one counter row, incremented inside the inserting transaction. On
-- PostgreSQL the row lock serializes concurrent writers until they commit, so ids are unique
-- and appear in commit order: a live log that tails by id never skips a line written by
-- another instance. (MAX(id) + 1 was only safe with SQLite's single writer.)
CREATE TABLE event_sequence (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last BIGINT NOT NULL
);
INSERT INTO event_sequence (id, last) SELECT 1, COALESCE(MAX(id), 0) FROM events;
