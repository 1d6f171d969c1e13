-- Values the server keeps across restarts. `secret`: 32 random bytes from which the
-- stand-in MD5 salt of an unknown account is derived, so that it stays as stable as a
-- real account's salt and a restart does not tell which handles exist.
CREATE TABLE server_state (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT, WITHOUT ROWID;
