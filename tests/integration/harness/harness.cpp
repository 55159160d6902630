#include "harness/harness.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/url.hpp>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace marquee::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string getenv_or(const char* name, std::string fallback = {}) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

// A name no other test, run or concurrent harness will pick: pid, a counter and a random part.
std::string unique_suffix() {
    static std::atomic<unsigned> counter{0};
    static const auto random_part = [] {
        std::random_device device;
        return fmt::format("{:06x}", device() & 0xffffffU);
    }();
    return fmt::format("{}_{}_{}", ::getpid(), counter.fetch_add(1), random_part);
}

std::string current_test_name() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    if (info == nullptr) return "harness";
    std::string name = fmt::format("{}.{}", info->test_suite_name(), info->name());
    for (auto& c : name)
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '_' && c != '-') c = '_';
    return name;
}

std::map<std::string, std::string> read_env_file(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error(fmt::format("cannot read {} (did the services fixture run?)", file.string()));
    std::map<std::string, std::string> values;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line.front() == '#') continue;
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string value = line.substr(eq + 1);
        if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') && value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        values[line.substr(0, eq)] = value;
    }
    return values;
}

std::uint16_t to_port(const std::string& text) {
    if (text.empty()) return 0;
    return static_cast<std::uint16_t>(std::stoul(text));
}

std::string tail_of(const std::string& text, std::size_t lines) {
    std::size_t pos = text.size();
    while (lines-- > 0 && pos > 0) {
        pos = text.rfind('\n', pos - 1);
        if (pos == std::string::npos) return text;
    }
    return text.substr(pos);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// services and paths

const service_settings& services() {
    static const service_settings settings = [] {
        service_settings s;
        const auto dir = getenv_or("MARQUEE_TEST_SERVICES");
        if (!dir.empty()) {
            s.dir = dir;
            s.values = read_env_file(s.dir / "env");
        } else {
            for (const char* key :
                 {"DATABASE_URL", "AMQP_URL", "AMQP_PORT", "AMQP_USER", "AMQP_PASSWORD", "PGPORT", "RABBITMQ_CTL"})
                if (auto v = getenv_or(key); !v.empty()) s.values[key] = v;
        }
        auto value = [&](const char* key) {
            auto found = s.values.find(key);
            return found == s.values.end() ? std::string() : found->second;
        };
        s.database_url = value("DATABASE_URL");
        s.amqp_url = value("AMQP_URL");
        s.amqp_user = value("AMQP_USER");
        s.amqp_password = value("AMQP_PASSWORD");
        s.amqp_port = to_port(value("AMQP_PORT"));
        s.pg_port = to_port(value("PGPORT"));
        s.rabbitmq_ctl = value("RABBITMQ_CTL");
        if (s.database_url.empty() || s.amqp_url.empty())
            throw std::runtime_error(
                "test services not configured: set MARQUEE_TEST_SERVICES to a scripts/services.sh DIR "
                "(ctest does), or DATABASE_URL and AMQP_URL");
        return s;
    }();
    return settings;
}

std::filesystem::path bin_dir() {
    auto dir = getenv_or("MARQUEE_BIN_DIR");
    if (dir.empty()) throw std::runtime_error("MARQUEE_BIN_DIR is not set (ctest sets it)");
    return dir;
}

std::filesystem::path source_dir() {
    auto dir = getenv_or("MARQUEE_SOURCE_DIR");
    if (dir.empty()) throw std::runtime_error("MARQUEE_SOURCE_DIR is not set (ctest sets it)");
    return dir;
}

std::filesystem::path log_dir() {
    auto dir = bin_dir().parent_path() / "test-logs";
    std::filesystem::create_directories(dir);
    return dir;
}

// ---------------------------------------------------------------------------------------------------
// database

database::database(bool migrate_now) : name_("marquee_test_" + unique_suffix()) {
    const auto& admin_url = services().database_url;
    {
        pqxx::connection connection(admin_url);
        pqxx::nontransaction tx(connection);
        tx.exec0("CREATE DATABASE " + tx.quote_name(name_));
    }
    boost::urls::url url(admin_url);
    url.set_path("/" + name_);
    url_ = std::string(url.buffer());
    if (!migrate_now) return;
    try {
        this->migrate();
    } catch (...) {
        drop();
        throw;
    }
}

void database::migrate() {
    // Not built is a failure like any other: a test never runs against a schema of its own making.
    process migrator("marquee-migrate", {"--database-url", url_},
                     {{"MIGRATIONS_DIR", (source_dir() / "migrations").string()}});
    auto code = migrator.wait_exit(120s);
    if (code != 0)
        throw std::runtime_error(fmt::format("marquee-migrate on {} {}:\n{}", name_,
                                             code ? fmt::format("exited with {}", *code) : "timed out",
                                             migrator.log_text()));
    migrated_ = true;
}

void database::cut_off() const {
    const auto& admin = services().database_url;
    execute(admin, "ALTER DATABASE " + name_ + " ALLOW_CONNECTIONS false");
    execute(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name_ +
                       "' AND pid <> pg_backend_pid()");
}

void database::restore() const {
    execute(services().database_url, "ALTER DATABASE " + name_ + " ALLOW_CONNECTIONS true");
}

database::~database() {
    drop();
}

database::database(database&& other) noexcept
    : name_(std::move(other.name_)), url_(std::move(other.url_)), migrated_(other.migrated_) {
    other.name_.clear();
}

database& database::operator=(database&& other) noexcept {
    if (this != &other) {
        drop();
        name_ = std::move(other.name_);
        url_ = std::move(other.url_);
        migrated_ = other.migrated_;
        other.name_.clear();
    }
    return *this;
}

void database::drop() noexcept {
    if (name_.empty()) return;
    try {
        pqxx::connection connection(services().database_url);
        pqxx::nontransaction tx(connection);
        // FORCE: a binary under test may still hold a connection.
        tx.exec0("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
    } catch (const std::exception& e) {
        std::cerr << "harness: could not drop database " << name_ << ": " << e.what() << '\n';
    }
    name_.clear();
}

// ---------------------------------------------------------------------------------------------------
// vhost

command_result rabbitmqctl(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    const auto& ctl = services().rabbitmq_ctl;
    if (ctl.empty()) throw std::runtime_error("RABBITMQ_CTL is not in the services env file");
    process p(ctl, args);
    command_result result;
    auto code = p.wait_exit(timeout);
    result.exit_code = code.value_or(-1);
    result.output = p.log_text();
    return result;
}

vhost::vhost() : name_("marquee-test-" + unique_suffix()) {
    const auto& s = services();
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"-q", "add_vhost", name_}, {"-q", "set_permissions", "-p", name_, s.amqp_user, ".*", ".*", ".*"}}) {
        auto result = rabbitmqctl(args);
        if (result.exit_code != 0) {
            remove();
            throw std::runtime_error(
                fmt::format("rabbitmqctl {} failed ({}): {}", args[1], result.exit_code, result.output));
        }
    }
    boost::urls::url url(s.amqp_url);
    url.set_encoded_path("/" + name_);  // the name has no characters that need escaping
    url_ = std::string(url.buffer());
}

