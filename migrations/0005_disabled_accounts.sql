-- An operator can disable an account (`msnd user disable`): it cannot log in by any
-- method until it is enabled again. Its lists and contacts' lists stay as they are.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
