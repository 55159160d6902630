// The feed fetcher against the real provider mock on loopback, over HTTP and HTTPS (a throw-away
// self-signed certificate made with the openssl CLI, trusted through fetch_limits::ca_file):
// destination rules on the resolved address (loopback refused only with deny_private_networks,
// link-local always, also when a redirect leads there), redirects followed hop by hop and never
// from https to http. Every connection these tests make goes to 127.0.0.1; the link-local one is
// refused before a socket exists for it.
#include "marquee/http/fetcher.hpp"
#include "harness/fixtures.hpp"
#include "harness/harness.hpp"
#include "marquee/error.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <sstream>

namespace mt = marquee::testing;
namespace http = marquee::http;
using namespace std::chrono_literals;

namespace {

using mt::read_file;

// Percent-encodes everything but RFC 3986 unreserved characters, for a URL inside a query value.
std::string encode(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
            out += static_cast<char>(c);
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

std::filesystem::path find_in_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':'))
        if (!dir.empty() && std::filesystem::exists(std::filesystem::path(dir) / name))
            return std::filesystem::path(dir) / name;
    return {};
}

// What the fetch threw: a fetch_error is expected, anything else (or nothing) fails the test.
struct failure {
    bool thrown = false;
    bool transient = true;
    std::string message;
};

failure fetch_failure(const std::string& url, const http::fetch_limits& limits) {
    try {
        auto result = http::fetch(url, limits);
        ADD_FAILURE() << url << " was fetched (HTTP " << result.status << ") but should have failed";
    } catch (const marquee::fetch_error& e) {
        return {true, e.transient(), e.what()};
    }
    return {};
}

class fetcher : public ::testing::Test {
protected:
    void SetUp() override {
        const auto openssl = find_in_path("openssl");
        ASSERT_FALSE(openssl.empty()) << "the openssl command is needed to make a test certificate";
        const auto dir = mt::test_dir("tls");
        cert_ = dir / "cert.pem";
        const auto key = dir / "key.pem";
        // Valid for 127.0.0.1 only (curl checks the IP address against subjectAltName).
        mt::process make_cert(openssl.string(),
                              {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                               "-keyout", key.string(), "-out", cert_.string(), "-days", "1", "-subj", "/CN=127.0.0.1",
                               "-addext", "subjectAltName=IP:127.0.0.1"});
        ASSERT_EQ(make_cert.wait_exit(60s), 0) << make_cert.log_text();

        samples_ = mt::provider_samples();
        const auto tls_port = mt::free_port();
        mock_ = std::make_unique<mt::provider_mock>(
            samples_, std::vector<std::string>{"--tls-listen", "127.0.0.1:" + std::to_string(tls_port), "--tls-cert",
                                               cert_.string(), "--tls-key", key.string()});
        // Both listeners are bound before the mock serves anything, so one answering means both are up.
        port_ = mock_->port();
        tls_port_ = tls_port;
        limits_.ca_file = cert_.string();
        limits_.connect_timeout = 10s;
        limits_.first_byte_timeout = 30s;
        limits_.total_timeout = 60s;
    }

    std::string http_url(const std::string& target) const {
        return fmt::format("http://127.0.0.1:{}{}", port_, target);
    }
    std::string https_url(const std::string& target) const {
        return fmt::format("https://127.0.0.1:{}{}", tls_port_, target);
    }
    static std::string redirect_to(const std::string& url) { return "/redirect?to=" + encode(url); }

    // The mock's counters, shared by both listeners: requests = /api/events requests answered.
    std::int64_t stat(const char* name) const { return mock_->stat(name); }

    std::string first_sample() const { return read_file(samples_ / "response_1.xml"); }

    std::filesystem::path samples_;
    std::filesystem::path cert_;
    std::uint16_t port_ = 0;
    std::uint16_t tls_port_ = 0;
    std::unique_ptr<mt::provider_mock> mock_;
    http::fetch_limits limits_;
};

}  // namespace

TEST_F(fetcher, loopback_is_fetched_when_private_networks_are_allowed) {
    auto result = http::fetch(http_url("/api/events"), limits_);
    EXPECT_EQ(result.status, 200);
    EXPECT_EQ(result.content_type, "application/xml");
    EXPECT_EQ(result.body, first_sample());
    EXPECT_EQ(stat("requests"), 1);
}

TEST_F(fetcher, loopback_is_refused_permanently_with_deny_private_networks) {
    limits_.deny_private_networks = true;
    auto by_address = fetch_failure(http_url("/api/events"), limits_);
    ASSERT_TRUE(by_address.thrown);
    EXPECT_FALSE(by_address.transient);
    EXPECT_EQ(by_address.message, "destination 127.0.0.1 is loopback: refused");

    // Through DNS (the hosts file) the resolved address is what is checked, IPv4 or IPv6.
    auto by_name = fetch_failure(fmt::format("http://localhost:{}/api/events", port_), limits_);
    ASSERT_TRUE(by_name.thrown);
    EXPECT_FALSE(by_name.transient);
    EXPECT_TRUE(by_name.message.starts_with("destination ")) << by_name.message;
    EXPECT_TRUE(by_name.message.ends_with(" is loopback: refused")) << by_name.message;

    EXPECT_EQ(stat("requests"), 0) << "no request reached the mock";
}

