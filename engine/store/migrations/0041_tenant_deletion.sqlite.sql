-- Deleting a whole tenant (pathwise admin delete-tenant) removes its audit rows too: the
-- audit log stays append-only except for the rows of a tenant marked in tenant_deletions,
-- a marker that lives only inside the deleting transaction.
CREATE TABLE tenant_deletions (
    tenant_id TEXT PRIMARY KEY,
    at TEXT NOT NULL
);
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM tenant_deletions WHERE tenant_id = OLD.tenant_id)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
