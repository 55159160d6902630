#pragma once
// Naive wall-clock date-times as providers write them ("2021-06-30T21:00:00"), and their meaning
// as instants once a provider's time zone is known.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace marquee::time {

/// A point on the UTC time line, microsecond precision.
using instant = std::chrono::sys_time<std::chrono::microseconds>;

struct local_datetime {
    int year = 1970;
    unsigned month = 1;
    unsigned day = 1;
    unsigned hour = 0;
    unsigned minute = 0;
    unsigned second = 0;

    friend auto operator<=>(const local_datetime&, const local_datetime&) = default;
};

/// Parses exactly "YYYY-MM-DDTHH:MM:SS" and checks the calendar (2021-09-31 and 25:00:00 are
/// rejected). Returns nullopt on any deviation.
std::optional<local_datetime> parse_local_datetime(std::string_view text) noexcept;

/// Whether marquee can store and serve it: years 0001 to 9999, what PostgreSQL's timestamp and
/// the four-digit formats hold (year 0000 parses, but PostgreSQL has no year zero).
bool is_storable(const local_datetime& t) noexcept;
/// The same for an instant: from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z. A storable
/// wall-clock time can leave this range once its time zone is applied (9999-12-31T23:00:00 in
/// New York is in the year 10000 UTC).
bool is_storable(instant t) noexcept;

/// "YYYY-MM-DD".
std::string format_date(const local_datetime& t);
/// "HH:MM:SS".
std::string format_time(const local_datetime& t);
/// "YYYY-MM-DD HH:MM:SS", the text form PostgreSQL reads as a timestamp.
void append_sql_timestamp(std::string& out, const local_datetime& t);

/// A provider's time zone, resolved once from its IANA name.
class zone {
public:
    /// Throws marquee::config_error when the name is unknown to the system tz database.
    explicit zone(std::string_view iana_name);
    const std::string& name() const noexcept { return name_; }
    /// The instant a wall-clock time denotes in this zone. In a DST fold the earlier instant is
    /// chosen; a time in a DST gap maps to the instant the gap starts (see docs/adr/0002).
    instant to_instant(const local_datetime& t) const;

private:
    std::string name_;
    const date::time_zone* tz_;
};

/// Seconds since the Unix epoch of a wall-clock time read as UTC.
std::chrono::sys_seconds as_utc(const local_datetime& t) noexcept;

/// Parses an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"; a missing offset means
/// UTC, as the API contract says. 'T'/'t'/' ' separate date and time; 'Z'/'z' is UTC. Fractions
/// beyond microseconds are truncated. Returns nullopt for anything else (including leap seconds).
std::optional<instant> parse_rfc3339(std::string_view text) noexcept;

/// "YYYY-MM-DDTHH:MM:SSZ", with ".ffffff" before the 'Z' when the instant has a fraction of a
/// second; what parse_rfc3339 reads back to the same instant. `t` must be storable.
std::string format_rfc3339(instant t);

}  // namespace marquee::time
