#pragma once
// What the API asks the storage layer for an event route, and what comes back: the request is
// parsed and the answer rendered in the core, the rows are read in pg::event_reader.
#include "marquee/events/event_detail.hpp"
#include "marquee/events/history.hpp"

#include <string>
#include <vector>

namespace marquee::events {

struct lookup {
    enum class kind { detail, history };
    kind what = kind::detail;
    std::string id;      ///< canonical lower-case UUID
    history_query page;  ///< for history: which rows
};

struct lookup_result {
    /// False for an unknown event and for one never online: both are 404.
    bool found = false;
    event_detail detail;                 ///< for kind::detail
    std::vector<history_entry> history;  ///< for kind::history, newest first, page.limit at most
    bool more = false;                   ///< for a history page: older rows follow the last one
};

}  // namespace marquee::events
