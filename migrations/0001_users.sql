-- Accounts. Handles are stored lower-case; friendly names decoded (UTF-8).
-- No plaintext password is stored: MD5 login (MSNP2-7) needs md5(salt + password) for a
-- salt the server announces, so each account keeps a fixed random salt and that digest
-- (and the digest of the Latin-1 bytes for non-ASCII passwords); Passport (MSNP8) checks
-- an Argon2id hash.
CREATE TABLE users (
    id                INTEGER PRIMARY KEY,
    email             TEXT    NOT NULL UNIQUE,
    friendly_name     TEXT    NOT NULL,
    md5_salt          TEXT    NOT NULL,
    md5_digest        TEXT    NOT NULL,
    md5_digest_latin1 TEXT,
    passport_hash     TEXT    NOT NULL,
    created_at        INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;
