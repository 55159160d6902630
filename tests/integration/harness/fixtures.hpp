#pragma once
// Fixtures many integration tests share: the provider mock as a running process, RabbitMQ queue
// depths, and a fingerprint of what an ingestion leaves in the database.
#include "harness/harness.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace marquee::testing {

/// marquee-provider-mock serving the feeds in `feed_dir` on a free loopback port, up when the
/// constructor returns (throws std::runtime_error otherwise).
class provider_mock {
public:
    explicit provider_mock(const std::filesystem::path& feed_dir, std::vector<std::string> extra_args = {});

    std::uint16_t port() const noexcept { return port_; }
    /// http://127.0.0.1:<port><path>
    std::string url(const std::string& path = "/api/events") const;
    /// GET of a /_control/... target; true on 200.
    bool control(const std::string& target) const;
    process& proc() noexcept { return *process_; }

private:
    std::uint16_t port_ = 0;
    std::unique_ptr<process> process_;
};

/// Messages in each queue of the vhost (ready and unacknowledged), by queue name; empty when
/// rabbitmqctl fails.
std::map<std::string, long> queue_depths(const vhost& vh);

/// Restarts the services' PostgreSQL (pg_ctl restart -m fast) the way scripts/services.sh runs
/// it, so that `services.sh stop` still finds it; every session is cut.
command_result restart_postgres();

/// What ingestions left behind (events, zones, history), independent of timestamps and run ids:
/// equal fingerprints mean equal stored data.
std::string database_fingerprint(const std::string& db_url);

}  // namespace marquee::testing
