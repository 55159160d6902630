// The one way marquee opens PostgreSQL connections (pg::connect): TCP keepalives, so a vanished
// peer is noticed in about a minute instead of two hours (a dead worker's advisory lock is freed),
// and a statement timeout.
#include "harness/harness.hpp"
#include "marquee/pg/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

namespace mt = marquee::testing;

namespace {

int socket_option(int fd, int level, int name) {
    int value = -1;
    socklen_t length = sizeof value;
    EXPECT_EQ(::getsockopt(fd, level, name, &value, &length), 0);
    return value;
}

}  // namespace

TEST(pg_connection, sets_tcp_keepalives_and_a_statement_timeout) {
    auto db = mt::fresh_database(false);
    auto connection = marquee::pg::connect(db.url(), {.application_name = "keepalive-test"});
    int fd = connection->sock();
    ASSERT_GE(fd, 0);
    EXPECT_EQ(socket_option(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    EXPECT_EQ(socket_option(fd, IPPROTO_TCP, TCP_KEEPIDLE), 30);
    EXPECT_EQ(socket_option(fd, IPPROTO_TCP, TCP_KEEPINTVL), 10);
    EXPECT_EQ(socket_option(fd, IPPROTO_TCP, TCP_KEEPCNT), 3);

    pqxx::nontransaction tx(*connection);
    EXPECT_EQ(tx.exec1("SHOW statement_timeout")[0].as<std::string>(), "10min");
    EXPECT_EQ(tx.exec1("SHOW application_name")[0].as<std::string>(), "keepalive-test");
}
