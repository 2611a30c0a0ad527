-- Deleting a whole tenant (pathwise admin delete-tenant) removes its audit rows too: the
-- audit log stays append-only except for the rows of a tenant marked in tenant_deletions,
-- a marker that lives only inside the deleting transaction. (The UPDATE rule of 0006 stays.)
CREATE TABLE tenant_deletions (
    tenant_id TEXT PRIMARY KEY,
    at TEXT NOT NULL
);
CREATE OR REPLACE FUNCTION pathwise_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.tenant_id = OLD.tenant_id AND NEW.at = OLD.at
       AND NEW.actor = OLD.actor AND NEW.action = OLD.action AND NEW.detail::text = OLD.detail::text
       AND NEW.resource LIKE '%:p\_%' ESCAPE '\'
       AND left(NEW.resource, strpos(NEW.resource, ':p_')) = left(OLD.resource, strpos(NEW.resource, ':p_')) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM tenant_deletions WHERE tenant_id = OLD.tenant_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
