-- The searchable events of the snapshot benchmark (run.sh), straight into the schema:
--   psql -v events=N -v first=YYYY-MM-DD -v days=D -f seed.sql
-- N events starting on a minute within D days from `first` (UTC), lasting 1 to 6 hours in quarter
-- hours; ~95% ever online (searchable); titles of 25-60 characters from word lists, about half with
-- a non-ASCII letter; 10% without prices. The id of event g is md5('snapshot-' || g)::uuid, which
-- change.py uses to pick events to change. setseed makes the data the same on every run.
\set ON_ERROR_STOP 1
SELECT setseed(0.20261126) \gset

INSERT INTO providers (name, url, time_zone) VALUES ('bench', 'http://127.0.0.1:1/feed', 'Europe/Madrid')
ON CONFLICT DO NOTHING;

INSERT INTO events (id, provider, base_event_id, event_id, title, sell_mode, start_local, end_local,
                    starts_at, ends_at, min_price, max_price, zone_count, ever_online, content_hash,
                    first_seen_at, last_seen_at, changed_at)
SELECT md5('snapshot-' || g)::uuid, 'bench', ((g + 3) / 4)::text, g::text,
       CASE WHEN length(title) < 30 THEN title || ' — edición ' || extract(year FROM s) ELSE title END,
       CASE WHEN online AND r_sell < 0.9 THEN 'online' ELSE 'offline' END,
       s AT TIME ZONE 'Europe/Madrid', (s + d) AT TIME ZONE 'Europe/Madrid', s, s + d,
       CASE WHEN priced THEN low END, CASE WHEN priced THEN low + round((r_spread * 120)::numeric, 2) END,
       CASE WHEN priced THEN 1 + floor(r_zones * 8)::int ELSE 0 END,
       online, g, now(), now(), now()
FROM (
    -- Every random() here, once per row: the outer query only combines them.
    SELECT g,
           timestamptz :'first' + make_interval(mins => floor(random() * :days * 1440)::int) AS s,
           make_interval(mins => 60 + 15 * floor(random() * 21)::int) AS d,
           random() < 0.95 AS online,
           random() AS r_sell,
           random() >= 0.1 AS priced,
           round((5 + random() * 75)::numeric, 2) AS low,
           random() AS r_spread,
           random() AS r_zones,
           left((ARRAY['Concierto de', 'Gira de', 'Noche de', 'Festival de', 'Tributo a', 'Sesión acústica de',
                       'Gran gala de', 'Recital de', 'Espectáculo de', 'Ciclo de jazz con', 'Matinal con',
                       'Velada de'])[1 + floor(random() * 12)::int]
                || ' ' ||
                (ARRAY['Los Planetas', 'Rosalía', 'Niño de Elche', 'Björk', 'Motörhead Tribute',
                       'Orquesta Sinfónica', 'Café Tacvba', 'Sigur Rós', 'The Smiths Revival', 'Bebe', 'Zaz',
                       'Dvořák Quartet', 'Coro Municipal', 'Kiko Veneno', 'Amaral', 'Vetusta Morla',
                       'Queen Symphonic', 'Jorge Drexler', 'Buena Vista Social Club', 'Ólafur Arnalds'])
                    [1 + floor(random() * 20)::int]
                || ' ' ||
                (ARRAY['en el Teatro Real', 'en La Riviera', 'en el Palau de la Música', 'en la Sala Apolo',
                       'en el WiZink Center', 'en el Auditorio de Zaragoza', 'en la Plaza de Toros de Málaga',
                       'en el Gran Teatre del Liceu', 'en Kraków Arena', 'en el Teatro Cervantes',
                       'en São Paulo', 'en el Círculo de Bellas Artes', 'en Bilbao', 'en Razzmatazz'])
                    [1 + floor(random() * 14)::int], 60) AS title
    FROM generate_series(1, :events) AS g
) AS drawn;

UPDATE data_version SET version = version + 1, changed_at = now();
