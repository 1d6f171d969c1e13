-- MSNP10's address book on the same lists: a GUID for every group and every entry, and
-- the pending list (PL: someone added me and I have not yet allowed or blocked them).
-- MSNP2-9 sessions keep using the numeric group ids and ignore both.

ALTER TABLE groups ADD COLUMN guid TEXT;
ALTER TABLE contacts ADD COLUMN guid TEXT;
-- Only an RL entry is pending; clearing the RL bit clears it (the store keeps that up).
ALTER TABLE contacts ADD COLUMN pending INTEGER NOT NULL DEFAULT 0 CHECK (pending IN (0, 1));

-- A random (version 4) GUID in its 36-character lower-case form; every row draws its own.
UPDATE groups SET guid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
    || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random() % 4), 1)
    || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)));
UPDATE contacts SET guid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
    || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random() % 4), 1)
    || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)));

-- Whoever has me on their RL and is on neither my AL nor my BL is still undecided.
UPDATE contacts SET pending = 1 WHERE lists & 8 AND lists & 6 = 0;

CREATE UNIQUE INDEX groups_by_guid ON groups (owner_id, guid);
CREATE UNIQUE INDEX contacts_by_guid ON contacts (owner_id, guid);

-- New rows get theirs here, whichever statement inserts them.
CREATE TRIGGER groups_guid AFTER INSERT ON groups WHEN NEW.guid IS NULL BEGIN
    UPDATE groups SET guid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
        || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random() % 4), 1)
        || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))
    WHERE owner_id = NEW.owner_id AND group_id = NEW.group_id;
END;
CREATE TRIGGER contacts_guid AFTER INSERT ON contacts WHEN NEW.guid IS NULL BEGIN
    UPDATE contacts SET guid = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
        || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random() % 4), 1)
        || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))
    WHERE owner_id = NEW.owner_id AND contact_id = NEW.contact_id;
END;
