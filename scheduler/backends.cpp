#include "backends.hpp"

#include "marquee/amqp/topology.hpp"
#include "marquee/log/log.hpp"

#include <algorithm>

namespace marquee::scheduler {

pg_slot_store::pg_slot_store(pg::provider_store& store, std::optional<domain::provider> register_first)
    : store_(store), register_first_(std::move(register_first)) {}

std::vector<domain::provider> pg_slot_store::enabled_providers() {
    if (register_first_) {
        store_.upsert(*register_first_);
        log::info("provider {}: registered from the settings ({})", register_first_->name, register_first_->url);
        register_first_.reset();
    }
    auto providers = store_.list();
    std::erase_if(providers, [](const domain::provider& p) { return !p.enabled; });
    return providers;
}

domain::slot_claims pg_slot_store::claim_all(std::span<const domain::provider_slot> slots) {
    return store_.claim_slots(slots);
}

void pg_slot_store::mark_all_published(std::span<const domain::provider_slot> slots) {
    store_.mark_slots_published(slots);
}

void pg_slot_store::release_all(std::span<const domain::provider_slot> slots) {
    store_.release_slots(slots);
}

amqp_job_sink::amqp_job_sink(amqp::publisher& publisher, std::chrono::milliseconds publish_deadline)
    : publisher_(publisher), publish_deadline_(publish_deadline) {}

std::vector<std::optional<std::string>> amqp_job_sink::publish_all(std::span<const jobs::fetch_job> jobs,
                                                                   std::stop_token stop) {
    std::vector<amqp::outgoing_message> messages;
    messages.reserve(jobs.size());
    for (const auto& job : jobs) messages.push_back({jobs::to_json(job), {.expiration = {}, .message_id = job.job_id}});
    return publisher_.publish_all_with_retry(amqp::topology::exchange, amqp::topology::jobs_routing_key, messages,
                                             publish_deadline_, stop);
}

void amqp_job_sink::idle() noexcept {
    publisher_.keep_alive();
}

}  // namespace marquee::scheduler
