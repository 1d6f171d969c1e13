-- Invitation codes for the sign-up page (web.registration = "invite"): made by
-- `msnd invite` or the admin page, each used once, until it expires (unix seconds).
CREATE TABLE invites (
    code       TEXT    PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- The account that used it; NULL while it is still unused.
    used_by    TEXT
) STRICT;
