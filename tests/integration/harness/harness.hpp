#pragma once
// The integration-test harness: the services started by scripts/services.sh (the ctest fixture
// `services`), throw-away databases and vhosts, the real binaries as child processes, HTTP and SQL
// probes, and waiting on observable state instead of sleeping.
//
// Environment (set by tests/CMakeLists.txt): MARQUEE_TEST_SERVICES (the services.sh DIR),
// MARQUEE_BIN_DIR (where marquee-* binaries are), MARQUEE_SOURCE_DIR (the source tree).
//
// Mind the name: inside namespace marquee, `testing::` means this namespace; write ::testing:: for
// GoogleTest's.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace marquee::testing {

using namespace std::chrono_literals;

/// The running test services, read from $MARQUEE_TEST_SERVICES/env (DATABASE_URL and AMQP_URL
/// from the process environment when MARQUEE_TEST_SERVICES is unset).
struct service_settings {
    std::filesystem::path dir;  // empty when taken from the environment
    std::string database_url;   // superuser, database marquee
    std::string amqp_url;       // administrator, vhost /
    std::string amqp_user;
    std::string amqp_password;
    std::uint16_t amqp_port = 0;
    std::uint16_t pg_port = 0;
    std::string rabbitmq_ctl;                   // executable talking to the test node
    std::map<std::string, std::string> values;  // every KEY=VALUE of the env file
};

/// Loaded once. Throws std::runtime_error when the services are not configured.
const service_settings& services();

/// MARQUEE_BIN_DIR (default "bin" next to the test binary's directory's parent).
std::filesystem::path bin_dir();
/// MARQUEE_SOURCE_DIR; throws when unset.
std::filesystem::path source_dir();
/// Where process logs go: <bin dir>/../test-logs.
std::filesystem::path log_dir();

/// A database of its own for one test, dropped (WITH FORCE) on destruction.
class database {
public:
    /// Creates a uniquely named database; runs marquee-migrate on it when `migrate`. Throws
    /// std::runtime_error when creating or migrating fails (marquee-migrate not built included).
    explicit database(bool migrate = true);
    ~database();
    database(database&& other) noexcept;
    database& operator=(database&& other) noexcept;
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    const std::string& url() const noexcept { return url_; }
    const std::string& name() const noexcept { return name_; }
    /// Whether marquee-migrate ran on it.
    bool migrated() const noexcept { return migrated_; }
    /// Runs marquee-migrate on it now (for a database created without). Throws std::runtime_error
    /// when migrating fails.
    void migrate();
    /// Cuts every client off it, as if the database were gone: no new connections, the existing
    /// ones terminated. Throws pqxx errors.
    void cut_off() const;
    /// Accepts connections again after cut_off(). Throws pqxx errors.
    void restore() const;

private:
    void drop() noexcept;

    std::string name_;
    std::string url_;
    bool migrated_ = false;
};

inline database fresh_database(bool migrate = true) {
    return database(migrate);
}

/// A RabbitMQ vhost of its own for one test (the services' user has full rights), deleted on
/// destruction.
class vhost {
public:
    /// Throws std::runtime_error when rabbitmqctl fails.
    vhost();
    ~vhost();
    vhost(vhost&& other) noexcept;
    vhost& operator=(vhost&& other) noexcept;
    vhost(const vhost&) = delete;
    vhost& operator=(const vhost&) = delete;

    /// amqp://user:password@127.0.0.1:port/<name>
    const std::string& url() const noexcept { return url_; }
    const std::string& name() const noexcept { return name_; }

private:
    void remove() noexcept;

    std::string name_;
    std::string url_;
};

inline vhost fresh_vhost() {
    return vhost();
}

/// Runs the services' rabbitmqctl with `args`; returns its exit code and output.
struct command_result {
    int exit_code = -1;
    std::string output;
};
command_result rabbitmqctl(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 60s);

/// A child process, its stdout and stderr going to a log file under log_dir(). The destructor sends
/// SIGTERM, then SIGKILL after `stop_deadline`, and prints the log's tail when the test failed.
class process {
public:
    /// `binary`: a name looked up in bin_dir(), or a path containing '/'. `env` adds to (and
    /// overrides) this process's environment. Throws std::runtime_error when it cannot be started.
    process(std::string binary, std::vector<std::string> args, std::map<std::string, std::string> env = {},
            std::chrono::milliseconds stop_deadline = 10s);
    ~process();
    process(const process&) = delete;
    process& operator=(const process&) = delete;

    pid_t pid() const noexcept { return pid_; }
    /// True until the child has exited (reaps it when it has).
    bool running();
    /// SIGTERM now; use wait_exit() to collect the result.
    void terminate() noexcept;
    /// SIGKILL and reap.
    void kill9() noexcept;
    /// The exit code (128 + signal number when killed by a signal), or nullopt on timeout.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    std::string log_text() const;
    const std::filesystem::path& log_path() const noexcept { return log_path_; }

private:
    bool reap(int options) noexcept;

    std::string name_;
    std::filesystem::path log_path_;
    std::chrono::milliseconds stop_deadline_;
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
};

/// A loopback TCP port that was free a moment ago.
std::uint16_t free_port();

struct http_response {
    unsigned status = 0;                         // 0 when no response was read
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;                            // what arrived, even when the body was cut short
    std::string error;                           // empty on success; else what went wrong
};

/// One HTTP/1.1 request without a body (a HEAD's response is read without one) with a deadline for
/// the whole exchange. Never throws for network errors: they are in `error` (connection refused,
/// timeout, partial message).
http_response http_request(const std::string& method, const std::string& host, std::uint16_t port,
                           const std::string& target, const std::map<std::string, std::string>& headers = {},
                           std::chrono::milliseconds timeout = 10s);

/// http_request("GET", …).
http_response http_get(const std::string& host, std::uint16_t port, const std::string& target,
                       const std::map<std::string, std::string>& headers = {}, std::chrono::milliseconds timeout = 10s);

/// Polls `predicate` every 50 ms until it returns true or `timeout` passes; then records a test
/// failure naming `what` and returns false. Use as ASSERT_TRUE(wait_until(...)).
[[nodiscard]] bool wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
                              std::string_view what);

/// The first column of the first row of `sql`, nullopt for NULL or no row. Throws pqxx errors.
std::optional<std::string> query_scalar(const std::string& db_url, const std::string& sql);
/// Runs `sql` (no result). Throws pqxx errors.
void execute(const std::string& db_url, const std::string& sql);

}  // namespace marquee::testing
