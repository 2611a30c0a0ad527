-- Fitted kt model documents, the active model version per tenant, each learner's model state,
-- and the arrival sequence of observations (a learner's state is a fold over their evidence
-- ordered by (observed_at, seq)). Portable SQL.
ALTER TABLE models ADD COLUMN model_name TEXT NOT NULL DEFAULT 'bkt';
ALTER TABLE models ADD COLUMN document TEXT;
CREATE TABLE active_models (
    tenant_id TEXT NOT NULL PRIMARY KEY,
    version INTEGER NOT NULL,
    activated_at TEXT NOT NULL
);
INSERT INTO active_models (tenant_id, version, activated_at)
SELECT tenant_id, MAX(version), MAX(created_at) FROM models GROUP BY tenant_id;
-- Arrival order of stored evidence: the order its first history row was written in.
ALTER TABLE observations ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE observations SET seq = COALESCE((
    SELECT MIN(h.id) FROM mastery_history h
    WHERE h.tenant_id = observations.tenant_id AND h.learner_id = observations.learner_id
    AND h.observation_id = observations.observation_id
), 0);
DROP INDEX observations_learner;
CREATE INDEX observations_learner ON observations (tenant_id, learner_id, observed_at, seq);
-- model_key names the runtime model the state belongs to; a learner whose key differs from the
-- active one is refolded from their evidence on their next ingest.
CREATE TABLE learner_states (
    tenant_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    model_version INTEGER NOT NULL,
    model_key TEXT NOT NULL,
    state TEXT NOT NULL,
    n_observations INTEGER NOT NULL,
    last_observed_at TEXT NOT NULL,
    last_seq BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, learner_id)
);
