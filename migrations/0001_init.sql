-- Marquee's initial schema. Forward-only: later changes go in new files.

CREATE TABLE providers (
    name             text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    url              text NOT NULL CHECK (url ~ '^https?://'),
    schedule         text NOT NULL DEFAULT '* * * * *',
    time_zone        text NOT NULL DEFAULT 'UTC',
    enabled          boolean NOT NULL DEFAULT true,
    fetch_timeout_ms integer NOT NULL DEFAULT 120000 CHECK (fetch_timeout_ms > 0),
    max_feed_bytes   bigint NOT NULL DEFAULT 536870912 CHECK (max_feed_bytes > 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- One row per provider <event> (key: provider, base_event_id, event_id). Rows are never deleted:
-- an event once seen online stays searchable after it goes offline or leaves the feed.
CREATE TABLE events (
    id                   uuid PRIMARY KEY,          -- UUID v5 of the key, see docs/adr/0002
    provider             text NOT NULL REFERENCES providers (name),
    base_event_id        text NOT NULL,
    event_id             text NOT NULL,
    title                text NOT NULL,
    sell_mode            text NOT NULL CHECK (sell_mode IN ('online', 'offline')),
    organizer_company_id text,
    start_local          timestamp NOT NULL,        -- provider wall-clock time, as the feed says
    end_local            timestamp NOT NULL,
    starts_at            timestamptz NOT NULL,      -- start_local in the provider's time zone
    ends_at              timestamptz NOT NULL,
    sell_from            timestamp,
    sell_to              timestamp,
    sold_out             boolean,
    min_price            numeric,
    max_price            numeric,
    zone_count           integer NOT NULL,
    ever_online          boolean NOT NULL,
    content_hash         bigint NOT NULL,           -- of everything the feed said about the event
    first_seen_at        timestamptz NOT NULL,
    last_seen_at         timestamptz NOT NULL,
    changed_at           timestamptz NOT NULL
);
CREATE INDEX events_provider_idx ON events (provider);
CREATE INDEX events_search_idx ON events (starts_at, id) WHERE ever_online;

-- Every <zone> element of an event, in feed order; a zone_id may repeat within an event.
-- No foreign key to events: the ingestion merge is the only writer and writes the event first,
-- and a per-row RI check would cost more than the rest of a first load (docs/adr/0002).
CREATE TABLE zones (
    event    uuid NOT NULL,
    position integer NOT NULL,
    zone_id  text NOT NULL,
    name     text,
    capacity bigint,
    price    numeric NOT NULL,
    numbered boolean,
    PRIMARY KEY (event, position)
);

-- Appended whenever an event's sell mode, dates or price range change (and when it first appears).
CREATE TABLE event_history (
    id          bigserial PRIMARY KEY,
    event       uuid NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    observed_at timestamptz NOT NULL,
    sell_mode   text NOT NULL,
    start_local timestamp NOT NULL,
    end_local   timestamp NOT NULL,
    min_price   numeric,
    max_price   numeric
);
CREATE INDEX event_history_event_idx ON event_history (event, observed_at);

CREATE TABLE ingestion_runs (
    id              bigserial PRIMARY KEY,
    provider        text NOT NULL REFERENCES providers (name),
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    status          text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    events_seen     integer NOT NULL DEFAULT 0,
    events_changed  integer NOT NULL DEFAULT 0,
    events_rejected integer NOT NULL DEFAULT 0,
    error           text,
    job_id          text,
    scheduled_for   timestamptz
);
CREATE INDEX ingestion_runs_provider_idx ON ingestion_runs (provider, id DESC);

-- One row per (provider, cron slot) published; the primary key makes every slot published once
-- however many schedulers run.
CREATE TABLE schedule_slots (
    provider     text NOT NULL REFERENCES providers (name) ON DELETE CASCADE,
    slot         timestamptz NOT NULL,
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    PRIMARY KEY (provider, slot)
);

-- The version of the searchable data; bumped by every ingestion that changes it. Readers (the API)
-- compare it with what they hold and are told of new versions by NOTIFY marquee_data_version.
CREATE TABLE data_version (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version    bigint NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO data_version (version) VALUES (1);
