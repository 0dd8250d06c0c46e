-- 003: sandboxes, the work queue of the provisioners.
-- task_id is the caller's name, unique per workspace among sandboxes not
-- destroyed (a destroyed one's row is replaced when its task_id is reused).
-- What to pull is copied from the sandbox image at provision time (image,
-- tag, registry_id), so a later edit of the image does not change a pull
-- in flight.  env_vars are sealed like passwords (AES-256-GCM, the
-- workspace and sandbox ids as associated data) and never returned.
-- A provisioner claims a row with SELECT ... FOR UPDATE SKIP LOCKED and
-- writes a lease (lease_owner, lease_until); a lease that runs out (a
-- provisioner died) makes the row claimable again.  Transient failures
-- set next_attempt_at for the backoff.

CREATE TABLE sandboxes (
  id               BINARY(16)    NOT NULL PRIMARY KEY,
  workspace_id     BINARY(16)    NOT NULL,
  task_id          VARCHAR(128)  NOT NULL,
  image_id         BINARY(16)    NOT NULL,
  image            VARCHAR(255)  NOT NULL,
  tag              VARCHAR(128)  NOT NULL,
  registry_id      BINARY(16)    NULL,
  status           ENUM('provisioning','ready','failed','destroyed') NOT NULL,
  ttl_seconds      INT UNSIGNED  NOT NULL,
  env_ct           MEDIUMBLOB    NULL,
  env_nonce        BINARY(12)    NULL,
  env_tag          BINARY(16)    NULL,
  env_key_id       INT UNSIGNED  NULL,
  image_digest     VARCHAR(80)   NULL,
  error_code       VARCHAR(40)   NULL,
  error_message    VARCHAR(512)  NULL,
  attempts         INT UNSIGNED  NOT NULL DEFAULT 0,
  first_attempt_at DATETIME(3)   NULL,
  next_attempt_at  DATETIME(3)   NOT NULL,
  lease_owner      VARCHAR(128)  NULL,
  lease_until      DATETIME(3)   NULL,
  created_at       DATETIME      NOT NULL,
  updated_at       DATETIME      NOT NULL,
  ready_at         DATETIME      NULL,
  expires_at       DATETIME      NULL,
  UNIQUE KEY sandboxes_task (workspace_id, task_id),
  KEY sandboxes_list (workspace_id, id),
  KEY sandboxes_queue (status, next_attempt_at),
  KEY sandboxes_expiry (status, expires_at),
  CONSTRAINT sandboxes_workspace_fk FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
