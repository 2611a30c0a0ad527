-- An xAPI statement is kept in its own index row (issue 12 item 8): the stored statement and
-- how it was applied (the record engine.app._evidence writes) move from the generic documents
-- table into xapi_statements.payload, with the learner and status beside it. A statement then
-- writes one row and its few index entries instead of also a document row and that table's
-- six keys (docs/performance.md: 32 -> 23 WAL pages per statement). Statements stored
-- before migration 0020 without an index row stay documents until the store's first read
-- moves them (engine.store._xapi).
ALTER TABLE xapi_statements ADD COLUMN learner_id TEXT;
ALTER TABLE xapi_statements ADD COLUMN status TEXT;
ALTER TABLE xapi_statements ADD COLUMN payload TEXT;
UPDATE xapi_statements SET
    payload = (SELECT d.payload FROM documents d WHERE d.tenant_id = xapi_statements.tenant_id
               AND d.kind = 'xapi_statement' AND d.doc_id = xapi_statements.statement_id),
    learner_id = (SELECT d.learner_id FROM documents d WHERE d.tenant_id = xapi_statements.tenant_id
                  AND d.kind = 'xapi_statement' AND d.doc_id = xapi_statements.statement_id),
    status = (SELECT d.status FROM documents d WHERE d.tenant_id = xapi_statements.tenant_id
              AND d.kind = 'xapi_statement' AND d.doc_id = xapi_statements.statement_id);
-- an index row whose document is gone (its learner was erased) goes too
DELETE FROM xapi_statement_refs WHERE seq IN (SELECT seq FROM xapi_statements WHERE payload IS NULL);
DELETE FROM xapi_statements WHERE payload IS NULL;
DELETE FROM documents WHERE kind = 'xapi_statement' AND EXISTS (
    SELECT 1 FROM xapi_statements x WHERE x.tenant_id = documents.tenant_id
    AND x.statement_id = documents.doc_id);
-- only voiding statements have a target, and few statements wait for a learner or activity:
-- partial indexes, so an ordinary statement writes no entry in either
DROP INDEX xapi_statements_target;
CREATE INDEX xapi_statements_target ON xapi_statements (tenant_id, target) WHERE target IS NOT NULL;
CREATE INDEX xapi_statements_pending ON xapi_statements (tenant_id, seq) WHERE status = 'pending';
