#pragma once
// The scheduler loop's slot_store and job_sink on PostgreSQL and RabbitMQ.
#include "marquee/amqp/publisher.hpp"
#include "marquee/pg/provider_store.hpp"
#include "scheduler_loop.hpp"

#include <optional>

namespace marquee::scheduler {

class pg_slot_store final : public slot_store {
public:
    /// `register_first`: a provider to upsert before the first successful listing (the "default"
    /// provider from PROVIDER_URL), retried with the listing until the database answers.
    explicit pg_slot_store(pg::provider_store& store, std::optional<domain::provider> register_first = {});

    std::vector<domain::provider> enabled_providers() override;
    bool claim(const std::string& provider, std::chrono::sys_seconds slot) override;
    void mark_published(const std::string& provider, std::chrono::sys_seconds slot) override;
    void release(const std::string& provider, std::chrono::sys_seconds slot) override;

private:
    pg::provider_store& store_;
    std::optional<domain::provider> register_first_;
};

class amqp_job_sink final : public job_sink {
public:
    /// Each job is retried (reconnecting) for at most `publish_deadline` before the loop gives up
    /// on this attempt and retries the slot later.
    amqp_job_sink(amqp::publisher& publisher, std::chrono::milliseconds publish_deadline);

    void publish(const jobs::fetch_job& job, std::stop_token stop) override;
    void idle() noexcept override;

private:
    amqp::publisher& publisher_;
    std::chrono::milliseconds publish_deadline_;
};

}  // namespace marquee::scheduler
