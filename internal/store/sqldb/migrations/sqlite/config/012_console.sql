-- The operator console (issue 9). admin_audit: every successful admin write,
-- with the name of the admin token that made it (never the token).
-- campaign_revision: one row per applied campaign file, written in the apply's
-- transaction, with its actor and the counts of rows upserted.
CREATE TABLE IF NOT EXISTS admin_audit (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  audit_time INTEGER NOT NULL,
  actor      TEXT    NOT NULL,
  action     TEXT    NOT NULL,
  target     TEXT    NOT NULL DEFAULT '',
  summary    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS idx_admin_audit_target ON admin_audit (action, target, id);

CREATE TABLE IF NOT EXISTS campaign_revision (
  revision    INTEGER PRIMARY KEY,
  actor       TEXT    NOT NULL,
  summary     TEXT    NOT NULL,
  create_time INTEGER NOT NULL
);
