-- The last publish error of an outbox task (see the MySQL file).

ALTER TABLE task ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
