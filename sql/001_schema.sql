-- 001: workspaces, users, memberships, API keys and registries.
-- Ids are UUIDv7 in BINARY(16): compact, and ordered by creation time, so
-- (workspace_id, id) is the keyset-pagination order.  Timestamps are UTC
-- (the app sets time_zone = '+00:00' on every connection).
-- Text compares byte for byte without padding (utf8mb4_nopad_bin): "a" and
-- "a " are two names.
-- Statements are separated by a line that ends with ';'.

CREATE TABLE workspaces (
  id          BINARY(16)   NOT NULL PRIMARY KEY,
  name        VARCHAR(128) NOT NULL,
  created_at  DATETIME     NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE users (
  id          BINARY(16)   NOT NULL PRIMARY KEY,
  name        VARCHAR(128) NOT NULL,
  created_at  DATETIME     NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE memberships (
  workspace_id BINARY(16) NOT NULL,
  user_id      BINARY(16) NOT NULL,
  role         ENUM('owner','admin','member','viewer') NOT NULL,
  created_at   DATETIME   NOT NULL,
  PRIMARY KEY (user_id, workspace_id),
  KEY memberships_workspace (workspace_id),
  CONSTRAINT memberships_workspace_fk FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE,
  CONSTRAINT memberships_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Only the SHA-256 of a key is kept: a key is 32 random bytes, so a plain
-- hash cannot be reversed or guessed.
CREATE TABLE api_keys (
  id          BINARY(16) NOT NULL PRIMARY KEY,
  user_id     BINARY(16) NOT NULL,
  key_hash    BINARY(32) NOT NULL,
  created_at  DATETIME   NOT NULL,
  revoked_at  DATETIME   NULL,
  UNIQUE KEY api_keys_hash (key_hash),
  KEY api_keys_user (user_id),
  CONSTRAINT api_keys_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- server is what the user gave, normalised; server_key folds the Docker
-- Hub aliases to docker.io for filters and comparisons.  The password is
-- AES-256-GCM ciphertext (same length as the plaintext), its nonce and tag
-- and the id of the master key that sealed it.
CREATE TABLE registries (
  id             BINARY(16)      NOT NULL PRIMARY KEY,
  workspace_id   BINARY(16)      NOT NULL,
  name           VARCHAR(128)    NOT NULL,
  server         VARCHAR(262)    NOT NULL,
  server_key     VARCHAR(262)    NOT NULL,
  username       VARCHAR(255)    NOT NULL,
  email          VARCHAR(254)    NULL,
  enabled        BOOLEAN         NOT NULL DEFAULT TRUE,
  password_ct    VARBINARY(16384) NOT NULL,
  password_nonce BINARY(12)      NOT NULL,
  password_tag   BINARY(16)      NOT NULL,
  key_id         INT UNSIGNED    NOT NULL,
  created_at     DATETIME        NOT NULL,
  updated_at     DATETIME        NOT NULL,
  UNIQUE KEY registries_name (workspace_id, name),
  KEY registries_list (workspace_id, id),
  KEY registries_server (workspace_id, server_key, id),
  KEY registries_enabled (workspace_id, enabled, id),
  KEY registries_key (key_id),
  CONSTRAINT registries_workspace_fk FOREIGN KEY (workspace_id) REFERENCES workspaces (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
