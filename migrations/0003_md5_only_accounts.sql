-- Accounts created by `msnd user import --md5-only` have no Passport hash: they can log in
-- with MD5 (MSNP2-7) but not with Passport (MSNP8) until `msnd user passwd` sets one. So
-- users.passport_hash becomes nullable, NULL meaning "no Passport login".
--
-- SQLite cannot drop a NOT NULL constraint in place, and migrations run in a transaction,
-- where foreign keys cannot be switched off. So users is rebuilt together with every table
-- that refers to it: new tables are filled, the old ones dropped children first (so no
-- ON DELETE CASCADE fires), and the new ones renamed into place (which rewrites their
-- references to the new names).

CREATE TABLE users_new (
    id                INTEGER PRIMARY KEY,
    email             TEXT    NOT NULL UNIQUE,
    friendly_name     TEXT    NOT NULL,
    md5_salt          TEXT    NOT NULL,
    md5_digest        TEXT    NOT NULL,
    md5_digest_latin1 TEXT,
    passport_hash     TEXT,
    created_at        INTEGER NOT NULL DEFAULT (unixepoch()),
    list_version      INTEGER NOT NULL DEFAULT 1 CHECK (list_version BETWEEN 0 AND 4294967295),
    gtc               TEXT    NOT NULL DEFAULT 'A' CHECK (gtc IN ('A', 'N')),
    blp               TEXT    NOT NULL DEFAULT 'AL' CHECK (blp IN ('AL', 'BL'))
) STRICT;
INSERT INTO users_new (id, email, friendly_name, md5_salt, md5_digest, md5_digest_latin1, passport_hash,
                       created_at, list_version, gtc, blp)
SELECT id, email, friendly_name, md5_salt, md5_digest, md5_digest_latin1, passport_hash,
       created_at, list_version, gtc, blp
FROM users;

CREATE TABLE properties_new (
    user_id INTEGER NOT NULL REFERENCES users_new (id) ON DELETE CASCADE,
    name    TEXT    NOT NULL CHECK (name IN ('PHH', 'PHW', 'PHM', 'MOB', 'MBE')),
    value   TEXT    NOT NULL,
    PRIMARY KEY (user_id, name)
) STRICT, WITHOUT ROWID;
INSERT INTO properties_new (user_id, name, value) SELECT user_id, name, value FROM properties;

CREATE TABLE groups_new (
    owner_id INTEGER NOT NULL REFERENCES users_new (id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL CHECK (group_id BETWEEN 0 AND 29),
    name     TEXT    NOT NULL,
    PRIMARY KEY (owner_id, group_id)
) STRICT, WITHOUT ROWID;
INSERT INTO groups_new (owner_id, group_id, name) SELECT owner_id, group_id, name FROM groups;

CREATE TABLE contacts_new (
    owner_id   INTEGER NOT NULL REFERENCES users_new (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES users_new (id) ON DELETE CASCADE,
    lists      INTEGER NOT NULL CHECK (lists BETWEEN 1 AND 15 AND (lists & 6) <> 6),
    name       TEXT    NOT NULL,
    PRIMARY KEY (owner_id, contact_id)
) STRICT, WITHOUT ROWID;
INSERT INTO contacts_new (owner_id, contact_id, lists, name)
SELECT owner_id, contact_id, lists, name FROM contacts;

CREATE TABLE contact_groups_new (
    owner_id   INTEGER NOT NULL,
    contact_id INTEGER NOT NULL,
    group_id   INTEGER NOT NULL,
    PRIMARY KEY (owner_id, contact_id, group_id),
    FOREIGN KEY (owner_id, group_id) REFERENCES groups_new (owner_id, group_id) ON DELETE CASCADE,
    FOREIGN KEY (owner_id, contact_id) REFERENCES contacts_new (owner_id, contact_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
INSERT INTO contact_groups_new (owner_id, contact_id, group_id)
SELECT owner_id, contact_id, group_id FROM contact_groups;

DROP TABLE contact_groups;
DROP TABLE contacts;
DROP TABLE groups;
DROP TABLE properties;
DROP TABLE users;

ALTER TABLE users_new RENAME TO users;
ALTER TABLE properties_new RENAME TO properties;
ALTER TABLE groups_new RENAME TO groups;
ALTER TABLE contacts_new RENAME TO contacts;
ALTER TABLE contact_groups_new RENAME TO contact_groups;

CREATE INDEX contacts_by_contact ON contacts (contact_id);
CREATE INDEX contact_groups_by_group ON contact_groups (owner_id, group_id);