vhost::~vhost() {
    remove();
}

vhost::vhost(vhost&& other) noexcept : name_(std::move(other.name_)), url_(std::move(other.url_)) {
    other.name_.clear();
}

vhost& vhost::operator=(vhost&& other) noexcept {
    if (this != &other) {
        remove();
        name_ = std::move(other.name_);
        url_ = std::move(other.url_);
        other.name_.clear();
    }
    return *this;
}

void vhost::remove() noexcept {
    if (name_.empty()) return;
    try {
        auto result = rabbitmqctl({"-q", "delete_vhost", name_});
        if (result.exit_code != 0)
            std::cerr << "harness: could not delete vhost " << name_ << ": " << result.output << '\n';
    } catch (const std::exception& e) {
        std::cerr << "harness: could not delete vhost " << name_ << ": " << e.what() << '\n';
    }
    name_.clear();
}

// ---------------------------------------------------------------------------------------------------
// process

process::process(std::string binary, std::vector<std::string> args, std::map<std::string, std::string> env,
                 std::chrono::milliseconds stop_deadline)
    : stop_deadline_(stop_deadline) {
    const std::filesystem::path path =
        binary.find('/') == std::string::npos ? bin_dir() / binary : std::filesystem::path(binary);
    name_ = path.filename();
    if (::access(path.c_str(), X_OK) != 0)
        throw std::runtime_error(fmt::format("{} is not an executable (not built yet?)", path.string()));

    static std::atomic<unsigned> sequence{0};
    log_path_ = log_dir() / fmt::format("{}.{}.{}.log", current_test_name(), name_, sequence.fetch_add(1));

    // The child's environment: ours with `env` laid over it.
    std::map<std::string, std::string> merged;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string_view entry(*e);
        auto eq = entry.find('=');
        if (eq != std::string_view::npos) merged[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
    }
    for (auto& [key, value] : env) merged[key] = value;
    std::vector<std::string> env_strings;
    for (auto& [key, value] : merged) env_strings.push_back(key + "=" + value);

    std::vector<std::string> argv_strings{path.string()};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // Its own process group, so stopping it also stops whatever it started.
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
    const int rc = ::posix_spawn(&pid_, path.c_str(), &actions, &attributes, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (rc != 0) {
        pid_ = -1;
        throw std::runtime_error(fmt::format("cannot start {}: {}", path.string(), std::strerror(rc)));
    }
}

process::~process() {
    if (pid_ <= 0) return;
    if (running()) {
        terminate();
        if (!wait_exit(stop_deadline_)) {
            std::cerr << "harness: " << name_ << " ignored SIGTERM for " << stop_deadline_.count()
                      << " ms; killing it\n";
            kill9();
        }
    }
    if (::testing::Test::HasFailure()) {
        try {
            std::cerr << "---- " << name_ << " log (" << log_path_.string() << "), last lines:\n"
                      << tail_of(log_text(), 40) << "\n----\n";
        } catch (...) {
            // Printing a log must not turn a failing test into a crash.
        }
    }
}

bool process::reap(int options) noexcept {
    if (exit_code_) return true;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, options);
    if (r != pid_) return false;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
}

