-- The xAPI statement resource's index (issue 12 item 3): one row per stored statement, in
-- arrival order (seq), and the agents and activities each one names (direct or related), so
-- GET /xapi/statements filters and pages in SQL. The statement itself stays in documents
-- (kind 'xapi_statement').
CREATE TABLE xapi_statements (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    statement_id TEXT NOT NULL,
    stored TEXT NOT NULL,
    verb TEXT NOT NULL,
    registration TEXT,
    voided INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, statement_id)
);
CREATE INDEX xapi_statements_stored ON xapi_statements (tenant_id, stored);
CREATE TABLE xapi_statement_refs (
    tenant_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    related INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind, value, seq)
);
CREATE INDEX xapi_statement_refs_seq ON xapi_statement_refs (tenant_id, seq);
CREATE TABLE xapi_sync_cursors (
    tenant_id TEXT NOT NULL,
    source TEXT NOT NULL,
    cursor TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, source)
);
