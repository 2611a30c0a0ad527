-- Pathwise engine store, schema 1 (SQLite dialect). Every data table carries tenant_id.
CREATE TABLE graphs (
    tenant_id TEXT NOT NULL,
    graph_id TEXT NOT NULL,
    record TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, graph_id)
);
CREATE TABLE skills (
    tenant_id TEXT NOT NULL,
    skill_id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant_id, skill_id)
);
CREATE TABLE activities (
    tenant_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant_id, activity_id)
);
CREATE TABLE learners (
    tenant_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant_id, learner_id)
);
CREATE TABLE classes (
    tenant_id TEXT NOT NULL,
    class_id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant_id, class_id)
);
CREATE TABLE class_members (
    tenant_id TEXT NOT NULL,
    class_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    member_role TEXT NOT NULL,
    PRIMARY KEY (tenant_id, class_id, member_role, member_id)
);
CREATE INDEX class_members_member ON class_members (tenant_id, member_role, member_id);
CREATE TABLE observations (
    tenant_id TEXT NOT NULL,
    observation_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    item_id TEXT,
    skill_ids TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    observed_at TEXT NOT NULL,
    source TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, observation_id)
);
CREATE INDEX observations_learner ON observations (tenant_id, learner_id, observed_at);
CREATE TABLE mastery (
    tenant_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    skill_id TEXT NOT NULL,
    p_mastered DOUBLE PRECISION NOT NULL,
    n_observations INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    last_observation_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, learner_id, skill_id)
);
CREATE TABLE mastery_history (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    skill_id TEXT NOT NULL,
    observation_id TEXT NOT NULL,
    p_before DOUBLE PRECISION NOT NULL,
    p_after DOUBLE PRECISION NOT NULL,
    p_correct DOUBLE PRECISION NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX mastery_history_learner ON mastery_history (tenant_id, learner_id, skill_id, id);
CREATE TABLE models (
    tenant_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    params TEXT NOT NULL,
    meta TEXT NOT NULL,
    PRIMARY KEY (tenant_id, version)
);
CREATE TABLE documents (
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    payload TEXT NOT NULL,
    learner_id TEXT,
    class_id TEXT,
    status TEXT,
    parent_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, doc_id)
);
CREATE INDEX documents_learner ON documents (tenant_id, kind, learner_id);
CREATE INDEX documents_class ON documents (tenant_id, kind, class_id);
CREATE INDEX documents_status ON documents (tenant_id, kind, status);
CREATE INDEX documents_parent ON documents (tenant_id, kind, parent_id);
CREATE INDEX documents_any_learner ON documents (tenant_id, learner_id);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    resource TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);
CREATE TABLE api_keys (
    key_hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    role TEXT NOT NULL,
    subject TEXT,
    label TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
