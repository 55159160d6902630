#include "harness/fixtures.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cctype>
#include <sstream>
#include <stdexcept>

namespace marquee::testing {

provider_mock::provider_mock(const std::filesystem::path& feed_dir, std::vector<std::string> extra_args)
    : port_(free_port()) {
    std::vector<std::string> args{"--listen", fmt::format("127.0.0.1:{}", port_), "--dir", feed_dir.string()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<process>("marquee-provider-mock", std::move(args));
    if (!wait_until([&] { return control("/_control/stats"); }, 30s, "provider mock up"))
        throw std::runtime_error("marquee-provider-mock did not come up: " + process_->log_text());
}

std::string provider_mock::url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
}

bool provider_mock::control(const std::string& target) const {
    return http_get("127.0.0.1", port_, target).status == 200;
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
