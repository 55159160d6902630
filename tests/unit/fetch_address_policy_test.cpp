// Which destination addresses and redirects the feed fetcher refuses: every range at its edges (the
// first and last address inside, the first outside on each side), IPv6 and IPv4-mapped IPv6, the
// refusal messages, and the redirect scheme rule. Pure functions: nothing here opens a socket.
#include "marquee/http/fetcher.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace http = marquee::http;
using http::address_class;

namespace {

// The address's bytes in network order, parsed as the system does (inet_pton); 4 bytes when the text
// is IPv4, 16 when IPv6.
std::vector<std::uint8_t> bytes_of(const std::string& text) {
    std::array<std::uint8_t, 16> buffer{};
    if (inet_pton(AF_INET, text.c_str(), buffer.data()) == 1) return {buffer.begin(), buffer.begin() + 4};
    if (inet_pton(AF_INET6, text.c_str(), buffer.data()) == 1) return {buffer.begin(), buffer.end()};
    ADD_FAILURE() << "not an IP address: " << text;
    return {};
}

address_class classify(const std::string& text) {
    return http::classify_address(bytes_of(text));
}

// The socket address curl hands to the open-socket callback.
sockaddr_storage socket_address(const std::string& text) {
    sockaddr_storage storage{};
    const auto bytes = bytes_of(text);
    if (bytes.size() == 4) {
        sockaddr_in v4{};
        v4.sin_family = AF_INET;
        v4.sin_port = htons(80);
        std::memcpy(&v4.sin_addr, bytes.data(), 4);
        std::memcpy(&storage, &v4, sizeof v4);
    } else {
        sockaddr_in6 v6{};
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(443);
        std::memcpy(&v6.sin6_addr, bytes.data(), 16);
        std::memcpy(&storage, &v6, sizeof v6);
    }
    return storage;
}

std::optional<std::string> refusal(const std::string& text, bool deny_private) {
    // destination_refusal reads the family-specific structure behind the sockaddr, as curl passes
    // it: hand it a whole storage.
    const auto storage = socket_address(text);
    return http::destination_refusal(*reinterpret_cast<const sockaddr*>(&storage), deny_private);
}

struct range_case {
    const char* first_inside;
    const char* last_inside;
    const char* before;  // the address just below the range
    const char* after;   // the address just above it
    address_class kind;
};

// Every range the rules name. Where a neighbour falls into another named range (127/8 follows
// 126.255.255.255, 0/8 precedes 1.0.0.0, …) the expectation below says which.
const std::vector<range_case> ranges{
    {"169.254.0.0", "169.254.255.255", "169.253.255.255", "169.255.0.0", address_class::link_local},
    {"127.0.0.0", "127.255.255.255", "126.255.255.255", "128.0.0.0", address_class::loopback},
    {"10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0", address_class::private_use},
    {"172.16.0.0", "172.31.255.255", "172.15.255.255", "172.32.0.0", address_class::private_use},
    {"192.168.0.0", "192.168.255.255", "192.167.255.255", "192.169.0.0", address_class::private_use},
    {"100.64.0.0", "100.127.255.255", "100.63.255.255", "100.128.0.0", address_class::shared},
    {"0.0.0.0", "0.255.255.255", nullptr, "1.0.0.0", address_class::unspecified},
    {"fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     "fec0::", address_class::link_local},
    {"fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     "fe00::", address_class::private_use},
    {"::1", "::1", "::", "::2", address_class::loopback},
    {"::", "::", nullptr, "::1", address_class::unspecified},
};

// The IPv4-mapped form of an IPv4 address text.
std::string mapped(const char* v4) {
    return std::string("::ffff:") + v4;
}

}  // namespace

TEST(fetch_address_policy, classifies_every_range_at_its_edges) {
    for (const auto& r : ranges) {
        EXPECT_EQ(classify(r.first_inside), r.kind) << r.first_inside;
        EXPECT_EQ(classify(r.last_inside), r.kind) << r.last_inside;
        // Neighbours are global unless they belong to the adjacent named range.
        if (r.before) {
            EXPECT_NE(classify(r.before), r.kind) << r.before;
        }
        if (r.after) {
            EXPECT_NE(classify(r.after), r.kind) << r.after;
        }
    }
}

TEST(fetch_address_policy, neighbours_of_the_ranges_are_global) {
    for (const char* text : {"169.253.255.255",
                             "169.255.0.0",
                             "126.255.255.255",
                             "128.0.0.0",
                             "9.255.255.255",
                             "11.0.0.0",
                             "172.15.255.255",
                             "172.32.0.0",
                             "192.167.255.255",
                             "192.169.0.0",
                             "100.63.255.255",
                             "100.128.0.0",
                             "1.0.0.0",
                             "8.8.8.8",
                             "255.255.255.255",
                             "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                             "fec0::",
                             "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                             "fe00::",
                             "::2",
                             "2001:db8::1",
                             "2a00:1450:4001::200e",
                             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"})
        EXPECT_EQ(classify(text), address_class::global) << text;
}

TEST(fetch_address_policy, ipv4_mapped_ipv6_is_classified_as_its_ipv4_address) {
    for (const auto& r : ranges) {
        const std::string first(r.first_inside);
        if (first.find(':') != std::string::npos) continue;  // IPv6 ranges have no mapped form
        EXPECT_EQ(classify(mapped(r.first_inside)), r.kind) << mapped(r.first_inside);
        EXPECT_EQ(classify(mapped(r.last_inside)), r.kind) << mapped(r.last_inside);
        if (r.after) {
            EXPECT_NE(classify(mapped(r.after)), r.kind) << mapped(r.after);
        }
    }
    EXPECT_EQ(classify("::ffff:a9fe:a9fe"), address_class::link_local) << "hex spelling of 169.254.169.254";
    EXPECT_EQ(classify("::ffff:8.8.8.8"), address_class::global);
    // Only ::ffff:0:0/96 carries an IPv4 address to connect to; a neighbouring prefix does not.
    EXPECT_EQ(classify("::fffe:a9fe:a9fe"), address_class::global);
    EXPECT_EQ(classify("0:0:0:0:0:1:ffff:a9fe"), address_class::global);
}

TEST(fetch_address_policy, other_sizes_are_global) {
    EXPECT_EQ(http::classify_address({}), address_class::global);
    const std::array<std::uint8_t, 5> five{169, 254, 169, 254, 0};
    EXPECT_EQ(http::classify_address(five), address_class::global);
}

TEST(fetch_address_policy, link_local_is_refused_even_without_deny_private_networks) {
    EXPECT_TRUE(http::refused(address_class::link_local, false));
    EXPECT_TRUE(http::refused(address_class::link_local, true));
    for (auto kind :
         {address_class::loopback, address_class::private_use, address_class::shared, address_class::unspecified}) {
        EXPECT_FALSE(http::refused(kind, false)) << http::to_string(kind);
        EXPECT_TRUE(http::refused(kind, true)) << http::to_string(kind);
    }
    EXPECT_FALSE(http::refused(address_class::global, false));
    EXPECT_FALSE(http::refused(address_class::global, true));
}

TEST(fetch_address_policy, refusal_names_the_address_and_its_class) {
    EXPECT_EQ(refusal("169.254.169.254", false), "destination 169.254.169.254 is link-local: refused");
    EXPECT_EQ(refusal("fe80::1", false), "destination fe80::1 is link-local: refused");
    EXPECT_EQ(refusal("::ffff:169.254.169.254", false), "destination ::ffff:169.254.169.254 is link-local: refused");
    EXPECT_EQ(refusal("127.0.0.1", true), "destination 127.0.0.1 is loopback: refused");
    EXPECT_EQ(refusal("::1", true), "destination ::1 is loopback: refused");
    EXPECT_EQ(refusal("10.1.2.3", true), "destination 10.1.2.3 is private: refused");
    EXPECT_EQ(refusal("fd12::1", true), "destination fd12::1 is private: refused");
    EXPECT_EQ(refusal("100.64.0.1", true), "destination 100.64.0.1 is shared (CGNAT): refused");
    EXPECT_EQ(refusal("0.0.0.0", true), "destination 0.0.0.0 is unspecified: refused");
    EXPECT_EQ(refusal("::", true), "destination :: is unspecified: refused");
}

TEST(fetch_address_policy, allowed_destinations_have_no_refusal) {
    for (const char* text : {"127.0.0.1", "::1", "10.0.0.1", "192.168.1.1", "100.64.0.1", "0.0.0.0", "fd00::1"})
        EXPECT_EQ(refusal(text, false), std::nullopt) << text;
    for (const char* text : {"8.8.8.8", "2001:db8::1", "::ffff:8.8.8.8"}) {
        EXPECT_EQ(refusal(text, false), std::nullopt) << text;
        EXPECT_EQ(refusal(text, true), std::nullopt) << text;
    }
}

TEST(fetch_address_policy, non_ip_destinations_are_refused) {
    sockaddr_storage storage{};
    storage.ss_family = AF_UNIX;
    auto reason = http::destination_refusal(*reinterpret_cast<const sockaddr*>(&storage), false);
    ASSERT_TRUE(reason.has_value());
    EXPECT_NE(reason->find("refused"), std::string::npos) << *reason;
}

TEST(fetch_redirect_policy, https_may_only_redirect_to_https) {
    EXPECT_TRUE(http::redirect_allowed("https://a.example/feed", "https://b.example/feed"));
    EXPECT_FALSE(http::redirect_allowed("https://a.example/feed", "http://a.example/feed"));
    EXPECT_FALSE(http::redirect_allowed("HTTPS://a.example/feed", "http://a.example/feed"));
    EXPECT_FALSE(http::redirect_allowed("https://a.example/feed", "HTTP://a.example/feed"));
    EXPECT_TRUE(http::redirect_allowed("https://a.example/feed", "HtTpS://a.example/feed"));
}

TEST(fetch_redirect_policy, http_may_redirect_to_http_or_https_only) {
    EXPECT_TRUE(http::redirect_allowed("http://a.example/feed", "http://b.example/feed"));
    EXPECT_TRUE(http::redirect_allowed("http://a.example/feed", "https://b.example/feed"));
    // A URL without a scheme is fetched as http by curl.
    EXPECT_TRUE(http::redirect_allowed("a.example/feed", "https://b.example/feed"));
    for (const char* target : {"ftp://a.example/feed", "file:///etc/passwd", "gopher://a.example/", "/relative",
                               "httpx://a.example/", "", "https:/missing-slash"})
        EXPECT_FALSE(http::redirect_allowed("http://a.example/feed", target)) << target;
}
