-- The audit log stays append-only, with one exception: erasing a learner may rewrite the
-- learner id at the end of a row's resource ("<name>:<id>") to its keyed hash ("<name>:p_...").
-- Every other column must stay the same.
CREATE OR REPLACE FUNCTION pathwise_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.tenant_id = OLD.tenant_id AND NEW.at = OLD.at
       AND NEW.actor = OLD.actor AND NEW.action = OLD.action AND NEW.detail::text = OLD.detail::text
       AND NEW.resource LIKE '%:p\_%' ESCAPE '\'
       AND left(NEW.resource, strpos(NEW.resource, ':p_')) = left(OLD.resource, strpos(NEW.resource, ':p_')) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