TEST_F(fetcher, redirect_to_link_local_is_refused_before_connecting) {
    // Link-local needs no option: a redirect to the cloud metadata address is always refused. The
    // message comes from the open-socket callback, which refuses before socket(2) is called, so no
    // connection to 169.254.169.254 is ever attempted (the mock only answers the redirect).
    for (const char* target :
         {"http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/", "http://[fe80::1]:8080/"}) {
        auto refused = fetch_failure(http_url(redirect_to(target)), limits_);
        ASSERT_TRUE(refused.thrown) << target;
        EXPECT_FALSE(refused.transient) << target;
        EXPECT_TRUE(refused.message.starts_with("destination ")) << refused.message;
        EXPECT_TRUE(refused.message.ends_with(" is link-local: refused")) << refused.message;
    }
    EXPECT_EQ(fetch_failure(http_url(redirect_to("http://169.254.169.254/latest/meta-data/")), limits_).message,
              "destination 169.254.169.254 is link-local: refused");
    EXPECT_EQ(stat("redirects"), 4);
    EXPECT_EQ(stat("requests"), 0);
}

TEST_F(fetcher, redirects_are_followed_up_to_the_limit) {
    const auto twice = http_url(redirect_to(http_url(redirect_to(http_url("/api/events")))));
    limits_.max_redirects = 2;
    auto result = http::fetch(twice, limits_);
    EXPECT_EQ(result.status, 200);
    EXPECT_EQ(result.body, first_sample());
    EXPECT_EQ(stat("redirects"), 2);

    limits_.max_redirects = 1;
    auto too_many = fetch_failure(twice, limits_);
    ASSERT_TRUE(too_many.thrown);
    EXPECT_FALSE(too_many.transient);
    EXPECT_NE(too_many.message.find("more than 1 redirects"), std::string::npos) << too_many.message;
    EXPECT_EQ(stat("requests"), 1) << "only the first fetch reached the feed";
}

TEST_F(fetcher, https_feed_is_fetched_with_a_trusted_certificate_only) {
    auto result = http::fetch(https_url("/api/events"), limits_);
    EXPECT_EQ(result.status, 200);
    EXPECT_EQ(result.body, first_sample());

    // The same server without the test CA: the certificate is verified, not merely encrypted to.
    auto untrusted_limits = limits_;
    untrusted_limits.ca_file.clear();
    auto untrusted = fetch_failure(https_url("/api/events"), untrusted_limits);
    ASSERT_TRUE(untrusted.thrown);
    EXPECT_NE(untrusted.message.find("certificate"), std::string::npos) << untrusted.message;
    EXPECT_EQ(stat("requests"), 1);
}

TEST_F(fetcher, https_to_http_redirect_is_refused) {
    const auto target = http_url("/api/events");
    auto refused = fetch_failure(https_url(redirect_to(target)), limits_);
    ASSERT_TRUE(refused.thrown);
    EXPECT_FALSE(refused.transient);
    EXPECT_EQ(refused.message, fmt::format("redirect from https to {} refused: an https feed may only redirect to "
                                           "https, any feed only to http or https",
                                           target));
    EXPECT_EQ(stat("redirects"), 1);
    EXPECT_EQ(stat("requests"), 0) << "the http target was never requested";
}

TEST_F(fetcher, https_to_https_and_http_to_https_redirects_are_followed) {
    auto secure = http::fetch(https_url(redirect_to(https_url("/api/events"))), limits_);
    EXPECT_EQ(secure.status, 200);
    EXPECT_EQ(secure.body, first_sample());
    auto upgraded = http::fetch(http_url(redirect_to(https_url("/api/events"))), limits_);
    EXPECT_EQ(upgraded.status, 200);
    EXPECT_EQ(upgraded.body, read_file(samples_ / "response_2.xml"));
    EXPECT_EQ(stat("redirects"), 2);
    EXPECT_EQ(stat("requests"), 2);
}

TEST_F(fetcher, a_downgrade_later_in_the_chain_is_refused) {
    // http → https is fine, but the https hop may not hand over to http again.
    const auto chain = http_url(redirect_to(https_url(redirect_to(http_url("/api/events")))));
    auto refused = fetch_failure(chain, limits_);
    ASSERT_TRUE(refused.thrown);
    EXPECT_FALSE(refused.transient);
    EXPECT_TRUE(refused.message.starts_with("redirect from https to http://127.0.0.1:")) << refused.message;
    EXPECT_EQ(stat("redirects"), 2);
    EXPECT_EQ(stat("requests"), 0);
}
