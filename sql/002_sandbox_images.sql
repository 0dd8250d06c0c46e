-- 002: sandbox images, and the global default images every workspace sees.
-- workspace_id is NULL for a global image.  registry_id has no foreign key
-- on purpose: deleting a registry leaves its images pointing at it, so a
-- pull fails with registry_deleted instead of silently going public.
-- image is stored as the user gave it; image_host is its registry host's
-- comparison key (server_key of the lowercase host, "docker.io" for Docker
-- Hub), the value a linked registry's server_key must equal.

CREATE TABLE sandbox_images (
  id             BINARY(16)    NOT NULL PRIMARY KEY,
  workspace_id   BINARY(16)    NULL,
  name           VARCHAR(128)  NOT NULL,
  image          VARCHAR(255)  NOT NULL,
  image_host     VARCHAR(262)  NOT NULL,
  tag            VARCHAR(128)  NOT NULL,
  registry_id    BINARY(16)    NULL,
  description    VARCHAR(1024) NULL,
  memory_mb      INT UNSIGNED  NULL,
  ttl_seconds    INT UNSIGNED  NULL,
  readiness_port INT UNSIGNED  NULL,
  enabled        BOOLEAN       NOT NULL DEFAULT TRUE,
  created_at     DATETIME      NOT NULL,
  updated_at     DATETIME      NOT NULL,
  UNIQUE KEY sandbox_images_name (workspace_id, name),
  KEY sandbox_images_list (workspace_id, id),
  KEY sandbox_images_registry (registry_id, id),
  CONSTRAINT sandbox_images_workspace_fk FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Global defaults: public images on Docker Hub.  Their ids carry a zero
-- timestamp so they sort before every workspace image.
INSERT INTO sandbox_images (id, workspace_id, name, image, image_host, tag,
  registry_id, description, memory_mb, ttl_seconds, readiness_port, enabled,
  created_at, updated_at) VALUES
  (UNHEX('00000000000070008000000000000001'), NULL, 'Code execution', 'modbox/code-exec', 'docker.io', 'latest', NULL,
   'Default image for running code', NULL, NULL, NULL, TRUE, UTC_TIMESTAMP(), UTC_TIMESTAMP()),
  (UNHEX('00000000000070008000000000000002'), NULL, 'Chromium', 'modbox/chromium', 'docker.io', 'latest', NULL,
   'Headless Chromium for browser automation', NULL, NULL, NULL, TRUE, UTC_TIMESTAMP(), UTC_TIMESTAMP()),
  (UNHEX('00000000000070008000000000000003'), NULL, 'Ubuntu', 'modbox/ubuntu', 'docker.io', 'latest', NULL,
   'General-purpose Ubuntu image', NULL, NULL, NULL, TRUE, UTC_TIMESTAMP(), UTC_TIMESTAMP());
