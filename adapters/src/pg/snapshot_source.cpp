#include "marquee/pg/snapshot_source.hpp"

#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "marquee/pg/connection.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <optional>
#include <system_error>
#include <vector>

namespace marquee::pg {
namespace {

constexpr const char* notify_channel = "marquee_data_version";

constexpr const char* select_data_version = "SELECT version FROM data_version";

// Times go out as microseconds since the epoch (extract() is exact numeric on PostgreSQL 14+),
// wall-clock values are formatted by the server so no fractional seconds can sneak in.
constexpr std::string_view searchable_event_columns = R"sql(
id::text, title,
to_char(start_local, 'YYYY-MM-DD'), to_char(start_local, 'HH24:MI:SS'),
to_char(end_local, 'YYYY-MM-DD'), to_char(end_local, 'HH24:MI:SS'),
min_price::text, max_price::text,
(extract(epoch FROM starts_at) * 1000000)::bigint,
(extract(epoch FROM ends_at) * 1000000)::bigint,
provider)sql";

// The full load reads in the snapshot's own order, which the search index (starts_at, id) WHERE
// ever_online gives without sorting: a cursor over it streams from the first FETCH on.
std::string declare_all_events() {
    return fmt::format(
        "DECLARE snapshot_events NO SCROLL CURSOR FOR SELECT {} FROM events WHERE ever_online ORDER BY starts_at, id",
        searchable_event_columns);
}

// $1 the version held, $2 how many to count at most.
constexpr const char* count_changed_events =
    "SELECT count(*) FROM (SELECT 1 FROM events WHERE ever_online AND changed_version > $1 LIMIT $2) AS changed";

// $1 the version held.
std::string select_changed_events() {
    return fmt::format("SELECT {} FROM events WHERE ever_online AND changed_version > $1", searchable_event_columns);
}

// SQLSTATE of a statement cancelled, by statement_timeout here.
constexpr std::string_view query_canceled = "57014";

// The API notices a dead database faster than the batch processes do: its keepalives probe after
// 5 s idle, and a statement whose data goes unacknowledged for 10 s drops the connection, so
// /readyz and the database_up gauge turn within seconds while the last snapshot keeps serving.
std::unique_ptr<pqxx::connection> connect(const std::string& url, const snapshot_source_options& options) {
    return pg::connect(url, {.application_name = "marquee-api",
                             .connect_timeout = options.connect_timeout,
                             .statement_timeout = options.statement_timeout,
                             .keepalive_idle = std::chrono::seconds{5},
                             .keepalive_interval = std::chrono::seconds{2},
                             .keepalive_count = 3,
                             .tcp_user_timeout = std::chrono::milliseconds{10000}});
}

std::int64_t read_version(pqxx::transaction_base& tx) {
    auto r = tx.exec(select_data_version);
    if (r.size() != 1) throw storage_error("data_version does not hold exactly one row");
    return r[0][0].as<std::int64_t>();
}

std::string text_of(const pqxx::field& f) {
    return std::string(f.c_str(), f.size());
}

std::optional<std::string> optional_text_of(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return text_of(f);
}

search::event event_of(const pqxx::row& row) {
    search::event e;
    e.id = text_of(row[0]);
    e.title = text_of(row[1]);
    e.start_date = text_of(row[2]);
    e.start_time = text_of(row[3]);
    e.end_date = text_of(row[4]);
    e.end_time = text_of(row[5]);
    e.min_price = optional_text_of(row[6]);
    e.max_price = optional_text_of(row[7]);
    e.starts_at = time::instant{std::chrono::microseconds{row[8].as<std::int64_t>()}};
    e.ends_at = time::instant{std::chrono::microseconds{row[9].as<std::int64_t>()}};
    e.provider = text_of(row[10]);
    return e;
}

std::int64_t milliseconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

// Why a refresh failed, in words an operator can act on: only a lost connection means the
// database is unreachable.
std::string describe_failure(const std::exception& e, const snapshot_source_options& options) {
    if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e); sql && sql->sqlstate() == query_canceled)
        return fmt::format("a statement ran past the statement timeout ({} ms; API_STATEMENT_TIMEOUT): {}",
                           options.statement_timeout.count(), e.what());
    return e.what();
}

}  // namespace

class snapshot_source::version_receiver final : public pqxx::notification_receiver {
public:
    version_receiver(pqxx::connection& conn, std::int64_t& notified)
        : pqxx::notification_receiver(conn, notify_channel), notified_(notified) {}
    void operator()(const std::string& payload, int) override {
        log::debug("notification on {}: version {}", notify_channel, payload);
        std::int64_t version = 0;
        auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), version);
        if (ec == std::errc{} && end == payload.data() + payload.size()) notified_ = std::max(notified_, version);
    }

private:
    std::int64_t& notified_;
};

snapshot_source::snapshot_source(snapshot_source_options options) : options_(std::move(options)) {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    wake_read_fd_ = fds[0];
    wake_write_fd_ = fds[1];
}

snapshot_source::~snapshot_source() {
    stop();
    ::close(wake_read_fd_);
    ::close(wake_write_fd_);
}

void snapshot_source::start() {
    thread_ = std::thread([this] { run(); });
}

void snapshot_source::stop() noexcept {
    stopping_.store(true);
    char byte = 1;
    [[maybe_unused]] auto written = ::write(wake_write_fd_, &byte, 1);
    if (thread_.joinable()) thread_.join();
}

std::chrono::system_clock::time_point snapshot_source::verified_at() const noexcept {
    return std::chrono::system_clock::time_point{std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::nanoseconds{verified_at_ns_.load(std::memory_order_relaxed)})};
}

