-- The work one feed may ask of a worker, per provider (feed::limits; docs/adr/0011). An event over
-- a cap is rejected alone; rejections past max_rejections_kept are counted, not kept or logged.
ALTER TABLE providers
    ADD COLUMN max_zones_per_event       integer NOT NULL DEFAULT 10000 CHECK (max_zones_per_event > 0),
    ADD COLUMN max_events_per_base_event integer NOT NULL DEFAULT 10000 CHECK (max_events_per_base_event > 0),
    ADD COLUMN max_attribute_bytes       integer NOT NULL DEFAULT 4096 CHECK (max_attribute_bytes >= 255),
    ADD COLUMN max_rejections_kept       integer NOT NULL DEFAULT 100 CHECK (max_rejections_kept >= 0);
