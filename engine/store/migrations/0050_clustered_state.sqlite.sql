-- SQLite: the per-learner tables that every ingest writes are clustered on their primary key
-- (WITHOUT ROWID), so a write dirties one B-tree page per table instead of two (the row and its
-- key index). Fewer pages per commit is most of an ingest's cost (see docs/performance.md).
CREATE TABLE mastery_new (
    tenant_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    skill_id TEXT NOT NULL,
    p_mastered DOUBLE PRECISION NOT NULL,
    n_observations INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    last_observation_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, learner_id, skill_id)
) WITHOUT ROWID;
INSERT INTO mastery_new SELECT tenant_id, learner_id, skill_id, p_mastered, n_observations,
    updated_at, last_observation_id FROM mastery;
DROP TABLE mastery;
ALTER TABLE mastery_new RENAME TO mastery;
CREATE TABLE learner_states_new (
    tenant_id TEXT NOT NULL,
    learner_id TEXT NOT NULL,
    model_version INTEGER NOT NULL,
    model_key TEXT NOT NULL,
    state TEXT NOT NULL,
    n_observations INTEGER NOT NULL,
    last_observed_at TEXT NOT NULL,
    last_seq BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, learner_id)
) WITHOUT ROWID;
INSERT INTO learner_states_new SELECT tenant_id, learner_id, model_version, model_key, state,
    n_observations, last_observed_at, last_seq FROM learner_states;
DROP TABLE learner_states;
ALTER TABLE learner_states_new RENAME TO learner_states;
CREATE TABLE observations_new (
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
    seq BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, observation_id)
) WITHOUT ROWID;
INSERT INTO observations_new SELECT tenant_id, observation_id, learner_id, activity_id, item_id,
    skill_ids, score, observed_at, source, ingested_at, seq FROM observations;
DROP TABLE observations;
ALTER TABLE observations_new RENAME TO observations;
CREATE INDEX observations_learner ON observations (tenant_id, learner_id, observed_at, seq);
