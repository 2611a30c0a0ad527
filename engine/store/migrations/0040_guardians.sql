-- Guardians of a tenant (engine.domain.classes.Guardian as JSON: id, name, learner_ids),
-- loaded into SchoolView.guardians; filled by OneRoster imports and the roster API. Portable SQL.
CREATE TABLE guardians (
    tenant_id TEXT NOT NULL,
    guardian_id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant_id, guardian_id)
);
