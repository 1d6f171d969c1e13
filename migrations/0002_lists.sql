-- Contact lists, groups, privacy settings and phone properties.
-- list_version covers all of an account's lists and settings; every change bumps it.
-- The CHECK keeps it a u32: a bump past the top fails instead of wrapping.
ALTER TABLE users ADD COLUMN list_version INTEGER NOT NULL DEFAULT 1
    CHECK (list_version BETWEEN 0 AND 4294967295);
ALTER TABLE users ADD COLUMN gtc TEXT NOT NULL DEFAULT 'A' CHECK (gtc IN ('A', 'N'));
ALTER TABLE users ADD COLUMN blp TEXT NOT NULL DEFAULT 'AL' CHECK (blp IN ('AL', 'BL'));

-- PRP values, decoded. An unset property has no row.
CREATE TABLE properties (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name    TEXT    NOT NULL CHECK (name IN ('PHH', 'PHW', 'PHM', 'MOB', 'MBE')),
    value   TEXT    NOT NULL,
    PRIMARY KEY (user_id, name)
) STRICT, WITHOUT ROWID;

-- Contact groups (MSNP7+). Group 0 ("Other Contacts") always exists.
CREATE TABLE groups (
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL CHECK (group_id BETWEEN 0 AND 29),
    name     TEXT    NOT NULL,
    PRIMARY KEY (owner_id, group_id)
) STRICT, WITHOUT ROWID;

-- One row per account on any of the owner's lists. `lists` is the MSNP8 bit set
-- (FL=1 AL=2 BL=4 RL=8); a row on no list is deleted, never kept at 0.
-- `name` is the one stored with the entry (ADD/REA), decoded.
CREATE TABLE contacts (
    owner_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    lists      INTEGER NOT NULL CHECK (lists BETWEEN 1 AND 15 AND (lists & 6) <> 6),
    name       TEXT    NOT NULL,
    PRIMARY KEY (owner_id, contact_id)
) STRICT, WITHOUT ROWID;

-- Who has me on their lists (RL upkeep, watchers, account deletion).
CREATE INDEX contacts_by_contact ON contacts (contact_id);

-- FL entries' groups; only FL entries have rows here.
CREATE TABLE contact_groups (
    owner_id   INTEGER NOT NULL,
    contact_id INTEGER NOT NULL,
    group_id   INTEGER NOT NULL,
    PRIMARY KEY (owner_id, contact_id, group_id),
    FOREIGN KEY (owner_id, group_id) REFERENCES groups (owner_id, group_id) ON DELETE CASCADE,
    FOREIGN KEY (owner_id, contact_id) REFERENCES contacts (owner_id, contact_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Serves the cascade when a group is deleted.
CREATE INDEX contact_groups_by_group ON contact_groups (owner_id, group_id);

INSERT INTO groups (owner_id, group_id, name) SELECT id, 0, 'Other Contacts' FROM users;