bool snapshot_source::wait(int listen_fd, std::chrono::milliseconds timeout) noexcept {
    pollfd fds[2] = {{wake_read_fd_, POLLIN, 0}, {listen_fd, POLLIN, 0}};
    int n = ::poll(fds, listen_fd >= 0 ? 2 : 1, static_cast<int>(timeout.count()));
    return n > 0 && listen_fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

void snapshot_source::publish() {
    current_.store(updater_.current());
    generation_.fetch_add(1, std::memory_order_release);
}

void snapshot_source::full_load(pqxx::transaction_base& tx, std::int64_t version) {
    auto started = std::chrono::steady_clock::now();
    auto last_report = started;
    // The index gives the order; a sort would run whole inside the first FETCH, which at millions
    // of rows can outlast the statement timeout. (SET LOCAL ends with this transaction.)
    tx.exec0("SET LOCAL enable_sort = off");
    tx.exec0(declare_all_events());
    const auto fetch = fmt::format("FETCH FORWARD {} FROM snapshot_events", options_.full_load_chunk);
    auto load = updater_.begin_full_load(version);
    for (;;) {
        auto rows = tx.exec(fetch);
        if (rows.empty()) break;
        for (const auto& row : rows) load.add(event_of(row));
        if (std::chrono::steady_clock::now() - last_report >= std::chrono::seconds{5}) {
            last_report = std::chrono::steady_clock::now();
            log::info("loading data version {}: {} events so far, {} s", version, load.size(),
                      milliseconds_since(started) / 1000);
        }
    }
    tx.commit();
    updater_.finish(std::move(load));
    publish();
    loads_.fetch_add(1, std::memory_order_relaxed);
    const auto& s = *updater_.current();
    log::info("loaded data version {}: {} events, {} bytes of JSON in {} ms", version, s.size(), s.rendered_bytes(),
              milliseconds_since(started));
}

void snapshot_source::refresh(pqxx::connection& conn) {
    const auto held = updater_.current();
    std::optional<pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>> tx;
    tx.emplace(conn);
    auto version = read_version(*tx);
    if (held && version == held->data_version()) {
        tx->commit();
        return;
    }
    if (held && version > held->data_version()) {
        // Past this many changes one pass over everything is cheaper than copying most blocks.
        const auto most = std::max<std::size_t>(10000, held->size() / 8);
        auto pending = tx->exec_params1(count_changed_events, held->data_version(), static_cast<long long>(most + 1))[0]
                           .as<std::size_t>();
        if (pending <= most) {
            auto started = std::chrono::steady_clock::now();
            auto rows = tx->exec_params(select_changed_events(), held->data_version());
            tx->commit();
            std::vector<search::event> changed;
            changed.reserve(rows.size());
            for (const auto& row : rows) changed.push_back(event_of(row));
            try {
                updater_.apply(version, std::move(changed));
                publish();
                deltas_.fetch_add(1, std::memory_order_relaxed);
                log::debug("applied data version {}: {} changed events in {} ms", version, rows.size(),
                           milliseconds_since(started));
                return;
            } catch (const std::invalid_argument& e) {
                log::warn("the changes up to data version {} do not fit the snapshot ({}); loading in full", version,
                          e.what());
            }
            tx.emplace(conn);
            version = read_version(*tx);
        } else {
            log::info("over {} events changed since data version {}: loading version {} in full", most,
                      held->data_version(), version);
        }
    } else if (held) {
        log::warn("the data version went back from {} to {} (a restored database?): loading in full",
                  held->data_version(), version);
    }
    full_load(*tx, version);
}

void snapshot_source::run() noexcept {
    std::unique_ptr<pqxx::connection> query_conn;
    std::unique_ptr<pqxx::connection> listen_conn;
    std::unique_ptr<version_receiver> receiver;
    bool standby = false;
    auto backoff = std::chrono::milliseconds{100};
    auto mark_verified = [this] {
        verified_at_ns_.store(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count(),
            std::memory_order_relaxed);
    };

    while (!stopping_.load()) {
        try {
            if (!query_conn) {
                query_conn = connect(options_.database_url, options_);
                pqxx::nontransaction tx(*query_conn);
                standby = tx.exec1("SELECT pg_is_in_recovery()")[0].as<bool>();
            }
            if (!listen_conn && (!options_.notify_url.empty() || !standby)) {
                listen_conn =
                    connect(options_.notify_url.empty() ? options_.database_url : options_.notify_url, options_);
                // LISTEN before reading the version, so no change between the two goes unnoticed.
                receiver = std::make_unique<version_receiver>(*listen_conn, notified_version_);
            }

            refresh(*query_conn);
            mark_verified();
            if (!reachable_.exchange(true)) log::info("database reachable");
            backoff = std::chrono::milliseconds{100};

            // A replica that has not replayed a notified version yet is asked again shortly.
            auto timeout = options_.refresh_interval;
            if (notified_version_ > updater_.current()->data_version())
                timeout = std::min(timeout, std::chrono::milliseconds{10});
            int listen_fd = listen_conn ? listen_conn->sock() : -1;
            if (wait(listen_fd, timeout)) listen_conn->get_notifs();
        } catch (const std::exception& e) {
            failures_.fetch_add(1, std::memory_order_relaxed);
            bool connection_lost = dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
                                   (query_conn && !usable(*query_conn)) || (listen_conn && !usable(*listen_conn));
            if (connection_lost) {
                if (reachable_.exchange(false) || failures_.load() == 1)
                    log::warn("database unreachable, serving the last snapshot: {}", e.what());
            } else {
                log::warn("could not refresh the snapshot, serving the last one: {}", describe_failure(e, options_));
            }
            receiver.reset();
            listen_conn.reset();
            query_conn.reset();
            wait(-1, backoff);
            backoff = std::min(backoff * 2, options_.max_backoff);
        }
    }
}

}  // namespace marquee::pg
