// The harness itself: services reachable, throw-away databases and vhosts, child processes.
#include "harness/harness.hpp"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/time.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>

namespace mt = marquee::testing;
using namespace std::chrono_literals;

namespace {

bool accepts_tcp(std::uint16_t port) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    boost::system::error_code ec;
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    return !ec;
}

bool vhost_listed(const std::string& name) {
    auto result = mt::rabbitmqctl({"-q", "list_vhosts", "name"});
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return result.output.find(name + "\n") != std::string::npos;
}

// Logs in to `vhost` with the services' user; true when the broker accepts the login.
bool amqp_login(const std::string& vhost) {
    const auto& s = mt::services();
    std::unique_ptr<amqp_connection_state_t_, decltype(&amqp_destroy_connection)> connection(amqp_new_connection(),
                                                                                             &amqp_destroy_connection);
    auto* socket = amqp_tcp_socket_new(connection.get());
    if (socket == nullptr) return false;
    timeval timeout{5, 0};
    if (amqp_socket_open_noblock(socket, "127.0.0.1", s.amqp_port, &timeout) != AMQP_STATUS_OK) return false;
    amqp_set_handshake_timeout(connection.get(), &timeout);
    amqp_set_rpc_timeout(connection.get(), &timeout);
    auto reply = amqp_login(connection.get(), vhost.c_str(), 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, s.amqp_user.c_str(),
                            s.amqp_password.c_str());
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) return false;
    amqp_connection_close(connection.get(), AMQP_REPLY_SUCCESS);
    return true;
}

}  // namespace

TEST(harness, services_accept_connections) {
    const auto& s = mt::services();
    EXPECT_TRUE(s.database_url.starts_with("postgresql://"));
    EXPECT_TRUE(s.amqp_url.starts_with("amqp://"));
    EXPECT_TRUE(accepts_tcp(s.pg_port));
    EXPECT_TRUE(accepts_tcp(s.amqp_port));
    EXPECT_EQ(mt::query_scalar(s.database_url, "SELECT current_database()"), "marquee");
}

TEST(harness, fresh_database_exists_until_destroyed) {
    std::string name;
    {
        auto db = mt::fresh_database(false);
        name = db.name();
        EXPECT_EQ(mt::query_scalar(db.url(), "SELECT current_database()"), name);
    }
    EXPECT_EQ(mt::query_scalar(mt::services().database_url,
                               "SELECT count(*) FROM pg_database WHERE datname = '" + name + "'"),
              "0");
}

TEST(harness, fresh_database_is_migrated) {
    auto db = mt::fresh_database();
    ASSERT_TRUE(db.migrated());
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT count(*) FROM data_version"), "1");
    EXPECT_EQ(mt::query_scalar(db.url(), "SELECT to_regclass('public.events') IS NOT NULL"), "t");
}

TEST(harness, fresh_vhost_accepts_logins_until_destroyed) {
    std::string name;
    {
        auto vhost = mt::fresh_vhost();
        name = vhost.name();
        EXPECT_TRUE(vhost.url().ends_with("/" + name)) << vhost.url();
        EXPECT_TRUE(vhost_listed(name));
        EXPECT_TRUE(amqp_login(name));
    }
    EXPECT_FALSE(vhost_listed(name));
    EXPECT_FALSE(amqp_login(name));
}

TEST(harness, process_reports_exit_code_and_output) {
    mt::process child("/bin/sh", {"-c", "echo \"hello $GREETING\"; echo oops >&2; exit 3"}, {{"GREETING", "world"}});
    EXPECT_EQ(child.wait_exit(10s), 3);
    EXPECT_FALSE(child.running());
    const auto log = child.log_text();
    EXPECT_NE(log.find("hello world"), std::string::npos) << log;
    EXPECT_NE(log.find("oops"), std::string::npos) << log;
}

TEST(harness, process_can_be_terminated_or_killed) {
    mt::process gentle("/bin/sleep", {"600"});
    EXPECT_TRUE(gentle.running());
    EXPECT_EQ(gentle.wait_exit(50ms), std::nullopt);
    gentle.terminate();
    EXPECT_EQ(gentle.wait_exit(10s), 128 + SIGTERM);

    mt::process stubborn("/bin/sh", {"-c", "trap '' TERM; while :; do sleep 1; done"});
    stubborn.kill9();
    EXPECT_EQ(stubborn.wait_exit(1s), 128 + SIGKILL);
}

TEST(harness, process_destructor_kills_what_ignores_sigterm) {
    pid_t pid = 0;
    {
        mt::process stubborn("/bin/sh", {"-c", "trap '' TERM; echo ready; while :; do sleep 1; done"}, {}, 200ms);
        pid = stubborn.pid();
        ASSERT_TRUE(mt::wait_until([&] { return stubborn.log_text().find("ready") != std::string::npos; }, 10s,
                                   "the child to install its trap"));
    }
    EXPECT_EQ(::kill(pid, 0), -1);
}

TEST(harness, free_port_can_be_bound) {
    const auto port = mt::free_port();
    EXPECT_GT(port, 0);
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io);
    boost::system::error_code ec;
    acceptor.open(boost::asio::ip::tcp::v4(), ec);
    acceptor.bind({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    EXPECT_FALSE(ec) << ec.message();
}

TEST(harness, http_get_reports_refused_connections) {
    auto response = mt::http_get("127.0.0.1", mt::free_port(), "/");
    EXPECT_EQ(response.status, 0u);
    EXPECT_FALSE(response.error.empty());
}
