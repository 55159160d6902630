// marquee-provider-mock over HTTP: rotation, /_control/next, every fault kind, stats, shutdown.
#include "harness/harness.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <fstream>
#include <memory>
#include <sstream>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return std::move(out).str();
}

class provider_mock : public ::testing::Test {
protected:
    void SetUp() override {
        samples_ = mt::source_dir() / "fixtures" / "provider-samples";
        port_ = mt::free_port();
        mock_ = std::make_unique<mt::process>(
            "marquee-provider-mock",
            std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(port_), "--dir", samples_.string()});
        ASSERT_TRUE(mt::wait_until([&] { return get("/_control/stats").status == 200; }, 20s,
                                   "the provider mock to answer /_control/stats"));
    }

    mt::http_response get(const std::string& target, std::chrono::milliseconds timeout = 10s) {
        return mt::http_get("127.0.0.1", port_, target, {}, timeout);
    }
    std::string sample(const std::string& name) const { return read_file(samples_ / name); }
    void arm(const std::string& query) {
        auto response = get("/_control/fault?" + query);
        ASSERT_EQ(response.status, 200u) << response.body;
    }
    boost::json::object stats() { return boost::json::parse(get("/_control/stats").body).as_object(); }

    std::filesystem::path samples_;
    std::uint16_t port_ = 0;
    std::unique_ptr<mt::process> mock_;
};

}  // namespace

TEST_F(provider_mock, serves_samples_in_name_order_and_wraps_around) {
    for (const auto* name : {"response_1.xml", "response_2.xml", "response_3.xml", "response_1.xml"}) {
        auto response = get("/api/events");
        ASSERT_EQ(response.status, 200u) << response.error;
        EXPECT_EQ(response.headers["content-type"], "application/xml");
        EXPECT_EQ(response.body, sample(name)) << "expected " << name;
    }
    auto s = stats();
    EXPECT_EQ(s["requests"].as_int64(), 4);
    EXPECT_EQ(s["served"].at("response_1.xml").as_int64(), 2);
    EXPECT_EQ(s["served"].at("response_2.xml").as_int64(), 1);
    EXPECT_EQ(s["served"].at("response_3.xml").as_int64(), 1);
}

TEST_F(provider_mock, next_picks_the_file_and_rotation_continues_after_it) {
    ASSERT_EQ(get("/_control/next?file=response_3.xml").status, 200u);
    EXPECT_EQ(get("/api/events").body, sample("response_3.xml"));
    EXPECT_EQ(get("/api/events").body, sample("response_1.xml"));
    EXPECT_EQ(get("/_control/next?file=nope.xml").status, 404u);
    EXPECT_EQ(get("/_control/next").status, 400u);
}

TEST_F(provider_mock, delay_holds_the_headers_back) {
    arm("kind=delay&value=5000");
    auto impatient = get("/api/events", 300ms);
    EXPECT_EQ(impatient.status, 0u);
    EXPECT_NE(impatient.error.find("timeout"), std::string::npos) << impatient.error;
    // The fault was used up by that request: the next one is served at once.
    auto next = get("/api/events", 3s);
    EXPECT_EQ(next.status, 200u) << next.error;
    EXPECT_EQ(next.body, sample("response_2.xml"));
}

TEST_F(provider_mock, status_fault_answers_with_the_code) {
    arm("kind=status&value=503");
    auto response = get("/api/events");
    EXPECT_EQ(response.status, 503u);
    EXPECT_NE(response.body.find("503"), std::string::npos);
    EXPECT_EQ(get("/api/events").status, 200u);
}

TEST_F(provider_mock, truncate_promises_the_whole_file_and_sends_half) {
    arm("kind=truncate");
    auto response = get("/api/events");
    const auto full = sample("response_1.xml");
    EXPECT_EQ(response.status, 200u);
    EXPECT_EQ(response.headers["content-length"], std::to_string(full.size()));
    EXPECT_EQ(response.body, full.substr(0, full.size() / 2));
    EXPECT_FALSE(response.error.empty()) << "a cut-short body must be reported";
}

