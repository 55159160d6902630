-- GET /events/{id} and /events/{id}/history (issue 11) read an event's zones and its history
-- straight from the database, on the API's reader connections: the API role may read them too.
GRANT SELECT ON zones, event_history TO marquee_api;
