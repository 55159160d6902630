-- Change stamps for incremental snapshots (docs/adr/0017). Every writer of events bumps
-- data_version in the same transaction, before it writes the rows, and stamps every row it inserts
-- or changes with that new version. The version row stays locked until commit, so versions are
-- assigned in commit order: a reader that sees version V sees every row stamped V or lower, and a
-- reader holding version H finds everything changed since in `changed_version > H`.
-- Rows written before this migration carry 0: a full load reads them, no delta needs them.
ALTER TABLE events ADD COLUMN changed_version bigint NOT NULL DEFAULT 0;
CREATE INDEX events_changed_idx ON events (changed_version) WHERE ever_online;
