// marquee-api under connection abuse, over raw sockets: connections that never send a request,
// the connection cap filled with idle keep-alive connections, a low open-file limit, answers made
// of thousands of snapshot ranges, and thousands of idle and slow connections while a client
// searches. Correctness only (who is closed, who is answered, and with which bytes): the latency
// targets belong to bench/api/connection_abuse.sh.
#include "harness/harness.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fstream>
#include <thread>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

// A connected loopback socket, closed on destruction; ok() is false when connecting failed.
class raw_socket {
public:
    // `receive_buffer`: SO_RCVBUF before connecting (0 keeps the default); a small one makes the
    // server meet a full socket and write in parts.
    explicit raw_socket(std::uint16_t port, std::chrono::milliseconds timeout = 30s, int receive_buffer = 0) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) return;
        timeval tv{static_cast<time_t>(timeout.count() / 1000),
                   static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (receive_buffer != 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }
    ~raw_socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    raw_socket(const raw_socket&) = delete;
    raw_socket& operator=(const raw_socket&) = delete;

    bool ok() const noexcept { return fd_ >= 0; }

    // False when the peer closed or reset the connection first.
    bool send(std::string_view bytes) {
        while (!bytes.empty()) {
            auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // One response: its status and body (by Content-Length); status 0 when the connection ended
    // or timed out first. Bytes after it stay buffered for the next call.
    struct response {
        unsigned status = 0;
        std::string body;
    };
    response read_response() {
        response r;
        std::size_t head_end;
        while ((head_end = pending_.find("\r\n\r\n")) == std::string::npos)
            if (!receive_more()) return r;
        auto head = pending_.substr(0, head_end + 4);
        auto length_at = head.find("\r\nContent-Length: ");
        std::size_t length = length_at == std::string::npos ? 0 : std::stoul(head.substr(length_at + 18));
        while (pending_.size() < head_end + 4 + length)
            if (!receive_more()) return r;
        r.status = static_cast<unsigned>(std::stoi(head.substr(9, 3)));
        r.body = pending_.substr(head_end + 4, length);
        pending_.erase(0, head_end + 4 + length);
        return r;
    }

    response get(const std::string& target, bool close = false) {
        if (!send("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n"))
            return {};
        return read_response();
    }

    // True when the server closed the connection (EOF or reset) within the receive timeout.
    bool closed_by_peer() {
        char byte;
        auto n = ::recv(fd_, &byte, 1, 0);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }
    // True when the peer has closed (or reset) the connection, without waiting.
    bool closed_now() {
        char byte;
        auto n = ::recv(fd_, &byte, 1, MSG_DONTWAIT);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }
    // True when the connection is open and nothing is waiting to be read, without waiting.
    bool open_and_quiet() {
        char byte;
        auto n = ::recv(fd_, &byte, 1, MSG_DONTWAIT);
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }

private:
    bool receive_more() {
        char buffer[65536];
        auto n = ::recv(fd_, buffer, sizeof buffer, 0);
        if (n <= 0) return false;
        pending_.append(buffer, static_cast<std::size_t>(n));
        return true;
    }

    int fd_ = -1;
    std::string pending_;
};

// Raises this process's soft open-file limit to its hard limit (thousands of sockets are opened
// here); returns the limit now in force.
rlim_t raise_own_descriptor_limit() {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
        ::getrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur;
}

// The value of metric line `name` (with its labels, if any) in a /metrics body; -1 when absent.
double metric(const std::string& body, const std::string& name) {
    auto at = body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(body.substr(at + name.size() + 2));
}

// A few events in 2021 (provider time zone UTC, so local = UTC) and their exact answer.
constexpr const char* small_seed = R"sql(
INSERT INTO providers (name, url, time_zone) VALUES ('p', 'http://127.0.0.1:1/feed', 'UTC');
INSERT INTO events (id, provider, base_event_id, event_id, title, sell_mode, start_local, end_local,
                    starts_at, ends_at, min_price, max_price, zone_count, ever_online, content_hash,
                    first_seen_at, last_seen_at, changed_at)
SELECT ('00000000-0000-5000-8000-' || lpad(g::text, 12, '0'))::uuid, 'p', g::text, g::text, 'Event ' || g,
       'online', timestamp '2021-06-01 00:00' + g * interval '1 hour',
       timestamp '2021-06-01 00:30' + g * interval '1 hour',
       timestamptz '2021-06-01 00:00Z' + g * interval '1 hour',
       timestamptz '2021-06-01 00:30Z' + g * interval '1 hour',
       (g + 5)::numeric(10, 2), (g + 25)::numeric(10, 2), 2, true, g, now(), now(), now()
FROM generate_series(1, 3) AS g;
UPDATE data_version SET version = version + 1, changed_at = now();
)sql";

const std::string small_query = "/search?starts_at=2021-06-01T00:00:00Z&ends_at=2021-06-30T00:00:00Z";

std::string small_event(int g) {
    return fmt::format(
        R"({{"id":"00000000-0000-5000-8000-{:012}","title":"Event {}","start_date":"2021-06-01",)"
        R"("start_time":"{:02}:00:00","end_date":"2021-06-01","end_time":"{:02}:30:00","min_price":{}.00,)"
        R"("max_price":{}.00}})",
        g, g, g, g, g + 5, g + 25);
}

std::string events_body(const std::vector<std::string>& events) {
    std::string body = R"({"data":{"events":[)";
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (i != 0) body += ',';
        body += events[i];
    }
    return body + R"(]},"error":null})";
}

