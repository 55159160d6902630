-- Least privilege (docs/adr/0015): the role that runs marquee-migrate owns the schema; each
-- service logs in as a role of its own that can do what the service does and nothing more.
--   marquee_api        reads what the snapshot loads (events, data_version); LISTEN needs nothing
--   marquee_worker     ingestion: DML on events, zones, event_history, ingestion_runs,
--                      data_version; reads providers (and inserts one for `marquee-worker ingest`);
--                      temporary staging tables; no DDL on the schema
--   marquee_scheduler  providers and schedule slots
-- Deployments create these as LOGIN roles with passwords before migrating (scripts/services.sh,
-- the compose init script, the Kubernetes runbook); a role that does not exist yet is created here
-- NOLOGIN (that needs CREATEROLE), so the grants below always apply. Every later migration that
-- adds a table grants on it in the same file.
DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['marquee_api', 'marquee_worker', 'marquee_scheduler'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
        END IF;
    END LOOP;
    -- Temporary tables only for the worker's staging; nobody else gets the default right.
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO marquee_worker', current_database());
END
$$;

-- Nobody but the owner creates objects (PostgreSQL 15 already says so for new databases).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO marquee_api, marquee_worker, marquee_scheduler;

GRANT SELECT ON events, data_version TO marquee_api;

GRANT SELECT, INSERT ON providers TO marquee_worker;
GRANT SELECT, INSERT, UPDATE ON events, ingestion_runs TO marquee_worker;
GRANT SELECT, INSERT, UPDATE, DELETE ON zones TO marquee_worker;
GRANT SELECT, INSERT ON event_history TO marquee_worker;
GRANT SELECT, UPDATE ON data_version TO marquee_worker;
GRANT USAGE ON SEQUENCE event_history_id_seq, ingestion_runs_id_seq TO marquee_worker;

GRANT SELECT, INSERT, UPDATE, DELETE ON providers, schedule_slots TO marquee_scheduler;
