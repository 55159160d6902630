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

bool pg_slot_store::claim(const std::string& provider, std::chrono::sys_seconds slot) {
    return store_.claim_slot(provider, slot);
}

void pg_slot_store::mark_published(const std::string& provider, std::chrono::sys_seconds slot) {
    store_.mark_published(provider, slot);
}

void pg_slot_store::release(const std::string& provider, std::chrono::sys_seconds slot) {
    store_.release_slot(provider, slot);
}

amqp_job_sink::amqp_job_sink(amqp::publisher& publisher, std::chrono::milliseconds publish_deadline)
    : publisher_(publisher), publish_deadline_(publish_deadline) {}

void amqp_job_sink::publish(const jobs::fetch_job& job, std::stop_token stop) {
    amqp::publish_options options;
    options.message_id = job.job_id;
    publisher_.publish_with_retry(amqp::topology::exchange, amqp::topology::jobs_routing_key, jobs::to_json(job),
                                  publish_deadline_, options, stop);
}

void amqp_job_sink::idle() noexcept {
    publisher_.keep_alive();
}

}  // namespace marquee::scheduler