const std::string small_answer = events_body({small_event(1), small_event(2), small_event(3)});

class api_connections : public ::testing::Test {
protected:
    // Starts marquee-api with `flags` after the database URL and listen address; `open_files`,
    // when set, is "soft:hard" for the open-file limit it starts under.
    void start(std::vector<std::string> flags, const std::string& open_files = {}) {
        port_ = mt::free_port();
        std::vector<std::string> args{"--database-url", db_.url(), "--api-listen",
                                      "127.0.0.1:" + std::to_string(port_)};
        args.insert(args.end(), flags.begin(), flags.end());
        if (open_files.empty()) {
            api_ = std::make_unique<mt::process>("marquee-api", args);
        } else {
            // bash lowers the limits, then becomes marquee-api (same pid, so the harness stops it).
            auto soft = open_files.substr(0, open_files.find(':'));
            auto hard = open_files.substr(open_files.find(':') + 1);
            std::vector<std::string> shell{"-c",
                                           "ulimit -Sn " + soft + " && ulimit -Hn " + hard + " && exec \"$0\" \"$@\"",
                                           (mt::bin_dir() / "marquee-api").string()};
            shell.insert(shell.end(), args.begin(), args.end());
            api_ = std::make_unique<mt::process>("/bin/bash", shell);
        }
        ASSERT_TRUE(mt::wait_until([&] { return get("/readyz").status == 200; }, 60s, "marquee-api is ready"));
    }

    mt::http_response get(const std::string& target) { return mt::http_get("127.0.0.1", port_, target, {}, 30s); }

    // The server's own count of open connections, read over `via` (so that reading it opens none).
    double open_connections(raw_socket& via) {
        return metric(via.get("/metrics").body, "marquee_api_connections_open");
    }

    mt::database db_ = mt::fresh_database();
    std::uint16_t port_ = 0;
    std::unique_ptr<mt::process> api_;
};

}  // namespace

