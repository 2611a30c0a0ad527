-- The audit log stays append-only, with one exception: erasing a learner may rewrite the
-- learner id at the end of a row's resource ("<name>:<id>") to its keyed hash ("<name>:p_...").
-- Every other column must stay the same.
DROP TRIGGER audit_log_no_update;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN NOT (NEW.id = OLD.id AND NEW.tenant_id = OLD.tenant_id AND NEW.at = OLD.at
          AND NEW.actor = OLD.actor AND NEW.action = OLD.action AND NEW.detail = OLD.detail
          AND NEW.resource LIKE '%:p\_%' ESCAPE '\'
          AND substr(NEW.resource, 1, instr(NEW.resource, ':p_')) = substr(OLD.resource, 1, instr(NEW.resource, ':p_')))
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
