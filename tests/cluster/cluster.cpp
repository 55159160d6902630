#include "cluster.hpp"

#include "harness/fixtures.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace marquee::testing {
namespace {

std::map<std::string, std::string> read_values(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error(fmt::format("cannot read {} (did the cluster fixture run?)", file.string()));
    std::map<std::string, std::string> values;
    std::string line;
    while (std::getline(in, line))
        if (auto eq = line.find('='); eq != std::string::npos) values[line.substr(0, eq)] = line.substr(eq + 1);
    return values;
}

// Whether `pid` is a live process (not a zombie) whose environment has `tag`.
bool carries(pid_t pid, const std::string& tag) {
    std::ifstream stat(fmt::format("/proc/{}/stat", pid));
    std::string text;
    if (!std::getline(stat, text)) return false;
    auto close = text.rfind(')');
    if (close == std::string::npos || close + 2 >= text.size() || text[close + 2] == 'Z') return false;
    std::ifstream environ(fmt::format("/proc/{}/environ", pid), std::ios::binary);
    std::string entry;
    while (std::getline(environ, entry, '\0'))
        if (entry == tag) return true;
    return false;
}

command_result run_script(const std::vector<std::string>& args) {
    process script("/bin/bash", args);
    auto code = script.wait_exit(std::chrono::minutes(5));
    return {code.value_or(-1), script.log_text()};
}

}  // namespace

cluster::cluster() {
    const char* dir = std::getenv("MARQUEE_CLUSTER_DIR");
    if (dir == nullptr || *dir == '\0')
        throw std::runtime_error("MARQUEE_CLUSTER_DIR is not set (ctest sets it; see tests/CMakeLists.txt)");
    dir_ = dir;
    values_ = read_values(dir_ / "env");
}

const std::string& cluster::value(const std::string& key) const {
    auto found = values_.find(key);
    if (found == values_.end()) throw std::runtime_error(fmt::format("no {} in {}/env", key, dir_.string()));
    return found->second;
}

std::uint16_t cluster::port(const std::string& key) const {
    return static_cast<std::uint16_t>(std::stoul(value(key)));
}

int cluster::number(const std::string& key) const {
    return std::stoi(value(key));
}

std::optional<pid_t> cluster::pid(const std::string& member) const {
    std::ifstream in(dir_ / "run" / (member + ".pid"));
    pid_t pid = 0;
    if (!(in >> pid) || pid <= 0) return std::nullopt;
    if (!carries(pid, fmt::format("MARQUEE_CLUSTER={}@{}", member, dir_.string()))) return std::nullopt;
    return pid;
}

void cluster::kill9(const std::string& member) const {
    auto victim = pid(member);
    if (!victim) throw std::runtime_error(member + " does not run");
    ::kill(*victim, SIGKILL);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pid(member)) {
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error(member + " survived SIGKILL");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

command_result cluster::start_member(const std::string& member) const {
    return run_script({(source_dir() / "scripts/cluster.sh").string(), "start-member", dir_.string(), member});
}

command_result cluster::stop_member(const std::string& member) const {
    return run_script({(source_dir() / "scripts/cluster.sh").string(), "stop-member", dir_.string(), member});
}

std::map<std::string, std::map<std::string, std::string>> cluster::haproxy_stats() const {
    std::map<std::string, std::map<std::string, std::string>> stats;
    auto csv = http_get("127.0.0.1", port("LB_STATS_PORT"), "/stats;csv", {}, std::chrono::seconds(2));
    if (csv.status != 200) return stats;
    std::istringstream lines(csv.body);
    std::vector<std::string> columns;
    for (std::string line; std::getline(lines, line);) {
        std::vector<std::string> fields;
        std::istringstream cells(line.starts_with("# ") ? line.substr(2) : line);
        for (std::string cell; std::getline(cells, cell, ',');) fields.push_back(cell);
        if (columns.empty()) {
            columns = std::move(fields);
            continue;
        }
        if (fields.size() < 2) continue;
        auto& row = stats[fields[0] + "/" + fields[1]];
        for (std::size_t i = 2; i < fields.size() && i < columns.size(); ++i) row[columns[i]] = fields[i];
    }
    return stats;
}

std::map<std::string, std::string> cluster::haproxy_servers() const {
    std::map<std::string, std::string> servers;
    for (const auto& [name, row] : haproxy_stats()) {
        if (name.ends_with("/FRONTEND") || name.ends_with("/BACKEND") || name.starts_with("stats/")) continue;
        if (auto status = row.find("status"); status != row.end()) servers[name] = status->second;
    }
    return servers;
}

command_result cluster::rabbitmqctl(int node, const std::vector<std::string>& args) const {
    process ctl(value(fmt::format("RABBITMQ_{}_CTL", node)), args);
    auto code = ctl.wait_exit(std::chrono::seconds(60));
    return {code.value_or(-1), ctl.log_text()};
}

std::optional<pid_t> process_connected_to(std::uint16_t port, const std::vector<pid_t>& candidates) {
    // /proc/net/tcp: "sl local_address rem_address st ... inode", addresses as hex IP:PORT; st 01 is
    // ESTABLISHED; 0100007F is 127.0.0.1.
    std::set<std::string> inodes;
    std::ifstream tcp("/proc/net/tcp");
    std::string line;
    std::getline(tcp, line);
    const auto remote = fmt::format("0100007F:{:04X}", port);
    while (std::getline(tcp, line)) {
        std::istringstream fields(line);
        std::string slot, local, rem, state, queues, timer, retransmits, uid, timeout, inode;
        fields >> slot >> local >> rem >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
        if (rem == remote && state == "01") inodes.insert("socket:[" + inode + "]");
    }
    for (auto pid : candidates) {
        std::error_code ec;
        for (const auto& fd : std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid), ec)) {
            auto target = std::filesystem::read_symlink(fd.path(), ec);
            if (!ec && inodes.contains(target.string())) return pid;
        }
    }
    return std::nullopt;
}

}  // namespace marquee::testing
