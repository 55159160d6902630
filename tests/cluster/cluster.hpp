#pragma once
// The cluster scripts/cluster.sh runs under $MARQUEE_CLUSTER_DIR (the ctest fixture `cluster`
// starts it): its addresses, its members' processes, and the faults the cluster test inflicts —
// kill -9 of a member, a member stopped or started through the script — plus what HAProxy and
// RabbitMQ say about them.
#include "harness/harness.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace marquee::testing {

class cluster {
public:
    /// Reads $MARQUEE_CLUSTER_DIR/env. Throws std::runtime_error when it cannot.
    cluster();

    const std::filesystem::path& dir() const noexcept { return dir_; }
    /// A value of DIR/env. Throws std::runtime_error when absent.
    const std::string& value(const std::string& key) const;
    std::uint16_t port(const std::string& key) const;
    int number(const std::string& key) const;

    /// The member's pid while it runs (DIR/run/NAME.pid naming a live process with its tag).
    std::optional<pid_t> pid(const std::string& member) const;
    /// SIGKILL to a running member, then waits until it is gone. Throws std::runtime_error when it
    /// does not run or does not die within 10 s.
    void kill9(const std::string& member) const;
    /// scripts/cluster.sh start-member / stop-member DIR NAME (start waits until the member is ready).
    command_result start_member(const std::string& member) const;
    command_result stop_member(const std::string& member) const;

    /// HAProxy's statistics (its CSV): "proxy/server" (server also FRONTEND or BACKEND) → column →
    /// value; empty when HAProxy does not answer.
    std::map<std::string, std::map<std::string, std::string>> haproxy_stats() const;
    /// HAProxy's servers, "backend/server" → status ("UP", "DOWN", "UP 1/2", ...).
    std::map<std::string, std::string> haproxy_servers() const;

    /// rabbitmqctl of node `node` (1-based).
    command_result rabbitmqctl(int node, const std::vector<std::string>& args) const;

private:
    std::filesystem::path dir_;
    std::map<std::string, std::string> values_;
};

/// Among `candidates`, the process holding an established TCP connection to 127.0.0.1:`port`
/// (read from /proc: its socket inodes against /proc/net/tcp).
std::optional<pid_t> process_connected_to(std::uint16_t port, const std::vector<pid_t>& candidates);

}  // namespace marquee::testing
