#pragma once
// Finding the event behind a data error PostgreSQL reported, and leaving such events out of a
// staged batch when the feed is tried again (docs/adr/0011).
#include "marquee/feed/event_record.hpp"
#include "marquee/ids/event_id.hpp"
#include "marquee/ingest/staging.hpp"
#include "marquee/pg/ingestion_store.hpp"

#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace marquee::pg::detail {

/// The event of the row a failed COPY names ("COPY zones, line 3"): `rows` is the COPY text that
/// was sent, `columns` its column list, whose first "id" or "event" column holds the event.
std::optional<ids::uuid> event_on_copy_line(std::string_view message, std::string_view rows,
                                            std::span<const std::string_view> columns);

/// The event of the row a failed INSERT or UPDATE names ("Failing row contains (<uuid>, …)"):
/// the first UUID in it (the id of events, the event of zones and event_history).
std::optional<ids::uuid> event_in_failing_row(std::string_view message);

/// Turns every occurrence of an excluded event in `batch` into a rejected one: its event row
/// becomes a short 'r' row, its zone rows are dropped, and a rejection is appended to `rejected`
/// for each full row. Returns how many occurrences it rejected.
std::size_t exclude_events(ingest::staged_batch& batch, const exclusions& excluded,
                           std::vector<feed::rejection>& rejected);

}  // namespace marquee::pg::detail