TEST_F(api_connections, silent_connection_is_closed_after_the_read_timeout_not_the_idle_timeout) {
    // An idle timeout of 10 minutes, far beyond the test's 2-minute receive timeout below: only
    // the read timeout can close the silent connection in time.
    ASSERT_NO_FATAL_FAILURE(start({"--read-timeout", "1", "--idle-timeout", "600"}));
    raw_socket kept(port_);
    ASSERT_TRUE(kept.ok());
    ASSERT_EQ(kept.get("/healthz").status, 200U);

    raw_socket silent(port_, 120s);
    ASSERT_TRUE(silent.ok());
    EXPECT_TRUE(silent.closed_by_peer());

    // `kept` has waited since before `silent` connected, so longer than the read timeout; between
    // requests only the idle timeout applies, so it is still open and answers.
    EXPECT_TRUE(kept.open_and_quiet());
    EXPECT_EQ(kept.get("/healthz").status, 200U);
}

TEST_F(api_connections, at_the_cap_the_oldest_idle_keep_alive_connection_makes_room) {
    mt::execute(db_.url(), small_seed);
    constexpr int cap = 20;
    ASSERT_NO_FATAL_FAILURE(start({"--threads", "2", "--max-connections", std::to_string(cap), "--read-timeout", "600",
                                   "--idle-timeout", "600"}));
    // Filled with keep-alive connections, each idle after one answered request, oldest first; the
    // first waits until the readiness probes' connections have closed, so the cap is ours to fill.
    std::vector<std::unique_ptr<raw_socket>> idle;
    for (int i = 0; i < cap; ++i) {
        idle.push_back(std::make_unique<raw_socket>(port_));
        ASSERT_TRUE(idle.back()->ok());
        if (i == 0) {
            ASSERT_TRUE(mt::wait_until([&] { return open_connections(*idle.front()) == 1; }, 30s,
                                       "only the first connection is open"));
        }
        auto r = idle.back()->get(small_query);
        ASSERT_EQ(r.status, 200U) << "connection " << i;
        ASSERT_EQ(r.body, small_answer);
    }

    raw_socket newcomer(port_);
    ASSERT_TRUE(newcomer.ok());
    auto r = newcomer.get(small_query);
    EXPECT_EQ(r.status, 200U);
    EXPECT_EQ(r.body, small_answer);

    EXPECT_TRUE(idle.front()->closed_by_peer()) << "the oldest idle connection made room";
    for (int i = 1; i < cap; ++i) EXPECT_TRUE(idle[i]->open_and_quiet()) << "connection " << i;
    // Over a connection already open, so that asking evicts nobody else.
    EXPECT_TRUE(mt::wait_until([&] { return open_connections(*idle.back()) == cap; }, 30s,
                               "the evicted connection's session has ended"));
    auto metrics = idle.back()->get("/metrics").body;
    EXPECT_EQ(metric(metrics, "marquee_api_connections_evicted_total"), 1);
    EXPECT_EQ(metric(metrics, "marquee_api_connections_rejected_total"), 0);
}

TEST_F(api_connections, at_the_cap_with_no_idle_connection_a_new_one_is_refused) {
    constexpr int cap = 20;
    ASSERT_NO_FATAL_FAILURE(start({"--threads", "2", "--max-connections", std::to_string(cap), "--read-timeout", "600",
                                   "--idle-timeout", "600"}));
    // One keep-alive connection to ask over later, busy with a request's first bytes meanwhile, and
    // connections that have sent nothing: none of them is an idle keep-alive connection.
    raw_socket asker(port_);
    ASSERT_TRUE(asker.ok());
    ASSERT_TRUE(mt::wait_until([&] { return open_connections(asker) == 1; }, 30s,
                               "the readiness probes' connections have closed"));
    ASSERT_TRUE(asker.send("GET /metrics HTTP/1.1\r\n"));
    std::vector<std::unique_ptr<raw_socket>> silent;
    for (int i = 1; i < cap; ++i) {
        silent.push_back(std::make_unique<raw_socket>(port_));
        ASSERT_TRUE(silent.back()->ok());
    }
    // One more than the cap: whichever the server counts last (usually this one, but accepts race
    // the connects under load) is refused, and only that one.
    silent.push_back(std::make_unique<raw_socket>(port_));
    ASSERT_TRUE(silent.back()->ok());
    auto refused = [&] { return std::count_if(silent.begin(), silent.end(), [](auto& s) { return s->closed_now(); }); };
    ASSERT_TRUE(mt::wait_until([&] { return refused() >= 1; }, 30s, "the connection over the cap is refused"));

    ASSERT_TRUE(asker.send("Host: x\r\n\r\n"));
    auto metrics = asker.read_response().body;
    EXPECT_EQ(metric(metrics, "marquee_api_connections_rejected_total"), 1);
    EXPECT_EQ(metric(metrics, "marquee_api_connections_evicted_total"), 0);
    EXPECT_EQ(refused(), 1) << "exactly one connection was refused";
}

