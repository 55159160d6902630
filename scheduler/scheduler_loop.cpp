#include "scheduler_loop.hpp"

#include "marquee/error.hpp"
#include "marquee/log/log.hpp"

#include <algorithm>

namespace marquee::scheduler {
namespace {

using std::chrono::floor;
using std::chrono::seconds;
using std::chrono::sys_seconds;

std::string show(sys_seconds t) {
    return jobs::format_rfc3339_utc(t);
}

}  // namespace

scheduler_loop::scheduler_loop(slot_store& store, job_sink& sink, clock& clk, loop_options options)
    : store_(store), sink_(sink), clock_(clk), options_(options) {}

void scheduler_loop::reload(clock::time_point now) {
    std::vector<domain::provider> providers;
    try {
        providers = store_.enabled_providers();
    } catch (const error& e) {
        ++stats_.storage_failures;
        // Keep scheduling what we know; the database may be back by the next reload.
        log::warn("cannot reload providers (keeping {} known): {}", entries_.size(), e.what());
        next_reload_ = now + std::min(options_.reload_interval, options_.retry_max);
        return;
    }
    next_reload_ = now + options_.reload_interval;

    std::map<std::string, entry> fresh;
    for (auto& p : providers) {
        auto old = entries_.find(p.name);
        if (old != entries_.end() && old->second.provider.schedule == p.schedule) {
            auto e = std::move(old->second);
            e.provider = std::move(p);
            fresh.emplace(e.provider.name, std::move(e));
            continue;
        }
        auto parsed = cron::schedule::parse(p.schedule);
        if (auto* bad = std::get_if<cron::parse_error>(&parsed)) {
            if (bad_schedules_.insert(p.name + '\n' + p.schedule).second)
                log::error("provider {}: schedule '{}' is invalid ({}); not scheduling it", p.name, p.schedule,
                           bad->message);
            continue;
        }
        auto schedule = std::get<cron::schedule>(std::move(parsed));
        // The current slot fires at once unless some scheduler already claimed it: a restart or a
        // new provider does not wait a whole period, and older slots are never replayed.
        auto current = schedule.latest_at_or_before(floor<seconds>(now));
        log::info("provider {}: {} '{}', current slot {}", p.name,
                  old == entries_.end() ? "scheduling" : "schedule changed to", p.schedule, show(current));
        std::string name = p.name;
        fresh.emplace(std::move(name), entry{std::move(p), std::move(schedule), current, {}, {}});
    }
    for (const auto& [name, e] : entries_)
        if (!fresh.contains(name)) log::info("provider {}: no longer scheduled (disabled or removed)", name);
    entries_ = std::move(fresh);
    stats_.providers = static_cast<std::int64_t>(entries_.size());
}

bool scheduler_loop::fire(const entry& e, sys_seconds slot, std::stop_token stop) {
    const auto& name = e.provider.name;
    try {
        if (!store_.claim(name, slot)) {
            log::debug("provider {}: slot {} was claimed by another scheduler", name, show(slot));
            ++stats_.slots_taken_elsewhere;
            return true;
        }
    } catch (const error& ex) {
        ++stats_.storage_failures;
        log::warn("provider {}: cannot claim slot {}: {}", name, show(slot), ex.what());
        return false;
    }
    auto job = jobs::make_fetch_job(name, slot);
    try {
        sink_.publish(job, stop);
    } catch (const error& ex) {
        ++stats_.publish_failures;
        log::error("provider {}: cannot publish job {} for slot {}: {}", name, job.job_id, show(slot), ex.what());
        try {
            store_.release(name, slot);
        } catch (const error& rex) {
            log::warn("provider {}: cannot release slot {} (the claim goes stale by itself): {}", name, show(slot),
                      rex.what());
        }
        return false;
    }
    log::info("provider {}: published job {} for slot {}", name, job.job_id, show(slot));
    ++stats_.jobs_published;
    stats_.last_publish_unix = std::chrono::floor<seconds>(clock_.now()).time_since_epoch().count();
    try {
        store_.mark_published(name, slot);
    } catch (const error& ex) {
        log::warn("provider {}: job {} published but not recorded: {}", name, job.job_id, ex.what());
    }
    return true;
}

clock::time_point scheduler_loop::tick(std::stop_token stop) {
    auto now = clock_.now();
    if (now >= next_reload_) reload(now);
    sink_.idle();
    auto now_seconds = floor<seconds>(now);
    for (auto& [name, e] : entries_) {
        if (stop.stop_requested()) break;
        if (now_seconds < e.next_slot || now < e.retry_at) continue;
        auto slot = e.schedule.latest_at_or_before(now_seconds);
        if (slot > e.next_slot)
            log::warn("provider {}: slot {} was not published in time; firing the current slot {}", name,
                      show(e.next_slot), show(slot));
        if (fire(e, slot, stop)) {
            e.next_slot = e.schedule.next_after(slot);
            e.backoff = std::chrono::milliseconds{0};
            e.retry_at = {};
        } else {
            e.backoff = std::clamp(e.backoff * 2, options_.retry_initial, options_.retry_max);
            e.retry_at = now + e.backoff;
            e.next_slot = slot;
        }
    }
    auto wake = next_reload_;
    for (const auto& [name, e] : entries_) wake = std::min(wake, std::max<clock::time_point>(e.next_slot, e.retry_at));
    return wake;
}

void scheduler_loop::run(std::stop_token stop) {
    while (!stop.stop_requested()) {
        auto wake = tick(stop);
        if (stop.stop_requested()) break;
        clock_.sleep_until(wake, stop);
    }
}

std::map<std::string, sys_seconds> scheduler_loop::next_slots() const {
    std::map<std::string, sys_seconds> out;
    for (const auto& [name, e] : entries_) out.emplace(name, e.next_slot);
    return out;
}

}  // namespace marquee::scheduler
