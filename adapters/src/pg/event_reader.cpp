#include "marquee/pg/event_reader.hpp"

#include "marquee/log/log.hpp"
#include "marquee/pg/connection.hpp"

#include <pqxx/pqxx>

#include <algorithm>

namespace marquee::pg {
namespace {

// Wall-clock values are formatted by the server, instants go out as microseconds since the epoch
// (as the snapshot source reads them). An event never online is no event to the API: 404.
constexpr const char* select_event = R"sql(
SELECT provider, title,
       to_char(start_local, 'YYYY-MM-DD'), to_char(start_local, 'HH24:MI:SS'),
       to_char(end_local, 'YYYY-MM-DD'), to_char(end_local, 'HH24:MI:SS'),
       (extract(epoch FROM starts_at) * 1000000)::bigint, (extract(epoch FROM ends_at) * 1000000)::bigint,
       sell_mode,
       to_char(sell_from, 'YYYY-MM-DD"T"HH24:MI:SS'), to_char(sell_to, 'YYYY-MM-DD"T"HH24:MI:SS'),
       sold_out, organizer_company_id,
       (extract(epoch FROM first_seen_at) * 1000000)::bigint, (extract(epoch FROM last_seen_at) * 1000000)::bigint,
       min_price::text, max_price::text
FROM events WHERE id = $1 AND ever_online)sql";

constexpr const char* select_zones =
    "SELECT zone_id, name, capacity, price::text, numbered FROM zones WHERE event = $1 ORDER BY position";

constexpr const char* event_is_online = "SELECT 1 FROM events WHERE id = $1 AND ever_online";

// $1 the event, $2 whether the page starts after a position, $3 and $4 that position
// (observed_at in µs since the epoch, id), $5 rows at most. Newest first, along
// event_history_event_idx.
constexpr const char* select_history = R"sql(
SELECT id, (extract(epoch FROM observed_at) * 1000000)::bigint, sell_mode,
       to_char(start_local, 'YYYY-MM-DD'), to_char(start_local, 'HH24:MI:SS'),
       to_char(end_local, 'YYYY-MM-DD'), to_char(end_local, 'HH24:MI:SS'),
       min_price::text, max_price::text
FROM event_history
WHERE event = $1
  AND (NOT $2::boolean OR (observed_at, id) < (timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::bigint))
ORDER BY observed_at DESC, id DESC
LIMIT $5::bigint)sql";

using read_tx = pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>;

std::string text_of(const pqxx::field& f) {
    return {f.c_str(), f.size()};
}

std::optional<std::string> optional_text_of(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return text_of(f);
}

template <typename T>
std::optional<T> optional_of(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<T>();
}

time::instant instant_of(const pqxx::field& f) {
    return time::instant{std::chrono::microseconds{f.as<std::int64_t>()}};
}

events::lookup_result read_detail(read_tx& tx, const std::string& id) {
    events::lookup_result result;
    auto rows = tx.exec_params(select_event, id);
    if (rows.empty()) return result;
    const auto& row = rows[0];
    auto& e = result.detail;
    e.id = id;
    e.provider = text_of(row[0]);
    e.title = text_of(row[1]);
    e.start_date = text_of(row[2]);
    e.start_time = text_of(row[3]);
    e.end_date = text_of(row[4]);
    e.end_time = text_of(row[5]);
    e.starts_at = instant_of(row[6]);
    e.ends_at = instant_of(row[7]);
    e.sell_mode = text_of(row[8]);
    e.sell_from = optional_text_of(row[9]);
    e.sell_to = optional_text_of(row[10]);
    e.sold_out = optional_of<bool>(row[11]);
    e.organizer_company_id = optional_text_of(row[12]);
    e.first_seen_at = instant_of(row[13]);
    e.last_seen_at = instant_of(row[14]);
    e.min_price = optional_text_of(row[15]);
    e.max_price = optional_text_of(row[16]);
    for (const auto& z : tx.exec_params(select_zones, id)) {
        events::zone zone;
        zone.zone_id = text_of(z[0]);
        zone.name = optional_text_of(z[1]);
        zone.capacity = optional_of<std::int64_t>(z[2]);
        zone.price = text_of(z[3]);
        zone.numbered = optional_of<bool>(z[4]);
        e.zones.push_back(std::move(zone));
    }
    result.found = true;
    return result;
}

