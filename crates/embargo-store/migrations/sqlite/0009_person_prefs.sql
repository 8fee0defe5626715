-- What each person wants from notifications: immediately, a daily digest,
-- or none; and their OpenPGP certificate, so that mail to them is
-- encrypted (and may then say more).
CREATE TABLE person_prefs (
    person TEXT PRIMARY KEY,
    notify TEXT NOT NULL DEFAULT 'immediate',
    openpgp_key TEXT
);
