-- The Governance module's registry of organisations and its append-only audit.
-- Times are Unix epoch milliseconds (UTC); affiliations are space-separated organisation ids.

CREATE TABLE organisation (
    id             TEXT    NOT NULL PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('platform', 'institution', 'regulator', 'state_investor', 'operator')),
    name           TEXT    NOT NULL,
    jurisdiction   TEXT    NOT NULL,
    affiliations   TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    version        INTEGER NOT NULL
);
-- Exactly one regulator: the database refuses a second, whatever the code does.
CREATE UNIQUE INDEX ux_organisation_one_regulator ON organisation (kind) WHERE kind = 'regulator';

CREATE TABLE governance_audit (
    sequence       INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms          INTEGER NOT NULL,
    actor_id       TEXT    NOT NULL,
    actor_kind     TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    target         TEXT    NOT NULL,
    detail         TEXT    NOT NULL
);
