-- The statement a statement targets (its object is a StatementRef), so statement queries also
-- return the statements that target a matching statement (xAPI 1.0.3 Communication 2.1.3,
-- "Filter Conditions for StatementRefs"). Portable SQL.
ALTER TABLE xapi_statements ADD COLUMN target TEXT;
CREATE INDEX xapi_statements_target ON xapi_statements (tenant_id, target);