TEST_F(api_connections, low_open_file_limit_is_raised_and_the_cap_fitted_below_it) {
    mt::execute(db_.url(), small_seed);
    // Started under a soft limit of 256 (a hard one of 1024) with the default cap of 10,000:
    // without raising the limit, accept fails with EMFILE after some 250 connections.
    ASSERT_NO_FATAL_FAILURE(
        start({"--threads", "2", "--max-connections", "10000", "--refresh-interval", "0.2"}, "256:1024"));
    auto log = api_->log_text();
    EXPECT_NE(log.find("raised the open-file limit from 256 to 1024"), std::string::npos) << log;
    EXPECT_NE(log.find("API_MAX_CONNECTIONS 10000 clamped to 960"), std::string::npos) << log;
    EXPECT_EQ(metric(get("/metrics").body, "marquee_api_connections_max"), 960);

    // More keep-alive connections than the cap, every one answered: the ones over the cap make
    // room by closing the oldest idle ones.
    ASSERT_GE(raise_own_descriptor_limit(), 1200U);
    std::vector<std::unique_ptr<raw_socket>> held;
    for (int i = 0; i < 1000; ++i) {
        held.push_back(std::make_unique<raw_socket>(port_));
        ASSERT_TRUE(held.back()->ok());
        auto r = held.back()->get(small_query);
        ASSERT_EQ(r.status, 200U) << "connection " << i;
        ASSERT_EQ(r.body, small_answer);
    }

    // With all of them held, the snapshot source still gets a descriptor to reconnect with.
    const auto& admin = mt::services().database_url;
    mt::execute(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db_.name() +
                           "' AND pid <> pg_backend_pid()");
    mt::execute(db_.url(),
                "BEGIN; UPDATE data_version SET version = version + 1, changed_at = now();"
                "UPDATE events SET title = 'Renamed', changed_version = (SELECT version FROM data_version)"
                " WHERE event_id = '2'; COMMIT;");
    EXPECT_TRUE(mt::wait_until(
        [&] { return held.back()->get(small_query).body.find("\"title\":\"Renamed\"") != std::string::npos; }, 60s,
        "the API reconnected to PostgreSQL and serves the change"));
    EXPECT_GE(metric(held.back()->get("/metrics").body, "marquee_api_connections_evicted_total"), 1000 - 960);
}

namespace {

// 6,000 events a minute apart; the odd ones last 30 minutes, the even ones 10 days, so a query
// ending on 2030-01-06 matches every other event: 3,000 runs of the snapshot, over IOV_MAX (1024)
// and far over the 61 one gather write takes, each about 3.6 KB (11 MB in all, more than the
// socket buffer holds, so the server writes in parts).
constexpr const char* ranges_seed = R"sql(
INSERT INTO providers (name, url, time_zone) VALUES ('p', 'http://127.0.0.1:1/feed', 'UTC');
INSERT INTO events (id, provider, base_event_id, event_id, title, sell_mode, start_local, end_local,
                    starts_at, ends_at, min_price, max_price, zone_count, ever_online, content_hash,
                    first_seen_at, last_seen_at, changed_at)
SELECT ('00000000-0000-5000-8000-' || lpad(g::text, 12, '0'))::uuid, 'p', g::text, g::text,
       'Event ' || g || ' ' || repeat(chr(65 + g % 26), 3500), 'online',
       timestamp '2030-01-01 00:00' + g * interval '1 minute',
       timestamp '2030-01-01 00:00' + g * interval '1 minute' + d,
       timestamptz '2030-01-01 00:00Z' + g * interval '1 minute',
       timestamptz '2030-01-01 00:00Z' + g * interval '1 minute' + d,
       (g % 50 + 5)::numeric(10, 2), (g % 50 + 25)::numeric(10, 2), 2, true, g, now(), now(), now()
FROM generate_series(1, 6000) AS g,
     LATERAL (SELECT CASE WHEN g % 2 = 1 THEN interval '30 minutes' ELSE interval '10 days' END AS d) AS t;
UPDATE data_version SET version = version + 1, changed_at = now();
)sql";

