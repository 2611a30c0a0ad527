-- PostgreSQL keeps its heap tables: clustering on the key is a SQLite page-count saving
-- (see 0050_clustered_state.sqlite.sql).
SELECT 1;
