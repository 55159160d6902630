#include "marquee/amqp/topology.hpp"

#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "rabbitmq.hpp"

#include <amqp_framing.h>
#include <fmt/format.h>

#include <cstdint>
#include <variant>
#include <vector>

namespace marquee::amqp::topology {
namespace {

constexpr int precondition_failed = 406;

struct argument {
    std::string_view key;
    std::variant<std::string_view, std::int64_t> value;
};

amqp_table_entry_t entry(const argument& a) {
    amqp_table_entry_t e{};
    e.key = detail::bytes(a.key);
    if (auto* text = std::get_if<std::string_view>(&a.value)) {
        e.value.kind = AMQP_FIELD_KIND_UTF8;
        e.value.value.bytes = detail::bytes(*text);
    } else {
        e.value.kind = AMQP_FIELD_KIND_I64;
        e.value.value.i64 = std::get<std::int64_t>(a.value);
    }
    return e;
}

void declare_exchange(connection& conn, std::string_view name, std::string_view type) {
    amqp_exchange_declare(conn.native(), connection::channel, detail::bytes(name), detail::bytes(type), 0, 1, 0, 0,
                          amqp_empty_table);
    conn.check_last_rpc(fmt::format("amqp: declaring exchange {}", name));
}

// True when the broker refused the declaration because the queue exists with other arguments.
bool refused_as_inequivalent(const amqp_rpc_reply_t& reply) {
    if (reply.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION || reply.reply.id != AMQP_CHANNEL_CLOSE_METHOD) return false;
    return static_cast<const amqp_channel_close_t*>(reply.reply.decoded)->reply_code == precondition_failed;
}

void declare_queue(connection& conn, std::string_view name, std::vector<argument> arguments) {
    arguments.push_back({"x-queue-type", "quorum"});
    std::vector<amqp_table_entry_t> entries;
    entries.reserve(arguments.size());
    for (const auto& a : arguments) entries.push_back(entry(a));
    amqp_table_t table{static_cast<int>(entries.size()), entries.data()};
    amqp_queue_declare(conn.native(), connection::channel, detail::bytes(name), 0, 1, 0, 0, table);
    auto reply = amqp_get_rpc_reply(conn.native());
    if (refused_as_inequivalent(reply)) {
        auto* close = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
        log::warn("amqp: queue {} exists with other arguments, using it as it is ({})", name,
                  detail::to_string(close->reply_text));
        amqp_channel_close_ok_t ok{};
        conn.check_status(amqp_send_method(conn.native(), connection::channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok),
                          "amqp: answering channel.close");
        conn.reopen_channel();
        amqp_queue_declare(conn.native(), connection::channel, detail::bytes(name), 1, 0, 0, 0, amqp_empty_table);
    }
    conn.check_last_rpc(fmt::format("amqp: declaring queue {}", name));
}

void bind_queue(connection& conn, std::string_view queue, std::string_view exchange_name, std::string_view key) {
    amqp_queue_bind(conn.native(), connection::channel, detail::bytes(queue), detail::bytes(exchange_name),
                    detail::bytes(key), amqp_empty_table);
    conn.check_last_rpc(fmt::format("amqp: binding {} to {} with key '{}'", queue, exchange_name, key));
}

}  // namespace

void declare(connection& conn) {
    declare_exchange(conn, exchange, "direct");
    declare_exchange(conn, dead_letter_exchange, "fanout");
    // The delivery limit is a backstop: a message redelivered that often (every worker that took
    // it died) goes to the dead-letter queue instead of killing the next worker.
    declare_queue(conn, jobs_queue,
                  {{"x-dead-letter-exchange", dead_letter_exchange}, {"x-delivery-limit", jobs_delivery_limit}});
    declare_queue(conn, retry_queue,
                  {{"x-dead-letter-exchange", exchange}, {"x-dead-letter-routing-key", jobs_routing_key}});
    declare_queue(conn, dead_queue, {});
    bind_queue(conn, jobs_queue, exchange, jobs_routing_key);
    bind_queue(conn, retry_queue, exchange, retry_routing_key);
    bind_queue(conn, dead_queue, dead_letter_exchange, "");
}

queue_state probe(connection& conn, std::string_view queue) {
    auto* ok = amqp_queue_declare(conn.native(), connection::channel, detail::bytes(queue), /*passive=*/1, 0, 0, 0,
                                  amqp_empty_table);
    conn.check_last_rpc(fmt::format("amqp: reading the depth of queue {}", queue));
    queue_state state{ok->message_count, ok->consumer_count};
    amqp_maybe_release_buffers(conn.native());
    return state;
}

}  // namespace marquee::amqp::topology