bool process::running() {
    return !reap(WNOHANG);
}

void process::terminate() noexcept {
    if (!exit_code_) ::kill(-pid_, SIGTERM);
}

void process::kill9() noexcept {
    if (exit_code_) return;
    ::kill(-pid_, SIGKILL);
    reap(0);
}

std::optional<int> process::wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reap(WNOHANG)) {
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(10ms);
    }
    return exit_code_;
}

std::string process::log_text() const {
    std::ifstream in(log_path_, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return std::move(out).str();
}

// ---------------------------------------------------------------------------------------------------
// network

std::uint16_t free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

http_response http_get(const std::string& host, std::uint16_t port, const std::string& target,
                       const std::map<std::string, std::string>& headers, std::chrono::milliseconds timeout) {
    return http_request("GET", host, port, target, headers, timeout);
}

http_response http_request(const std::string& method, const std::string& host, std::uint16_t port,
                           const std::string& target, const std::map<std::string, std::string>& headers,
                           std::chrono::milliseconds timeout) {
    http_response result;
    asio::io_context io;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

    auto exchange = [&]() -> asio::awaitable<void> {
        beast::tcp_stream stream(io);
        asio::ip::tcp::resolver resolver(io);
        auto [resolve_ec, endpoints] = co_await resolver.async_resolve(host, std::to_string(port), use_tuple);
        if (resolve_ec) {
            result.error = "resolve: " + resolve_ec.message();
            co_return;
        }
        stream.expires_at(deadline);
        if (auto [ec, ep] = co_await stream.async_connect(endpoints, use_tuple); ec) {
            result.error = "connect: " + ec.message();
            co_return;
        }
        http::request<http::empty_body> req;
        req.method_string(method);
        req.target(target);
        req.version(11);
        req.set(http::field::host, fmt::format("{}:{}", host, port));
        req.set(http::field::user_agent, "marquee-integration-tests");
        for (const auto& [name, value] : headers) req.set(name, value);
        stream.expires_at(deadline);
        if (auto [ec, n] = co_await http::async_write(stream, req, use_tuple); ec) {
            result.error = "write: " + ec.message();
            co_return;
        }
        beast::flat_buffer buffer;
        http::response_parser<http::string_body> parser;
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());
        // A HEAD response has a Content-Length but no body.
        parser.skip(method == "HEAD");
        stream.expires_at(deadline);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
        if (parser.is_header_done()) {
            const auto& res = parser.get();
            result.status = res.result_int();
            for (const auto& field : res) {
                std::string name(field.name_string());
                for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                result.headers[name] = std::string(field.value());
            }
        }
        result.body = parser.get().body();
        if (ec) result.error = "read: " + ec.message();
        beast::error_code ignored;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    };
    asio::co_spawn(io, exchange(), [&](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                result.error = ex.what();
            }
        }
    });
    io.run();
    return result;
}

bool wait_until(const std::function<bool()>& predicate, std::chrono::milliseconds timeout, std::string_view what) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (predicate()) return true;
        if (std::chrono::steady_clock::now() >= deadline) break;
        std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "timed out after " << timeout.count() << " ms waiting for " << what;
    return false;
}

// ---------------------------------------------------------------------------------------------------
// SQL

std::optional<std::string> query_scalar(const std::string& db_url, const std::string& sql) {
    pqxx::connection connection(db_url);
    pqxx::nontransaction tx(connection);
    auto rows = tx.exec(sql);
    if (rows.empty() || rows[0].empty() || rows[0][0].is_null()) return std::nullopt;
    return std::string(rows[0][0].c_str());
}

void execute(const std::string& db_url, const std::string& sql) {
    pqxx::connection connection(db_url);
    pqxx::nontransaction tx(connection);
    tx.exec(sql);
}

}  // namespace marquee::testing