constexpr int ranges_events = 6000;
const std::string ranges_query = "/search?starts_at=2030-01-01T00:00:00Z&ends_at=2030-01-06T00:00:00Z";

std::string local_date_time(int minutes, bool date) {
    // 2030-01-01 plus at most a few days: no month boundary.
    return date ? fmt::format("2030-01-{:02}", 1 + minutes / 1440)
                : fmt::format("{:02}:{:02}:00", minutes % 1440 / 60, minutes % 60);
}

// The reference answer, composed from the seed's rules rather than by the server.
std::string ranges_answer() {
    std::vector<std::string> events;
    for (int g = 1; g <= ranges_events; g += 2) {
        events.push_back(fmt::format(
            R"({{"id":"00000000-0000-5000-8000-{:012}","title":"Event {} {}","start_date":"{}","start_time":"{}",)"
            R"("end_date":"{}","end_time":"{}","min_price":{}.00,"max_price":{}.00}})",
            g, g, std::string(3500, static_cast<char>('A' + g % 26)), local_date_time(g, true),
            local_date_time(g, false), local_date_time(g + 30, true), local_date_time(g + 30, false), g % 50 + 5,
            g % 50 + 25));
    }
    return events_body(events);
}

}  // namespace

TEST_F(api_connections, answer_of_thousands_of_ranges_is_byte_identical_to_the_reference) {
    mt::execute(db_.url(), ranges_seed);
    ASSERT_NO_FATAL_FAILURE(start({"--threads", "2"}));
    auto expected = ranges_answer();
    ASSERT_GT(expected.size(), std::size_t{10} << 20);
    // A 4 KiB receive buffer: the server finds the socket full many times over.
    for (int i = 0; i < 3; ++i) {
        raw_socket client(port_, 60s, 4096);
        ASSERT_TRUE(client.ok());
        auto r = client.get(ranges_query);
        ASSERT_EQ(r.status, 200U) << "request " << i;
        ASSERT_EQ(r.body.size(), expected.size()) << "request " << i;
        EXPECT_TRUE(r.body == expected) << "request " << i << ": the bodies differ";
        // And the next request on the same connection is answered as well.
        EXPECT_EQ(client.get("/healthz").status, 200U);
    }
}

TEST_F(api_connections, answer_of_thousands_of_ranges_is_sent_from_the_snapshot_not_copied) {
    mt::execute(db_.url(), ranges_seed);
    ASSERT_NO_FATAL_FAILURE(start({"--threads", "2"}));
    // The response cache keeps a body only when what the body itself holds fits a quarter of its
    // 32 MiB: an 11 MB copy of the answer never does, a list of ranges into the snapshot does. So
    // the second of two identical requests is a cache hit exactly when the answer was not copied.
    raw_socket client(port_);
    ASSERT_TRUE(client.ok());
    auto hits = [&] { return metric(client.get("/metrics").body, "marquee_api_response_cache_hits_total"); };
    auto before = hits();
    auto first = client.get(ranges_query);
    auto second = client.get(ranges_query);
    ASSERT_EQ(first.status, 200U);
    ASSERT_EQ(second.status, 200U);
    EXPECT_GT(first.body.size(), std::size_t{10} << 20);
    EXPECT_TRUE(first.body == second.body);
    EXPECT_EQ(hits() - before, 1);
}

