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
    domain::slot_claims claim_all(std::span<const domain::provider_slot> slots) override;
    void mark_all_published(std::span<const domain::provider_slot> slots) override;
    void release_all(std::span<const domain::provider_slot> slots) override;

private:
    pg::provider_store& store_;
    std::optional<domain::provider> register_first_;
};

class amqp_job_sink final : public job_sink {
public:
    /// The jobs of a batch that fail are sent again (reconnecting) for at most `publish_deadline`
    /// before the loop gives up on them and retries their slots later.
    amqp_job_sink(amqp::publisher& publisher, std::chrono::milliseconds publish_deadline);

    std::vector<std::optional<std::string>> publish_all(std::span<const jobs::fetch_job> jobs,
                                                        std::stop_token stop) override;
    void idle() noexcept override;

private:
    amqp::publisher& publisher_;
    std::chrono::milliseconds publish_deadline_;
};

}  // namespace marquee::scheduler
