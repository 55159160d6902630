// marquee-provider-mock over HTTP: rotation (also one per provider directory), /_control/next, every
// fault kind, holding replies until released, stats, shutdown.
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <future>
#include <memory>
#include <set>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

class provider_mock : public ::testing::Test {
protected:
    mt::http_response get(const std::string& target, std::chrono::milliseconds timeout = 10s) {
        return mock_.get(target, timeout);
    }
    std::string sample(const std::string& name) const { return mt::read_file(samples_ / name); }
    void arm(const std::string& query) {
        auto response = get("/_control/fault?" + query);
        ASSERT_EQ(response.status, 200u) << response.body;
    }
    boost::json::object stats() { return boost::json::parse(get("/_control/stats").body).as_object(); }
    // A GET of /api/events on its own thread, for replies the mock holds.
    std::future<mt::http_response> get_in_background() {
        return std::async(std::launch::async,
                          [port = mock_.port()] { return mt::http_get("127.0.0.1", port, "/api/events", {}, 120s); });
    }

    std::filesystem::path samples_ = mt::provider_samples();
    mt::provider_mock mock_{samples_};
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
    auto next = get("/api/events");
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
    mt::provider_mock flagged(samples_, {"--fault", "status", "--fault-value", "429"});
    EXPECT_EQ(flagged.get("/api/events").status, 429u);
    EXPECT_EQ(flagged.get("/api/events").status, 200u);
}

TEST_F(provider_mock, bad_settings_exit_with_code_2) {
    auto no_dir = mt::provider_mock_process({"--listen", "127.0.0.1:1", "--dir", "/nonexistent"});
    EXPECT_EQ(no_dir->wait_exit(10s), 2);
    auto bad_listen = mt::provider_mock_process({"--listen", "nowhere", "--dir", samples_.string()});
    EXPECT_EQ(bad_listen->wait_exit(10s), 2);
}

TEST_F(provider_mock, sigterm_shuts_down_cleanly) {
    mock_.proc().terminate();
    EXPECT_EQ(mock_.proc().wait_exit(10s), 0);
}

TEST_F(provider_mock, hold_keeps_the_reply_until_release) {
    ASSERT_EQ(get("/_control/hold").status, 200u);
    auto held = get_in_background();
    ASSERT_TRUE(mock_.wait_held(1));
    // Counted and held: the request reached the mock, its answer has not left it.
    EXPECT_EQ(stats()["requests"].as_int64(), 1);
    EXPECT_EQ(held.wait_for(0s), std::future_status::timeout) << "nothing answered before the release";
    // Only the one reply is held: the next is answered while the first still waits.
    auto next = get("/api/events");
    EXPECT_EQ(next.status, 200u);
    EXPECT_EQ(next.body, sample("response_2.xml"));
    EXPECT_EQ(held.wait_for(0s), std::future_status::timeout);

    auto released = get("/_control/release");
    EXPECT_EQ(released.status, 200u);
    EXPECT_EQ(released.body, "released: 1\n");
    auto answer = held.get();
    EXPECT_EQ(answer.status, 200u) << answer.error;
    EXPECT_EQ(answer.body, sample("response_1.xml")) << "the file picked when the request arrived";
    EXPECT_EQ(stats()["held"].as_int64(), 0);
}

TEST_F(provider_mock, hold_count_zero_holds_every_reply_and_faults_still_apply) {
    ASSERT_EQ(get("/_control/hold?count=0").status, 200u);
    arm("kind=status&value=503");
    auto first = get_in_background();
    auto second = get_in_background();
    ASSERT_TRUE(mock_.wait_held(2));
    EXPECT_EQ(first.wait_for(0s), std::future_status::timeout);
    EXPECT_EQ(second.wait_for(0s), std::future_status::timeout);
    EXPECT_EQ(get("/_control/release").body, "released: 2\n");
    std::multiset<unsigned> statuses{first.get().status, second.get().status};
    EXPECT_EQ(statuses, (std::multiset<unsigned>{200u, 503u})) << "the armed fault went to one of them";
    // Released means no longer holding.
    EXPECT_EQ(get("/api/events").status, 200u);
    EXPECT_EQ(stats()["held"].as_int64(), 0);
}

TEST_F(provider_mock, reset_releases_held_replies) {
    ASSERT_EQ(get("/_control/hold?count=5").status, 200u);
    auto held = get_in_background();
    ASSERT_TRUE(mock_.wait_held(1));
    ASSERT_EQ(get("/_control/reset").status, 200u);
    EXPECT_EQ(held.get().status, 200u);
    EXPECT_EQ(get("/api/events").status, 200u) << "reset stops holding the remaining count";
}

TEST_F(provider_mock, rejects_a_bad_hold_count) {
    EXPECT_EQ(get("/_control/hold?count=-1").status, 400u);
    EXPECT_EQ(get("/_control/hold?count=x").status, 400u);
    EXPECT_EQ(get("/_control/release").body, "released: 0\n");
    EXPECT_EQ(get("/api/events").status, 200u) << "nothing is held after a refused hold";
}

TEST_F(provider_mock, serves_each_provider_directory_in_its_own_rotation_and_404s_unknown_names) {
    const auto dir = mt::test_dir("providers");
    mt::write_file(dir / "top.xml", sample("response_3.xml"));
    for (const auto* name : {"alpha", "beta.2", "Upper"}) std::filesystem::create_directory(dir / name);
    mt::write_file(dir / "alpha" / "a.xml", sample("response_1.xml"));
    mt::write_file(dir / "alpha" / "b.xml", sample("response_2.xml"));
    mt::write_file(dir / "beta.2" / "only.xml", sample("response_3.xml"));
    mt::write_file(dir / "Upper" / "a.xml", sample("response_1.xml"));  // not a provider name: not served
    mt::provider_mock many(dir);

    auto body = [&](const std::string& target) {
        auto response = many.get(target);
        EXPECT_EQ(response.status, 200u) << target << ": " << response.error;
        EXPECT_EQ(response.headers["content-type"], "application/xml");
        return response.body;
    };
    // Each provider advances only on its own requests; /api/events keeps the top level's rotation.
    EXPECT_EQ(body("/providers/alpha/api/events"), sample("response_1.xml"));
    EXPECT_EQ(body("/providers/beta.2/api/events"), sample("response_3.xml"));
    EXPECT_EQ(body("/api/events"), sample("response_3.xml"));
    EXPECT_EQ(body("/providers/alpha/api/events"), sample("response_2.xml"));
    EXPECT_EQ(body("/providers/beta.2/api/events"), sample("response_3.xml"));
    EXPECT_EQ(body("/providers/alpha/api/events"), sample("response_1.xml")) << "wraps around";

    for (const auto* target : {"/providers/gamma/api/events", "/providers/Upper/api/events", "/providers//api/events",
                               "/providers/../api/events", "/providers/alpha/api/other", "/providers/alpha"})
        EXPECT_EQ(many.get(target).status, 404u) << target;

    auto s = boost::json::parse(many.get("/_control/stats").body).as_object();
    EXPECT_EQ(s["requests"].as_int64(), 1) << "provider requests are not top-level requests";
    EXPECT_EQ(s["providers"].at("alpha").as_int64(), 3);
    EXPECT_EQ(s["providers"].at("beta.2").as_int64(), 2);
    EXPECT_FALSE(s["providers"].as_object().contains("Upper"));
    ASSERT_EQ(many.get("/_control/reset").status, 200u);
    EXPECT_EQ(body("/providers/alpha/api/events"), sample("response_1.xml")) << "reset rewinds every rotation";
}
