#include "marquee/jobs/fetch_job.hpp"

#include "marquee/domain/provider.hpp"
#include "marquee/text/utf8.hpp"
#include "marquee/time/local_datetime.hpp"

#include <date/date.h>
#include <fmt/format.h>
#include <boost/json.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <limits>

namespace marquee::jobs {
namespace {

bool is_canonical_uuid(std::string_view text) noexcept {
    if (text.size() != 36) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

const boost::json::string* string_member(const boost::json::object& o, std::string_view key) {
    auto* v = o.if_contains(key);
    return v ? v->if_string() : nullptr;
}

}  // namespace

fetch_job make_fetch_job(std::string provider, std::chrono::sys_seconds slot) {
    // One generator per thread: it holds an open entropy source and is not thread-safe.
    thread_local boost::uuids::random_generator generate;
    return fetch_job{boost::uuids::to_string(generate()), std::move(provider), slot, 1};
}

std::string format_rfc3339_utc(std::chrono::sys_seconds t) {
    return date::format("%Y-%m-%dT%H:%M:%SZ", t);
}

std::string to_json(const fetch_job& job) {
    boost::json::object o;
    o["job_id"] = job.job_id;
    o["provider"] = job.provider;
    o["scheduled_for"] = format_rfc3339_utc(job.scheduled_for);
    o["attempt"] = job.attempt;
    return boost::json::serialize(o);
}

parse_result parse_fetch_job(std::string_view json) {
    boost::system::error_code ec;
    auto value = boost::json::parse(boost::json::string_view(json.data(), json.size()), ec);
    if (ec) return parse_error{fmt::format("not JSON: {}", ec.message())};
    auto* o = value.if_object();
    if (!o) return parse_error{"not a JSON object"};

    fetch_job job;
    auto* id = string_member(*o, "job_id");
    if (!id) return parse_error{"job_id: missing or not a string"};
    if (!is_canonical_uuid(*id)) return parse_error{fmt::format("job_id: {} is not a UUID", text::quoted(*id))};
    job.job_id = std::string(*id);

    auto* provider = string_member(*o, "provider");
    if (!provider) return parse_error{"provider: missing or not a string"};
    if (!domain::is_valid_provider_name(*provider))
        return parse_error{fmt::format("provider: {} is not a valid provider name", text::quoted(*provider))};
    job.provider = std::string(*provider);

    auto* scheduled = string_member(*o, "scheduled_for");
    if (!scheduled) return parse_error{"scheduled_for: missing or not a string"};
    auto instant = time::parse_rfc3339(*scheduled);
    if (!instant || instant->time_since_epoch() % std::chrono::seconds{1} != std::chrono::microseconds{0})
        return parse_error{
            fmt::format("scheduled_for: {} is not an RFC 3339 date-time in whole seconds", text::quoted(*scheduled))};
    job.scheduled_for = std::chrono::time_point_cast<std::chrono::seconds>(*instant);

    if (auto* attempt = o->if_contains("attempt")) {
        auto* n = attempt->if_int64();
        auto* u = attempt->if_uint64();
        std::int64_t v = n ? *n
                         : u && *u <= static_cast<std::uint64_t>(std::numeric_limits<int>::max())
                             ? static_cast<std::int64_t>(*u)
                             : 0;
        if (v < 1 || v > std::numeric_limits<int>::max()) return parse_error{"attempt: not a positive integer"};
        job.attempt = static_cast<int>(v);
    }
    return job;
}

}  // namespace marquee::jobs
