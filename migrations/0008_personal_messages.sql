-- MSNP11's personal message (UUX): the <Data> document as msnd shows it to watchers (UBX),
-- kept across logins like the friendly name. NULL: none set.
ALTER TABLE users ADD COLUMN personal_message TEXT;