TEST_F(provider_mock, html_fault_serves_a_maintenance_page) {
    arm("kind=html");
    auto response = get("/api/events");
    EXPECT_EQ(response.status, 200u);
    EXPECT_TRUE(response.headers["content-type"].starts_with("text/html"));
    EXPECT_EQ(response.body, "<html><body>Maintenance</body></html>");
}

TEST_F(provider_mock, empty_fault_serves_no_body) {
    arm("kind=empty");
    auto response = get("/api/events");
    EXPECT_EQ(response.status, 200u);
    EXPECT_EQ(response.headers["content-length"], "0");
    EXPECT_TRUE(response.body.empty());
}

TEST_F(provider_mock, oversize_fault_streams_the_requested_size) {
    arm("kind=oversize&value=3000000");
    auto response = get("/api/events", 30s);
    EXPECT_EQ(response.status, 200u) << response.error;
    EXPECT_EQ(response.headers["content-length"], "3000000");
    EXPECT_EQ(response.body.size(), 3000000u);
    EXPECT_TRUE(response.body.starts_with("<?xml version=\"1.0\""));
    EXPECT_TRUE(response.body.ends_with("</eventList>\n"));
}

TEST_F(provider_mock, garbage_fault_is_not_xml) {
    arm("kind=garbage");
    auto response = get("/api/events");
    EXPECT_EQ(response.status, 200u);
    EXPECT_EQ(response.headers["content-type"], "application/xml");
    ASSERT_FALSE(response.body.empty());
    EXPECT_NE(response.body.front(), '<');
}

TEST_F(provider_mock, count_limits_the_fault_and_zero_means_until_reset) {
    arm("kind=status&value=500&count=2");
    EXPECT_EQ(get("/api/events").status, 500u);
    EXPECT_EQ(get("/api/events").status, 500u);
    EXPECT_EQ(get("/api/events").status, 200u);

    arm("kind=status&value=502&count=0");
    for (int i = 0; i < 5; ++i) EXPECT_EQ(get("/api/events").status, 502u);
    ASSERT_EQ(get("/_control/reset").status, 200u);
    auto after_reset = get("/api/events");
    EXPECT_EQ(after_reset.status, 200u);
    EXPECT_EQ(after_reset.body, sample("response_1.xml")) << "reset rewinds the rotation";
    EXPECT_EQ(stats()["requests"].as_int64(), 1);
}

TEST_F(provider_mock, rejects_bad_control_requests) {
    EXPECT_EQ(get("/_control/fault?kind=meteor").status, 400u);
    EXPECT_EQ(get("/_control/fault?kind=status&value=42").status, 400u);
    EXPECT_EQ(get("/_control/fault?kind=delay&count=-1").status, 400u);
    EXPECT_EQ(get("/_control/nothing").status, 404u);
    EXPECT_EQ(get("/elsewhere").status, 404u);
}

TEST_F(provider_mock, fault_flag_arms_a_fault_at_start) {
    const auto port = mt::free_port();
    mt::process mock("marquee-provider-mock", {"--listen", "127.0.0.1:" + std::to_string(port), "--dir",
                                               samples_.string(), "--fault", "status", "--fault-value", "429"});
    ASSERT_TRUE(mt::wait_until([&] { return mt::http_get("127.0.0.1", port, "/_control/stats").status == 200; }, 20s,
                               "the second mock"));
    EXPECT_EQ(mt::http_get("127.0.0.1", port, "/api/events").status, 429u);
    EXPECT_EQ(mt::http_get("127.0.0.1", port, "/api/events").status, 200u);
}

TEST_F(provider_mock, bad_settings_exit_with_code_2) {
    mt::process no_dir("marquee-provider-mock", {"--listen", "127.0.0.1:1", "--dir", "/nonexistent"});
    EXPECT_EQ(no_dir.wait_exit(10s), 2);
    mt::process bad_listen("marquee-provider-mock", {"--listen", "nowhere", "--dir", samples_.string()});
    EXPECT_EQ(bad_listen.wait_exit(10s), 2);
}

TEST_F(provider_mock, sigterm_shuts_down_cleanly) {
    mock_->terminate();
    EXPECT_EQ(mock_->wait_exit(10s), 0);
}
