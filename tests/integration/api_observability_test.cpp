// What an operator sees of the API: X-Request-Id on every answer, the access log
// (API_ACCESS_LOG, in the LOG_FORMAT of every other record) and the /docs page.
#include "harness/harness.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

class api_observability : public ::testing::Test {
protected:
    void start(std::map<std::string, std::string> env) {
        port_ = mt::free_port();
        env["DATABASE_URL"] = db_.url();
        env["API_LISTEN"] = "127.0.0.1:" + std::to_string(port_);
        env["API_THREADS"] = "2";
        api_ = std::make_unique<mt::process>("marquee-api", std::vector<std::string>{}, env);
        ASSERT_TRUE(mt::wait_until([&] { return get("/readyz").status == 200; }, 30s, "marquee-api is ready"));
    }

    mt::http_response get(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
        return mt::http_get("127.0.0.1", port_, target, headers, 10s);
    }

    // The access log records in the process's log, after a stop (which flushes the buffers).
    std::vector<std::string> access_lines_after_stop(const std::string& marker) {
        api_->terminate();
        EXPECT_EQ(api_->wait_exit(30s), 0);
        std::vector<std::string> lines;
        std::istringstream log(api_->log_text());
        for (std::string line; std::getline(log, line);)
            if (line.find(marker) != std::string::npos) lines.push_back(line);
        return lines;
    }

    mt::database db_;
    std::uint16_t port_ = 0;
    std::unique_ptr<mt::process> api_;
};

}  // namespace

TEST_F(api_observability, every_answer_carries_a_request_id_the_clients_when_usable) {
    start({});
    std::set<std::string> made;
    for (const char* target : {"/search", "/search?starts_at=bad", "/healthz", "/nope", "/search"}) {
        auto r = get(target);
        ASSERT_TRUE(r.headers.contains("x-request-id")) << target;
        made.insert(r.headers["x-request-id"]);
    }
    EXPECT_EQ(made.size(), 5U) << "each answer gets an id of its own";

    EXPECT_EQ(get("/search", {{"X-Request-Id", "lb-7f3a/42"}}).headers["x-request-id"], "lb-7f3a/42");
    // Not echoed: what could forge a header or a log line, or bloat either.
    for (const std::string& hostile : {std::string("two words"), std::string(129, 'a'), std::string("tab\there")}) {
        auto id = get("/search", {{"X-Request-Id", hostile}}).headers["x-request-id"];
        EXPECT_NE(id, hostile);
        EXPECT_FALSE(id.empty());
    }
    // A request the parser refuses still gets one.
    auto refused = mt::http_get("127.0.0.1", port_, "/search?" + std::string(9000, 'x'));
    EXPECT_EQ(refused.status, 414U);
    EXPECT_FALSE(refused.headers["x-request-id"].empty());
}

