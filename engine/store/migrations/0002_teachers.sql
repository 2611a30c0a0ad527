-- Teachers of a tenant (engine.domain.classes.Teacher as JSON), portable SQL.
CREATE TABLE teachers (
    tenant_id TEXT NOT NULL,
    teacher_id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (tenant_id, teacher_id)
);
