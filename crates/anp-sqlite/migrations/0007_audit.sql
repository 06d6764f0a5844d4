-- 0007: the audit log of operator actions (`anp serve`: JSON API and dashboard), newest
-- AUDIT_KEEP (10,000) kept; `audit_record` trims in the same transaction.
CREATE TABLE audit (
    id     INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    who    TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    result TEXT    NOT NULL
);