TEST_F(api_observability, access_log_all_records_every_request_once_in_the_text_format) {
    start({{"API_ACCESS_LOG", "all"}});
    get("/search", {{"X-Request-Id", "first-one"}});
    get("/search?starts_at=bad");
    get(R"(/no"pe\x)");
    auto lines = access_lines_after_stop(" api: 127.0.0.1 \"");
    // Each I/O thread writes its own buffer: lines of different threads come in any order. The
    // harness's readiness polls are requests too.
    auto line_with = [&](const std::string& text) {
        std::vector<std::string> found;
        for (const auto& line : lines)
            if (line.find(text) != std::string::npos) found.push_back(line);
        return found;
    };
    auto search = line_with(R"( INFO api: 127.0.0.1 "GET /search" 200 )");
    ASSERT_EQ(search.size(), 1U) << api_->log_text();
    EXPECT_NE(search[0].find(" id=first-one"), std::string::npos) << search[0];
    EXPECT_EQ(line_with(R"("GET /search?starts_at=bad" 400 )").size(), 1U) << api_->log_text();
    EXPECT_EQ(line_with(R"("GET /no\"pe\\x" 404 )").size(), 1U) << "quote and backslash escaped: " << api_->log_text();
    EXPECT_EQ(lines.size(), line_with("/readyz").size() + 3) << api_->log_text();
}

TEST_F(api_observability, access_log_in_json_is_one_object_per_request) {
    start({{"API_ACCESS_LOG", "all"}, {"LOG_FORMAT", "json"}});
    get("/search?starts_at=2021-01-01T00:00:00Z", {{"X-Request-Id", "abc-1"}});
    auto lines = access_lines_after_stop(R"("message":"access")");
    bool found = false;
    for (const auto& line : lines) {
        auto record = boost::json::parse(line).as_object();
        if (record.at("request_id").as_string() != "abc-1") continue;
        found = true;
        EXPECT_EQ(record.at("component").as_string(), "api");
        EXPECT_EQ(record.at("method").as_string(), "GET");
        EXPECT_EQ(record.at("target").as_string(), "/search?starts_at=2021-01-01T00:00:00Z");
        EXPECT_EQ(record.at("status").as_int64(), 200);
        EXPECT_EQ(record.at("client").as_string(), "127.0.0.1");
        EXPECT_TRUE(record.at("bytes").is_int64());
        EXPECT_TRUE(record.at("duration_ms").is_double());
    }
    EXPECT_TRUE(found) << api_->log_text();
}

TEST_F(api_observability, access_log_errors_records_only_5xx_and_off_records_nothing) {
    // A readiness poll answered 503 before the first load is a 5xx and may be recorded.
    auto requests_but_readiness_polls = [](const std::vector<std::string>& lines) {
        return std::count_if(lines.begin(), lines.end(),
                             [](const std::string& line) { return line.find("/readyz") == std::string::npos; });
    };
    start({{"API_ACCESS_LOG", "errors"}});
    get("/search");
    get("/nope");
    EXPECT_EQ(requests_but_readiness_polls(access_lines_after_stop(" api: 127.0.0.1 \"")), 0) << api_->log_text();

    start({{"API_ACCESS_LOG", "off"}});
    get("/search");
    EXPECT_TRUE(access_lines_after_stop(" api: 127.0.0.1 \"").empty()) << api_->log_text();
}

TEST_F(api_observability, errors_mode_records_a_5xx) {
    mt::execute(mt::services().database_url, "ALTER DATABASE " + db_.name() + " ALLOW_CONNECTIONS false");
    port_ = mt::free_port();
    api_ = std::make_unique<mt::process>(
        "marquee-api", std::vector<std::string>{},
        std::map<std::string, std::string>{{"DATABASE_URL", db_.url()},
                                           {"API_LISTEN", "127.0.0.1:" + std::to_string(port_)},
                                           {"API_ACCESS_LOG", "errors"}});
    ASSERT_TRUE(mt::wait_until([&] { return get("/healthz").status == 200; }, 30s, "marquee-api answers"));
    EXPECT_EQ(get("/search").status, 503U);
    auto lines = access_lines_after_stop(R"("GET /search" 503 )");
    mt::execute(mt::services().database_url, "ALTER DATABASE " + db_.name() + " ALLOW_CONNECTIONS true");
    EXPECT_EQ(lines.size(), 1U) << api_->log_text();
}

TEST_F(api_observability, docs_renders_the_served_spec) {
    start({});
    auto page = get("/docs");
    EXPECT_EQ(page.status, 200U);
    EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
    EXPECT_NE(page.body.find(R"(<redoc spec-url="openapi.yaml">)"), std::string::npos) << page.body;
    EXPECT_NE(page.body.find("redoc.standalone.js"), std::string::npos);
    EXPECT_EQ(get("/openapi.yaml").status, 200U) << "the spec the page loads";
    EXPECT_EQ(mt::http_request("POST", "127.0.0.1", port_, "/docs").status, 405U);
}
