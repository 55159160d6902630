#pragma once
// The one exception hierarchy of marquee. Failures that are ordinary outcomes (one bad event in a
// feed, one bad query parameter) are values, not exceptions: see feed::event_outcome and
// search::parse_query.
#include <stdexcept>
#include <string>

namespace marquee {

class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A setting is missing or malformed; executables print it on one line and exit with code 2.
class config_error : public error {
public:
    config_error(std::string setting, const std::string& reason)
        : error(setting + ": " + reason), setting_(std::move(setting)) {}
    const std::string& setting() const noexcept { return setting_; }

private:
    std::string setting_;
};

/// The feed as a whole cannot be read (malformed XML, wrong root element, bad encoding).
/// Permanent: retrying the same bytes gives the same answer.
class feed_error : public error {
public:
    using error::error;
};

/// Fetching a provider feed failed. `transient` says whether a retry may succeed.
class fetch_error : public error {
public:
    fetch_error(const std::string& what, bool transient, int http_status = 0)
        : error(what), transient_(transient), http_status_(http_status) {}
    bool transient() const noexcept { return transient_; }
    int http_status() const noexcept { return http_status_; }

private:
    bool transient_;
    int http_status_;
};

/// PostgreSQL failed; carries the SQLSTATE when the server gave one.
class storage_error : public error {
public:
    storage_error(const std::string& what, std::string sqlstate = {}) : error(what), sqlstate_(std::move(sqlstate)) {}
    const std::string& sqlstate() const noexcept { return sqlstate_; }
    /// A data exception (SQLSTATE class 22) or an integrity constraint violation (class 23): the
    /// data cannot be stored as it is, so retrying the same data cannot help. Connection, resource
    /// and every other error may pass.
    bool is_data_error() const noexcept { return sqlstate_.starts_with("22") || sqlstate_.starts_with("23"); }

private:
    std::string sqlstate_;
};

/// RabbitMQ failed (connection lost, channel closed, publish not confirmed).
class queue_error : public error {
public:
    using error::error;
};

}  // namespace marquee