namespace {

// Resident memory of `pid`, in KiB.
long resident_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    return -1;
}

}  // namespace

TEST_F(api_connections, thousands_of_idle_and_slow_connections_do_not_disturb_a_searching_client) {
    constexpr int idle_count = 5000;
    constexpr int slow_count = 500;
    // Per connection at most (the session's frame, buffers and ASan's redzones take far less).
    constexpr long kib_per_connection = 64;
    ASSERT_GE(raise_own_descriptor_limit(), static_cast<rlim_t>(idle_count + slow_count + 200))
        << "this test needs that many open files; raise the hard limit (ulimit -Hn)";
    mt::execute(db_.url(), small_seed);
    // A read timeout short enough that the slow senders are cut off and come back during the test.
    ASSERT_NO_FATAL_FAILURE(start({"--threads", "2", "--read-timeout", "2", "--idle-timeout", "600"}));
    auto rss_before = resident_kib(api_->pid());

    std::vector<std::unique_ptr<raw_socket>> idle;
    for (int i = 0; i < idle_count; ++i) {
        idle.push_back(std::make_unique<raw_socket>(port_));
        ASSERT_TRUE(idle.back()->ok());
        ASSERT_EQ(idle.back()->get("/healthz").status, 200U) << "idle connection " << i;
    }

    raw_socket client(port_);
    ASSERT_TRUE(client.ok());

    // The slow senders: a byte of a request header each in turn, reconnecting when cut off.
    std::atomic<bool> done{false};
    std::atomic<int> slow_cut_off{0};
    std::thread slow([&] {
        const std::string header = "GET /search HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(4000, 'a');
        std::vector<std::unique_ptr<raw_socket>> sockets(slow_count);
        std::vector<std::size_t> sent(slow_count, 0);
        while (!done.load()) {
            for (int i = 0; i < slow_count && !done.load(); ++i) {
                if (!sockets[i] || !sockets[i]->send(std::string_view(&header[sent[i] % header.size()], 1))) {
                    if (sockets[i] && sockets[i]->ok()) slow_cut_off.fetch_add(1);
                    sockets[i] = std::make_unique<raw_socket>(port_, 5s);
                    sent[i] = 0;
                    continue;
                }
                ++sent[i];
            }
            std::this_thread::sleep_for(20ms);  // pacing the trickle, not waiting for a result
        }
    });

    // The client: keep-alive requests until the slow senders were cut off and came back many times,
    // each answer checked byte for byte.
    int requests = 0;
    int errors = 0;
    while (requests < 2000 || slow_cut_off.load() < slow_count) {
        auto r = client.get(requests % 2 == 0 ? small_query : "/search?starts_at=2021-06-01T01:30:00Z");
        ++requests;
        auto expected = requests % 2 == 1 ? small_answer : events_body({small_event(2), small_event(3)});
        if (r.status != 200 || r.body != expected) ++errors;
        if (errors != 0 || requests > 1'000'000) break;
    }
    auto rss_during = resident_kib(api_->pid());
    done.store(true);
    slow.join();

    EXPECT_EQ(errors, 0) << "after " << requests << " requests";
    EXPECT_GE(slow_cut_off.load(), slow_count) << "the slow senders were cut off by the read timeout";
    auto metrics = client.get("/metrics").body;
    EXPECT_EQ(metric(metrics, "marquee_api_connections_rejected_total"), 0);
    EXPECT_EQ(metric(metrics, "marquee_api_connections_evicted_total"), 0);
    std::size_t still_open = 0;
    for (auto& s : idle) still_open += s->open_and_quiet() ? 1 : 0;
    EXPECT_EQ(still_open, static_cast<std::size_t>(idle_count)) << "idle connections under the idle timeout stay";
    EXPECT_LT(rss_during - rss_before, (idle_count + slow_count) * kib_per_connection)
        << "RSS grew from " << rss_before << " KiB to " << rss_during << " KiB";
}
