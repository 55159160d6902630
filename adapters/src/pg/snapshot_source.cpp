#include "marquee/pg/snapshot_source.hpp"

#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "marquee/pg/connection.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <cerrno>
#include <system_error>
#include <vector>

namespace marquee::pg {
namespace {

constexpr const char* notify_channel = "marquee_data_version";

constexpr const char* select_data_version = "SELECT version FROM data_version";

// Times go out as microseconds since the epoch (extract() is exact numeric on PostgreSQL 14+),
// wall-clock values are formatted by the server so no fractional seconds can sneak in.
constexpr const char* select_searchable_events = R"sql(
SELECT id::text, title,
       to_char(start_local, 'YYYY-MM-DD'), to_char(start_local, 'HH24:MI:SS'),
       to_char(end_local, 'YYYY-MM-DD'), to_char(end_local, 'HH24:MI:SS'),
       min_price::text, max_price::text,
       (extract(epoch FROM starts_at) * 1000000)::bigint,
       (extract(epoch FROM ends_at) * 1000000)::bigint
FROM events
WHERE ever_online
)sql";

class version_receiver final : public pqxx::notification_receiver {
public:
    using pqxx::notification_receiver::notification_receiver;
    void operator()(const std::string& payload, int) override {
        log::debug("notification on {}: version {}", notify_channel, payload);
    }
};

// The API notices a dead database faster than the batch processes do: its keepalives probe after
// 5 s idle, and a statement whose data goes unacknowledged for 10 s drops the connection, so
// /readyz and the database_up gauge turn within seconds while the last snapshot keeps serving.
std::unique_ptr<pqxx::connection> connect(const snapshot_source_options& options) {
    return pg::connect(options.database_url, {.application_name = "marquee-api",
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

std::shared_ptr<const search::snapshot> load(pqxx::connection& conn) {
    pqxx::transaction<pqxx::repeatable_read, pqxx::read_only> tx(conn);
    auto version = read_version(tx);
    auto rows = tx.exec(select_searchable_events);
    tx.commit();
    std::vector<search::event> events;
    events.reserve(rows.size());
    for (const auto& row : rows) {
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
        events.push_back(std::move(e));
    }
    return std::make_shared<const search::snapshot>(version, std::move(events));
}

}  // namespace

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

void snapshot_source::run() noexcept {
    std::unique_ptr<pqxx::connection> query_conn;
    std::unique_ptr<pqxx::connection> listen_conn;
    std::unique_ptr<version_receiver> receiver;
    auto backoff = std::chrono::milliseconds{100};
    auto mark_verified = [this] {
        verified_at_ns_.store(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count(),
            std::memory_order_relaxed);
    };

    while (!stopping_.load()) {
        try {
            if (!listen_conn) {
                listen_conn = connect(options_);
                // LISTEN before reading the version, so no change between the two goes unnoticed.
                receiver = std::make_unique<version_receiver>(*listen_conn, notify_channel);
            }
            if (!query_conn) query_conn = connect(options_);

            auto held = current_.load();
            std::int64_t db_version = 0;
            {
                pqxx::read_transaction tx(*query_conn);
                db_version = read_version(tx);
                tx.commit();
            }
            if (!held || held->data_version() != db_version) {
                auto started = std::chrono::steady_clock::now();
                auto fresh = load(*query_conn);
                auto took =
                    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
                log::info("loaded data version {}: {} events, {} bytes of JSON in {} ms", fresh->data_version(),
                          fresh->size(), fresh->rendered_bytes(), took.count());
                current_.store(std::move(fresh));
                generation_.fetch_add(1, std::memory_order_release);
                loads_.fetch_add(1, std::memory_order_relaxed);
            }
            mark_verified();
            if (!reachable_.exchange(true)) log::info("database reachable");
            backoff = std::chrono::milliseconds{100};

            if (wait(listen_conn->sock(), options_.refresh_interval)) listen_conn->get_notifs();
        } catch (const std::exception& e) {
            failures_.fetch_add(1, std::memory_order_relaxed);
            if (reachable_.exchange(false) || failures_.load() == 1)
                log::warn("database unreachable, serving the last snapshot: {}", e.what());
            receiver.reset();
            listen_conn.reset();
            query_conn.reset();
            wait(-1, backoff);
            backoff = std::min(backoff * 2, options_.max_backoff);
        }
    }
}

}  // namespace marquee::pg
