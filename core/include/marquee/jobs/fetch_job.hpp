#pragma once
// The message the scheduler publishes and the worker consumes (docs/CONTRACTS.md):
//   {"job_id":"<uuid v4>","provider":"<name>","scheduled_for":"2024-03-10T12:00:00Z","attempt":1}
// scheduled_for is the cron slot, RFC 3339 in UTC with seconds precision. attempt counts deliveries
// of the same job through the retry layer, starting at 1; the job_id stays the same across attempts.
#include <chrono>
#include <string>
#include <string_view>
#include <variant>

namespace marquee::jobs {

struct fetch_job {
    std::string job_id;
    std::string provider;
    std::chrono::sys_seconds scheduled_for{};
    int attempt = 1;

    friend bool operator==(const fetch_job&, const fetch_job&) = default;
};

/// Why a message body is not a fetch job, e.g. "scheduled_for: '2024-13-01T00:00:00Z' is not ...".
struct parse_error {
    std::string message;
};

using parse_result = std::variant<fetch_job, parse_error>;

/// A first attempt for (provider, slot) with a fresh random (v4) job id.
fetch_job make_fetch_job(std::string provider, std::chrono::sys_seconds slot);

/// The message body. Does not validate; parse_fetch_job(to_json(j)) == j for every valid job.
std::string to_json(const fetch_job& job);

/// Reads a message body. Bad input is an ordinary outcome (a poison message), reported as a value.
/// Requires job_id (canonical 36-character UUID text), provider (a valid provider name) and
/// scheduled_for (RFC 3339, whole seconds; no offset means UTC); attempt defaults to 1 when absent and
/// must be a positive integer. Unknown members are ignored so producers may add fields.
parse_result parse_fetch_job(std::string_view json);

/// "YYYY-MM-DDTHH:MM:SSZ".
std::string format_rfc3339_utc(std::chrono::sys_seconds t);

}  // namespace marquee::jobs