events::lookup_result read_history(read_tx& tx, const events::lookup& job) {
    events::lookup_result result;
    if (tx.exec_params(event_is_online, job.id).empty()) return result;
    result.found = true;
    const auto& page = job.page;
    // One row past the page tells whether another follows.
    const std::int64_t most = page.limit ? static_cast<std::int64_t>(*page.limit) + 1 : INT64_MAX;
    const auto after = page.after.value_or(events::history_position{});
    auto rows = tx.exec_params(select_history, job.id, page.after.has_value(),
                               static_cast<std::int64_t>(after.observed_at.time_since_epoch().count()), after.id, most);
    for (const auto& row : rows) {
        if (page.limit && result.history.size() == *page.limit) {
            result.more = true;
            break;
        }
        events::history_entry h;
        h.id = row[0].as<std::int64_t>();
        h.observed_at = instant_of(row[1]);
        h.sell_mode = text_of(row[2]);
        h.start_date = text_of(row[3]);
        h.start_time = text_of(row[4]);
        h.end_date = text_of(row[5]);
        h.end_time = text_of(row[6]);
        h.min_price = optional_text_of(row[7]);
        h.max_price = optional_text_of(row[8]);
        result.history.push_back(std::move(h));
    }
    return result;
}

}  // namespace

event_reader::event_reader(event_reader_options options) : options_(std::move(options)) {}

event_reader::~event_reader() {
    stop();
}

void event_reader::start() {
    std::lock_guard lock(mutex_);
    if (!threads_.empty() || stopping_) return;
    for (unsigned i = 0; i < std::max(1U, options_.readers); ++i) threads_.emplace_back([this, i] { run(i); });
}

void event_reader::stop() noexcept {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        queue_.clear();
    }
    ready_.notify_all();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
}

bool event_reader::submit(events::lookup what, clock::time_point deadline, completion done) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= options_.queue_capacity) return false;
        queue_.push_back(job{std::move(what), deadline, std::move(done)});
    }
    ready_.notify_one();
    return true;
}

std::size_t event_reader::queued() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

std::optional<event_reader::job> event_reader::next() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return std::nullopt;
    auto j = std::move(queue_.front());
    queue_.pop_front();
    return j;
}

void event_reader::run(unsigned index) noexcept {
    std::unique_ptr<pqxx::connection> conn;
    auto backoff = std::chrono::milliseconds{100};
    auto retry_at = clock::time_point::min();
    bool failing = false;
    while (auto j = next()) {
        std::optional<events::lookup_result> result;
        auto now = clock::now();
        // A job whose requester gave up is not worth a statement; while the connection is down,
        // jobs fail at once until the backoff has passed, then one of them tries to reconnect.
        if (now < j->deadline && (conn || now >= retry_at)) {
            try {
                if (!conn)
                    conn = pg::connect(options_.database_url, {.application_name = "marquee-api-events",
                                                               .connect_timeout = options_.connect_timeout,
                                                               .statement_timeout = options_.statement_timeout,
                                                               .keepalive_idle = std::chrono::seconds{5},
                                                               .keepalive_interval = std::chrono::seconds{2},
                                                               .keepalive_count = 3,
                                                               .tcp_user_timeout = std::chrono::milliseconds{10000}});
                read_tx tx(*conn);
                result = j->what.what == events::lookup::kind::detail ? read_detail(tx, j->what.id)
                                                                      : read_history(tx, j->what);
                tx.commit();
                backoff = std::chrono::milliseconds{100};
                if (failing) log::info("event reader {}: database reachable again", index);
                failing = false;
            } catch (const std::exception& e) {
                result.reset();
                if (!failing) log::warn("event reader {}: lookup failed, serving what is cached: {}", index, e.what());
                failing = true;
                if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr || !conn || !usable(*conn)) {
                    conn.reset();
                    retry_at = clock::now() + backoff;
                    backoff = std::min(backoff * 2, options_.max_backoff);
                }
            }
        }
        if (!result) failures_.fetch_add(1, std::memory_order_relaxed);
        j->done(std::move(result));
    }
}

}  // namespace marquee::pg
