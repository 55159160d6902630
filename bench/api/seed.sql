-- 100,000 events for the API benchmark, one starting every 5 minutes from 2021-01-01T00:00Z (about
-- 347 days), lasting 1 to 6 hours; 95% ever online, 10% without zones (the others have two), some
-- non-ASCII titles.
INSERT INTO providers (name, url, time_zone) VALUES ('bench', 'http://127.0.0.1:1/feed', 'Europe/Madrid')
ON CONFLICT DO NOTHING;

INSERT INTO events (id, provider, base_event_id, event_id, title, sell_mode, start_local, end_local,
                    starts_at, ends_at, min_price, max_price, zone_count, ever_online, content_hash,
                    first_seen_at, last_seen_at, changed_at)
SELECT md5('bench-' || g)::uuid, 'bench', g::text, g::text,
       'Bench event ' || g || CASE WHEN g % 7 = 0 THEN ' — café "live"' ELSE '' END,
       CASE WHEN g % 10 = 0 THEN 'offline' ELSE 'online' END,
       s AT TIME ZONE 'Europe/Madrid', (s + d) AT TIME ZONE 'Europe/Madrid', s, s + d,
       CASE WHEN g % 10 = 3 THEN NULL ELSE round((g % 50 + 5)::numeric, 2) END,
       CASE WHEN g % 10 = 3 THEN NULL ELSE round((g % 50 + 25)::numeric, 2) END,
       CASE WHEN g % 10 = 3 THEN 0 ELSE 2 END,
       g % 20 <> 0, g, now(), now(), now()
FROM generate_series(1, 100000) AS g,
     LATERAL (SELECT timestamptz '2021-01-01 00:00:00Z' + g * interval '5 minutes' AS s,
                     (1 + g % 6) * interval '1 hour' AS d) AS t;

-- The zones behind each priced event's min and max (GET /events/{id} serves them).
INSERT INTO zones (event, position, zone_id, name, capacity, price, numbered)
SELECT md5('bench-' || g)::uuid, z, g || '-' || z, CASE z WHEN 1 THEN 'Platea' ELSE 'Anfiteatro' END,
       100 * z, round((g % 50 + CASE z WHEN 1 THEN 5 ELSE 25 END)::numeric, 2), z = 1
FROM generate_series(1, 100000) AS g, generate_series(1, 2) AS z
WHERE g % 10 <> 3;

UPDATE data_version SET version = version + 1, changed_at = now();
