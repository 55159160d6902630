#include "harness/fixtures.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace marquee::testing {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream out;
    out << in.rdbuf();
    return std::move(out).str();
}

void write_file(const std::filesystem::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::filesystem::path provider_samples() {
    return source_dir() / "fixtures" / "provider-samples";
}

std::filesystem::path test_dir(std::string_view what) {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    const auto dir =
        log_dir() / (test == nullptr ? fmt::format("harness.{}", what)
                                     : fmt::format("{}.{}.{}", test->test_suite_name(), test->name(), what));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

std::optional<double> metric_sample(const std::string& exposition, const std::string& series) {
    std::istringstream lines(exposition);
    std::string line;
    while (std::getline(lines, line))
        if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
    return std::nullopt;
}

std::chrono::sys_seconds slot(int minute) {
    return std::chrono::sys_days{std::chrono::year{2024} / 3 / 10} + std::chrono::hours{12} +
           std::chrono::minutes{minute};
}

provider_mock::provider_mock(const std::filesystem::path& feed_dir, std::vector<std::string> extra_args)
    : port_(free_port()) {
    std::vector<std::string> args{"--listen", fmt::format("127.0.0.1:{}", port_), "--dir", feed_dir.string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process_ = provider_mock_process(std::move(args));
    if (!wait_until([&] { return control("/_control/stats"); }, 30s, "provider mock up"))
        throw std::runtime_error("marquee-provider-mock did not come up: " + process_->log_text());
}

std::string provider_mock::url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
}

http_response provider_mock::get(const std::string& target, std::chrono::milliseconds timeout) const {
    return http_get("127.0.0.1", port_, target, {}, timeout);
}

bool provider_mock::control(const std::string& target) const {
    return get(target).status == 200;
}

std::int64_t provider_mock::stat(std::string_view name) const {
    // The stats object is flat but for "served" (keyed by file names, which end in .xml), so a
    // top-level counter's key appears once.
    auto stats = get("/_control/stats");
    if (stats.status != 200) throw std::runtime_error("/_control/stats: " + stats.error);
    const auto key = fmt::format("\"{}\":", name);
    const auto at = stats.body.find(key);
    if (at == std::string::npos) throw std::runtime_error(fmt::format("no {} in {}", name, stats.body));
    std::int64_t value = 0;
    const char* begin = stats.body.data() + at + key.size();
    auto [end, ec] = std::from_chars(begin, stats.body.data() + stats.body.size(), value);
    if (ec != std::errc{} || end == begin) throw std::runtime_error(fmt::format("bad {} in {}", name, stats.body));
    return value;
}

bool provider_mock::hold(unsigned count) const {
    return control(fmt::format("/_control/hold?count={}", count));
}

bool provider_mock::release() const {
    return control("/_control/release");
}

bool provider_mock::wait_held(std::int64_t count, std::chrono::milliseconds timeout) const {
    return wait_until([&] { return stat("held") == count; }, timeout,
                      fmt::format("{} repl{} held by the provider mock", count, count == 1 ? "y" : "ies"));
}

std::unique_ptr<process> provider_mock_process(std::vector<std::string> args) {
    return std::make_unique<process>("marquee-provider-mock", std::move(args));
}

long queue_depth(const vhost& vh, std::string_view queue) {
    auto depths = queue_depths(vh);
    auto found = depths.find(std::string(queue));
    return found == depths.end() ? -1 : found->second;
}

std::map<std::string, long> queue_depths(const vhost& vh) {
    auto listed = rabbitmqctl({"-q", "list_queues", "-p", vh.name(), "name", "messages"});
    std::map<std::string, long> depths;
    if (listed.exit_code != 0) return depths;
    std::istringstream lines(listed.output);
    std::string name;
    std::string count;
    while (lines >> name >> count)
        if (!count.empty() && std::isdigit(static_cast<unsigned char>(count[0]))) depths[name] = std::stol(count);
    return depths;
}

command_result restart_postgres() {
    const auto& values = services().values;
    const auto& data = values.at("PG_DATA");
    const auto pg_root = std::filesystem::path(data).parent_path().string();
    // Where scripts/services.sh finds PostgreSQL 15; as the postgres user when we are root.
    std::vector<std::string> command{"/usr/bin/env",
                                     "-C",
                                     pg_root,
                                     "MARQUEE_SERVICE=postgres@" + values.at("SERVICES_DIR"),
                                     "LC_ALL=C.UTF-8",
                                     "/usr/lib/postgresql/15/bin/pg_ctl",
                                     "restart",
                                     "-D",
                                     data,
                                     "-m",
                                     "fast",
                                     "-w",
                                     "-t",
                                     "60",
                                     "-l",
                                     values.at("PG_LOG")};
    if (::geteuid() == 0) command.insert(command.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
    process p(command.front(), {command.begin() + 1, command.end()});
    return {p.wait_exit(90s).value_or(-1), p.log_text()};
}

std::string replica_url(const std::string& name) {
    const auto& values = services().values;
    auto it = values.find("REPLICA_DATABASE_URL");
    if (it == values.end())
        throw std::runtime_error("the test services run without a streaming replica: start them with PG_REPLICA=1");
    return it->second.substr(0, it->second.rfind('/') + 1) + name;
}

command_result restart_replica() {
    process p("/bin/bash", {(source_dir() / "scripts/services.sh").string(), "restart-replica",
                            services().values.at("SERVICES_DIR")});
    return {p.wait_exit(150s).value_or(-1), p.log_text()};
}

std::string database_fingerprint(const std::string& db_url) {
    return query_scalar(db_url,
                        "SELECT md5(string_agg(id::text || title || sell_mode || start_local::text || end_local::text "
                        "|| coalesce(min_price::text, '') || coalesce(max_price::text, '') || content_hash::text || "
                        "ever_online::text, ',' ORDER BY id)) || ':' || (SELECT md5(string_agg(event::text || position "
                        "|| zone_id || price::text || coalesce(capacity::text, ''), ',' ORDER BY event, position)) "
                        "FROM zones) || ':' || (SELECT count(*) FROM event_history) FROM events")
        .value_or("empty");
}

}  // namespace marquee::testing
