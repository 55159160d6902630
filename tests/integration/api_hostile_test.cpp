// marquee-api under thousands of random and hostile requests over raw sockets: garbage, oversized
// request lines and headers, half-sent requests, slow senders, too many connections. The server
// must never crash, never answer a client error with a 5xx, and keep answering afterwards.
#include "harness/harness.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

// A connected loopback socket, closed on destruction; -1 when connecting failed.
class raw_socket {
public:
    explicit raw_socket(std::uint16_t port, std::chrono::milliseconds timeout = 5s) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        timeval tv{static_cast<time_t>(timeout.count() / 1000),
                   static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
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
    int fd() const noexcept { return fd_; }
    // False when the peer closed or reset the connection first, which the server may do.
    bool send(std::string_view bytes) {
        while (!bytes.empty()) {
            auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    void close_write() { ::shutdown(fd_, SHUT_WR); }
    // Everything until EOF, reset or the receive timeout.
    std::string read_all() {
        std::string out;
        char buffer[16384];
        for (;;) {
            auto n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) break;
            out.append(buffer, static_cast<std::size_t>(n));
        }
        return out;
    }
    // True when the server closed the connection (EOF or reset) within the receive timeout.
    bool closed_by_peer() {
        char byte;
        auto n = ::recv(fd_, &byte, 1, 0);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
    }

private:
    int fd_ = -1;
};

// The status codes of every response in `bytes`: pipelined responses follow each other, each head
// followed by Content-Length bytes of body (none after a HEAD, so the next status line is also
// searched for).
std::vector<unsigned> statuses_of(const std::string& bytes) {
    std::vector<unsigned> statuses;
    std::size_t pos = bytes.find("HTTP/1.1 ");
    while (pos != std::string::npos && pos + 12 <= bytes.size()) {
        statuses.push_back(static_cast<unsigned>(std::stoi(bytes.substr(pos + 9, 3))));
        auto head_end = bytes.find("\r\n\r\n", pos);
        if (head_end == std::string::npos) break;
        std::size_t next = head_end + 4;
        auto length_at = bytes.find("\r\nContent-Length: ", pos);
        if (length_at != std::string::npos && length_at < head_end) {
            auto length = std::stoul(bytes.substr(length_at + 18, head_end - length_at - 18));
            if (next + length <= bytes.size()) next += length;
        }
        pos = bytes.find("HTTP/1.1 ", next);
    }
    return statuses;
}

std::string send_and_read(std::uint16_t port, std::string_view request) {
    raw_socket s(port);
    if (!s.ok()) return {};
    s.send(request);
    s.close_write();
    return s.read_all();
}

class api_hostile : public ::testing::Test {
protected:
    // The schema only (the harness migrated the database): an empty but loaded snapshot.
    void SetUp() override {
        port_ = mt::free_port();
        api_ = std::make_unique<mt::process>(
            "marquee-api",
            std::vector<std::string>{"--database-url", db_.url(), "--api-listen", "127.0.0.1:" + std::to_string(port_),
                                     "--threads", "2", "--read-timeout", "1", "--idle-timeout", "2",
                                     "--max-connections", "64"});
        ASSERT_TRUE(mt::wait_until([&] { return healthy() && ready(); }, 30s, "marquee-api is ready"));
    }

    bool healthy() { return mt::http_get("127.0.0.1", port_, "/healthz", {}, 5s).status == 200; }
    bool ready() { return mt::http_get("127.0.0.1", port_, "/readyz", {}, 5s).status == 200; }

    void expect_no_server_error(const std::string& request, const std::string& response) {
        for (auto status : statuses_of(response)) {
            EXPECT_LT(status, 500U) << "request: " << request.substr(0, 200);
        }
    }

    mt::database db_ = mt::fresh_database();
    std::uint16_t port_ = 0;
    std::unique_ptr<mt::process> api_;
};

}  // namespace

TEST_F(api_hostile, random_bytes_and_mangled_requests) {
    std::mt19937 random(20211122);
    const std::vector<std::string> methods{"GET", "HEAD", "POST", "get", "G\x01T", "", "PRI", "CONNECT", "X"};
    const std::vector<std::string> targets{"/search",
                                           "/search?starts_at=",
                                           "/search?starts_at=%",
                                           "/search?%00=%00",
                                           "/search?starts_at=2021-06-30T19:00:00+02:00&&&ends_at=9999-12-31T23:59:59Z",
                                           "*",
                                           "",
                                           "http://x/search?ends_at=2021-01-01T00:00:00Z",
                                           "/%",
                                           "/\x7f",
                                           "/search?starts_at=2021-06-30T19:00:00.123456789012Z",
                                           "//search",
                                           "/search#frag",
                                           "/readyz",
                                           "/metrics",
                                           "/openapi.yaml"};
    const std::vector<std::string> versions{"HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", "", "http/1.1"};
    const std::vector<std::string> headers{"Host: x\r\n",
                                           "Content-Length: 5\r\n",
                                           "Content-Length: -1\r\n",
                                           "Content-Length: 99999999999999999999\r\n",
                                           "Transfer-Encoding: chunked\r\n",
                                           "If-None-Match: *\r\n",
                                           "Connection: close\r\n",
                                           "Bad header\r\n",
                                           ": empty name\r\n",
                                           "X: \x01\x02\r\n",
                                           " folded\r\n",
                                           "Content-Length: 1\r\nContent-Length: 2\r\n"};
    auto pick = [&](const auto& from) -> const std::string& { return from[random() % from.size()]; };
    // The answers known for a well-formed request (GET or HEAD, HTTP/1.x, harmless headers only).
    const std::map<std::string, unsigned> known{
        {"/search", 200},  {"/search?starts_at=", 400},
        {"*", 404},        {"http://x/search?ends_at=2021-01-01T00:00:00Z", 200},
        {"//search", 404}, {"/readyz", 200},
        {"/metrics", 200}, {"/openapi.yaml", 200}};

    int answered = 0;
    int checked_exactly = 0;
    for (int i = 0; i < 2000; ++i) {
        std::string request;
        // Whether the server must answer: the request is whole, so it either parses (and is answered)
        // or fails to parse (and is answered 400). Random bytes and cut-off requests may end in the
        // middle of a message, which is not answered.
        bool must_answer = false;
        std::optional<unsigned> expected;
        if (i % 8 == 1) {
            // A well-formed request among the hostile ones: its answer is known exactly.
            auto known_target = std::next(known.begin(), static_cast<long>(random() % known.size()));
            request = std::string(random() % 2 == 0 ? "GET " : "HEAD ") + known_target->first +
                      (random() % 2 == 0 ? " HTTP/1.1\r\nHost: x\r\n" : " HTTP/1.0\r\n") +
                      (random() % 3 == 0 ? "Connection: close\r\n" : "") + "\r\n";
            must_answer = true;
            expected = known_target->second;
        } else if (i % 4 == 0) {
            std::uniform_int_distribution<int> byte(0, 255);
            auto length = random() % 600;
            for (std::size_t j = 0; j < length; ++j) request.push_back(static_cast<char>(byte(random)));
        } else {
            const auto& method = pick(methods);
            const auto& target = pick(targets);
            const auto& version = pick(versions);
            request = method + " " + target + " " + version + "\r\n";
            bool harmless_headers = true;
            bool awaits_body = false;  // a body promised but maybe not sent: the server waits for it
            for (auto n = random() % 4; n > 0; --n) {
                const auto& header = pick(headers);
                request += header;
                harmless_headers = harmless_headers && (header == "Host: x\r\n" || header == "Connection: close\r\n");
                awaits_body =
                    awaits_body || header == "Content-Length: 5\r\n" || header == "Transfer-Encoding: chunked\r\n";
            }
            request += "\r\n";
            const bool with_body = random() % 3 == 0;
            if (with_body) request += "hello\r\n0\r\n\r\n";
            const bool cut = random() % 5 == 0;
            if (cut) request = request.substr(0, random() % (request.size() + 1));  // half-sent
            must_answer = !cut && !awaits_body;
            if (must_answer && !with_body && harmless_headers && (method == "GET" || method == "HEAD") &&
                (version == "HTTP/1.1" || version == "HTTP/1.0") && known.contains(target))
                expected = known.at(target);
        }
        auto response = send_and_read(port_, request);
        expect_no_server_error(request, response);
        auto statuses = statuses_of(response);
        if (must_answer) {
            EXPECT_FALSE(statuses.empty()) << "a whole request must be answered: " << request.substr(0, 200);
        }
        if (expected && !statuses.empty()) {
            EXPECT_EQ(statuses.front(), *expected) << request.substr(0, 200);
            ++checked_exactly;
        }
        answered += statuses.empty() ? 0 : 1;
        if (HasFailure()) break;
    }
    EXPECT_GT(answered, 1000) << "most requests are answered";
    EXPECT_GT(checked_exactly, 200) << "well-formed requests were answered and checked";
    EXPECT_TRUE(api_->running());
    EXPECT_TRUE(healthy());
}

TEST_F(api_hostile, oversized_request_line_and_headers) {
    auto long_target = "GET /search?x=" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
    EXPECT_EQ(statuses_of(send_and_read(port_, long_target)), std::vector<unsigned>{414});
    auto huge_line = "GET /search?x=" + std::string(100000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
    EXPECT_EQ(statuses_of(send_and_read(port_, huge_line)), std::vector<unsigned>{414});
    auto big_header = "GET /search HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(17000, 'b') + "\r\n\r\n";
    EXPECT_EQ(statuses_of(send_and_read(port_, big_header)), std::vector<unsigned>{431});
    std::string many_headers = "GET /search HTTP/1.1\r\n";
    for (int i = 0; i < 3000; ++i) many_headers += "X-" + std::to_string(i) + ": v\r\n";
    EXPECT_EQ(statuses_of(send_and_read(port_, many_headers + "\r\n")), std::vector<unsigned>{431});
    auto response = send_and_read(port_, big_header);
    EXPECT_NE(response.find(R"({"error":{"code":"header_too_large")"), std::string::npos) << response;
    EXPECT_TRUE(healthy());
}

TEST_F(api_hostile, pipelined_requests_are_answered_in_order) {
    std::string requests;
    for (int i = 0; i < 100; ++i)
        requests += i % 2 == 0 ? "GET /search HTTP/1.1\r\nHost: x\r\n\r\n" : "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
    auto statuses = statuses_of(send_and_read(port_, requests));
    ASSERT_EQ(statuses.size(), 100U);
    for (std::size_t i = 0; i < statuses.size(); ++i) EXPECT_EQ(statuses[i], i % 2 == 0 ? 200U : 404U);
}

TEST_F(api_hostile, byte_by_byte_request_is_answered) {
    raw_socket s(port_);
    ASSERT_TRUE(s.ok());
    for (char c : std::string_view("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        ASSERT_TRUE(s.send(std::string_view(&c, 1)));
    EXPECT_EQ(statuses_of(s.read_all()), std::vector<unsigned>{200});
}

TEST_F(api_hostile, slow_sender_is_cut_off_by_the_read_timeout) {
    raw_socket slow(port_, 10s);
    ASSERT_TRUE(slow.ok());
    ASSERT_TRUE(slow.send("GET /search HTTP/1.1\r\nHost: x\r\nX-Slow: "));
    // --read-timeout 1: the server hangs up long before our 10 s receive timeout.
    EXPECT_TRUE(slow.closed_by_peer());
    EXPECT_TRUE(healthy());
}

TEST_F(api_hostile, idle_keep_alive_connection_is_closed) {
    raw_socket idle(port_, 10s);
    ASSERT_TRUE(idle.ok());
    ASSERT_TRUE(idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    char buffer[4096];
    ASSERT_GT(::recv(idle.fd(), buffer, sizeof buffer, 0), 0);  // the response, one small segment
    // --idle-timeout 2: closed long before our 10 s receive timeout.
    EXPECT_TRUE(idle.closed_by_peer());
}

TEST_F(api_hostile, connections_over_the_cap_are_refused_and_the_server_recovers) {
    std::vector<std::unique_ptr<raw_socket>> held;
    for (int i = 0; i < 100; ++i) held.push_back(std::make_unique<raw_socket>(port_, 2s));
    int closed = 0;
    int answered = 0;
    for (auto& s : held) {
        std::string response;
        if (!s->ok() || !s->send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") ||
            (response = s->read_all()).empty()) {
            ++closed;
            continue;
        }
        // A connection within the cap is answered in full, not cut off.
        EXPECT_EQ(statuses_of(response), std::vector<unsigned>{200});
        EXPECT_TRUE(response.ends_with(R"({"data":{"status":"alive"},"error":null})")) << response;
        ++answered;
    }
    EXPECT_GE(closed, 100 - 64);
    EXPECT_GE(answered, 1) << "the connections within the cap are served";
    EXPECT_LE(answered, 64);
    held.clear();
    EXPECT_TRUE(mt::wait_until([&] { return healthy(); }, 10s, "the server answers again"));
}
