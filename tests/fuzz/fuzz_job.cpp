// libFuzzer target for fetch-job messages (RabbitMQ bodies: anyone who can publish to the exchange
// chooses the bytes). Two ways in, picked by the first byte:
//   - the input is a message body: parse_fetch_job never throws; a job it accepts is valid
//     (canonical UUID, valid provider name, attempt >= 1) and survives to_json → parse unchanged,
//     with to_json stable; a rejection has a message fit for one log line (valid UTF-8, no control
//     characters, bounded length);
//   - the input describes a job (fields taken from the bytes): when every field is valid,
//     parse_fetch_job(to_json(job)) == job, as fetch_job.hpp promises.
#include "marquee/domain/provider.hpp"
#include "marquee/jobs/fetch_job.hpp"
#include "marquee/text/utf8.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/src.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

using namespace std::chrono;
namespace jobs = marquee::jobs;

void require(bool condition) {
    if (!condition) std::abort();
}

bool canonical_uuid(std::string_view text) {
    if (text.size() != 36) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? c != '-' : !hex) return false;
    }
    return true;
}

void check_round_trip(const jobs::fetch_job& job) {
    const auto body = jobs::to_json(job);
    auto again = jobs::parse_fetch_job(body);
    require(std::holds_alternative<jobs::fetch_job>(again));
    require(std::get<jobs::fetch_job>(again) == job);
    require(jobs::to_json(std::get<jobs::fetch_job>(again)) == body);
    // Exactly the four contract members, nothing else.
    require(boost::json::parse(body).as_object().size() == 4);
}

void check_body(std::string_view body) {
    auto parsed = jobs::parse_fetch_job(body);
    if (auto* e = std::get_if<jobs::parse_error>(&parsed)) {
        require(!e->message.empty());
        require(e->message.size() < 1024);
        require(marquee::text::is_valid_utf8(e->message));
        for (unsigned char c : e->message) require(c >= 0x20 && c != 0x7f);
        return;
    }
    const auto& job = std::get<jobs::fetch_job>(parsed);
    require(canonical_uuid(job.job_id));
    require(marquee::domain::is_valid_provider_name(job.provider));
    require(job.attempt >= 1);
    check_round_trip(job);
}

// A job built field by field: [attempt: 4][seconds: 8][job id: 36][provider: the rest].
void check_built(std::string_view bytes) {
    if (bytes.size() < 4 + 8 + 36) return;
    jobs::fetch_job job;
    std::int32_t attempt = 0;
    std::int64_t raw_seconds = 0;
    std::memcpy(&attempt, bytes.data(), 4);
    std::memcpy(&raw_seconds, bytes.data() + 4, 8);
    job.attempt = attempt;
    // RFC 3339 has four-digit years: keep the instant within 0001-01-01 .. 9999-12-31.
    const auto first = sys_days{year{1} / 1 / 1}.time_since_epoch().count() * 86400;
    const auto last = sys_days{year{9999} / 12 / 31}.time_since_epoch().count() * 86400 + 86399;
    const auto span = static_cast<std::uint64_t>(last - first) + 1;
    job.scheduled_for =
        sys_seconds{seconds{first + static_cast<std::int64_t>(static_cast<std::uint64_t>(raw_seconds) % span)}};
    job.job_id = std::string(bytes.substr(12, 36));
    job.provider = std::string(bytes.substr(48));
    if (job.attempt < 1 || !canonical_uuid(job.job_id) || !marquee::domain::is_valid_provider_name(job.provider))
        return;
    check_round_trip(job);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    // Bodies start with '{' (or junk); a 0x01 first byte marks a field-by-field job instead.
    if (!input.empty() && input.front() == '\x01') {
        check_built(input.substr(1));
        return 0;
    }
    check_body(input);
    return 0;
}
