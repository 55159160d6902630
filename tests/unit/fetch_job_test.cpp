#include "marquee/jobs/fetch_job.hpp"

#include <gtest/gtest.h>

#include <set>

namespace {

using namespace std::chrono_literals;
using marquee::jobs::fetch_job;
using marquee::jobs::parse_error;
using marquee::jobs::parse_fetch_job;

constexpr std::chrono::sys_seconds slot{1710072000s};  // 2024-03-10T12:00:00Z

std::string error_of(std::string_view json) {
    auto r = parse_fetch_job(json);
    auto* e = std::get_if<parse_error>(&r);
    return e ? e->message : "<accepted>";
}

fetch_job parsed(std::string_view json) {
    auto r = parse_fetch_job(json);
    if (auto* e = std::get_if<parse_error>(&r)) throw std::invalid_argument(e->message);
    return std::get<fetch_job>(r);
}

TEST(fetch_job, serialises_the_contract_format) {
    fetch_job job{"0b7e4a36-5c0e-4d7a-9a51-2f3c1d6e8b90", "acme", slot, 1};
    EXPECT_EQ(marquee::jobs::to_json(job), R"({"job_id":"0b7e4a36-5c0e-4d7a-9a51-2f3c1d6e8b90","provider":"acme",)"
                                           R"("scheduled_for":"2024-03-10T12:00:00Z","attempt":1})");
}

TEST(fetch_job, round_trips) {
    auto job = marquee::jobs::make_fetch_job("feed.example-1", slot);
    job.attempt = 3;
    EXPECT_EQ(parsed(marquee::jobs::to_json(job)), job);
}

TEST(fetch_job, make_gives_fresh_v4_ids) {
    std::set<std::string> ids;
    for (int i = 0; i < 100; ++i) {
        auto job = marquee::jobs::make_fetch_job("acme", slot);
        ASSERT_EQ(job.job_id.size(), 36u);
        EXPECT_EQ(job.job_id[14], '4') << job.job_id;
        EXPECT_NE(std::string("89ab").find(job.job_id[19]), std::string::npos) << job.job_id;
        EXPECT_EQ(job.attempt, 1);
        EXPECT_EQ(job.scheduled_for, slot);
        ids.insert(job.job_id);
    }
    EXPECT_EQ(ids.size(), 100u);
}

TEST(fetch_job, formats_utc_with_seconds) {
    EXPECT_EQ(marquee::jobs::format_rfc3339_utc(std::chrono::sys_seconds{0s}), "1970-01-01T00:00:00Z");
    EXPECT_EQ(marquee::jobs::format_rfc3339_utc(std::chrono::sys_seconds{951782400s}), "2000-02-29T00:00:00Z");
}

TEST(fetch_job, accepts_offsets_missing_attempt_and_unknown_members) {
    auto job = parsed(
        R"({"provider":"acme","scheduled_for":"2024-03-10T13:00:00+01:00","job_id":"0B7E4A36-5C0E-4D7A-9A51-2F3C1D6E8B90","extra":[1]})");
    EXPECT_EQ(job.scheduled_for, slot);
    EXPECT_EQ(job.attempt, 1);
    EXPECT_EQ(job.provider, "acme");
    EXPECT_EQ(parsed(R"({"job_id":"0b7e4a36-5c0e-4d7a-9a51-2f3c1d6e8b90","provider":"acme",)"
                     R"("scheduled_for":"2024-03-10T12:00:00.000Z","attempt":2147483647})")
                  .attempt,
              2147483647);
}

TEST(fetch_job, rejects_non_json_and_non_objects) {
    EXPECT_EQ(error_of("").substr(0, 9), "not JSON:");
    EXPECT_EQ(error_of("{").substr(0, 9), "not JSON:");
    EXPECT_EQ(error_of("{} x").substr(0, 9), "not JSON:");
    EXPECT_EQ(error_of("[]"), "not a JSON object");
    EXPECT_EQ(error_of("\"job\""), "not a JSON object");
}

TEST(fetch_job, rejects_bad_members) {
    const std::string id = R"("job_id":"0b7e4a36-5c0e-4d7a-9a51-2f3c1d6e8b90")";
    const std::string good_rest = R"("provider":"acme","scheduled_for":"2024-03-10T12:00:00Z")";
    EXPECT_EQ(error_of("{" + good_rest + "}"), "job_id: missing or not a string");
    EXPECT_EQ(error_of(R"({"job_id":42,)" + good_rest + "}"), "job_id: missing or not a string");
    EXPECT_EQ(error_of(R"({"job_id":"0b7e4a36-5c0e-4d7a-9a51-2f3c1d6e8b9",)" + good_rest + "}"),
              "job_id: '0b7e4a36-5c0e-4d7a-9a51-2f3c1d6e8b9' is not a UUID");
    EXPECT_EQ(error_of(R"({"job_id":"0b7e4a36x5c0e-4d7a-9a51-2f3c1d6e8b90",)" + good_rest + "}"),
              "job_id: '0b7e4a36x5c0e-4d7a-9a51-2f3c1d6e8b90' is not a UUID");
    EXPECT_EQ(error_of("{" + id + R"(,"scheduled_for":"2024-03-10T12:00:00Z"})"), "provider: missing or not a string");
    EXPECT_EQ(error_of("{" + id + R"(,"provider":"Acme","scheduled_for":"2024-03-10T12:00:00Z"})"),
              "provider: 'Acme' is not a valid provider name");
    EXPECT_EQ(error_of("{" + id + R"(,"provider":"acme"})"), "scheduled_for: missing or not a string");
    EXPECT_EQ(error_of("{" + id + R"(,"provider":"acme","scheduled_for":"2024-02-30T12:00:00Z"})"),
              "scheduled_for: '2024-02-30T12:00:00Z' is not an RFC 3339 date-time in whole seconds");
    EXPECT_EQ(error_of("{" + id + R"(,"provider":"acme","scheduled_for":"2024-03-10T12:00:00.5Z"})"),
              "scheduled_for: '2024-03-10T12:00:00.5Z' is not an RFC 3339 date-time in whole seconds");
    EXPECT_EQ(error_of("{" + id + R"(,"provider":"acme","scheduled_for":1710072000})"),
              "scheduled_for: missing or not a string");
    for (const char* attempt : {"0", "-1", "1.0", "\"1\"", "2147483648", "18446744073709551615", "null"})
        EXPECT_EQ(error_of("{" + id + "," + good_rest + R"(,"attempt":)" + attempt + "}"),
                  "attempt: not a positive integer")
            << attempt;
}

}  // namespace

TEST(fetch_job, error_messages_quote_and_cut_hostile_values) {
    auto huge = std::string(100'000, 'x') + "\\nforged log line";
    for (const auto& json :
         {R"({"job_id":")" + huge + R"(","provider":"acme","scheduled_for":"2024-03-10T12:00:00Z"})",
          R"({"job_id":"0b7e4a36-5c0e-4d7a-9a51-2f3c1d6e8b90","provider":")" + huge +
              R"(","scheduled_for":"2024-03-10T12:00:00Z"})",
          R"({"job_id":"0b7e4a36-5c0e-4d7a-9a51-2f3c1d6e8b90","provider":"acme","scheduled_for":")" + huge + R"("})"}) {
        auto message = error_of(json);
        EXPECT_LT(message.size(), 200u) << message.substr(0, 300);
        EXPECT_EQ(message.find('\n'), std::string::npos);
    }
}
