-- SQLite: the per-learner tables that every ingest writes are clustered on their primary key
-- (WITHOUT ROWID), so a new row dirties one B-tree page instead of two (the row and its key
-- index). Fewer pages per commit is most of an ingest's cost (see docs/performance.md).
-- Observations stay a rowid table: their key (the sender's id, often a random UUID) would
-- scatter whole rows over the table, and a 500-observation batch then dirties more pages.
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
