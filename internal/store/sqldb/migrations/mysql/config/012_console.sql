-- The operator console (issue 9). admin_audit: every successful admin write,
-- with the name of the admin token that made it (never the token).
-- campaign_revision: one row per applied campaign file, written in the apply's
-- transaction, with its actor and the counts of rows upserted.
CREATE TABLE IF NOT EXISTS admin_audit (
  id         BIGINT       NOT NULL AUTO_INCREMENT,
  audit_time BIGINT       NOT NULL,
  actor      VARCHAR(32)  NOT NULL,
  action     VARCHAR(64)  NOT NULL,
  target     VARCHAR(128) NOT NULL DEFAULT '',
  summary    TEXT         NOT NULL,
  PRIMARY KEY (id),
  KEY idx_admin_audit_target (action, target, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS campaign_revision (
  revision    BIGINT      NOT NULL,
  actor       VARCHAR(32) NOT NULL,
  summary     TEXT        NOT NULL,
  create_time BIGINT      NOT NULL,
  PRIMARY KEY (revision)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
