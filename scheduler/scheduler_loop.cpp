#include "scheduler_loop.hpp"

#include "marquee/error.hpp"
#include "marquee/log/log.hpp"

#include <algorithm>
#include <set>

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

std::vector<bool> scheduler_loop::fire(std::span<const due_slot> batch, std::stop_token stop) {
    std::vector<bool> done(batch.size(), false);
    std::vector<domain::provider_slot> wanted;
    wanted.reserve(batch.size());
    for (const auto& d : batch) wanted.push_back({d.e->provider.name, d.slot});
    std::set<domain::provider_slot> won;
    std::set<domain::provider_slot> held_elsewhere;
    try {
        auto claims = store_.claim_all(wanted);
        won.insert(claims.won.begin(), claims.won.end());
        held_elsewhere.insert(claims.held_elsewhere.begin(), claims.held_elsewhere.end());
    } catch (const error& ex) {
        stats_.storage_failures += wanted.size();
        log::warn("cannot claim {} due slot(s) (retrying them): {}", wanted.size(), ex.what());
        return done;
    }

    std::vector<std::size_t> mine;  // indexes into `batch` of the slots this scheduler won
    std::vector<jobs::fetch_job> jobs;
    for (std::size_t i = 0; i < wanted.size(); ++i) {
        if (held_elsewhere.contains(wanted[i])) {
            // Claimed but not published: its scheduler is publishing it now, or died in between.
            // Looked at again with backoff until it is published, or its claim goes stale and is
            // taken over here — a slot is never lost with a scheduler.
            log::debug("provider {}: slot {} is claimed by another scheduler, not published yet; looking again",
                       wanted[i].provider, show(wanted[i].slot));
            continue;
        }
        if (!won.contains(wanted[i])) {
            log::debug("provider {}: slot {} was published by another scheduler", wanted[i].provider,
                       show(wanted[i].slot));
            ++stats_.slots_taken_elsewhere;
            done[i] = true;
            continue;
        }
        mine.push_back(i);
        jobs.push_back(jobs::make_fetch_job(wanted[i].provider, wanted[i].slot));
    }
    if (jobs.empty()) {
        log::debug("batch of {} due slot(s): all taken elsewhere", batch.size());
        return done;
    }

    auto failures = sink_.publish_all(jobs, stop);
    failures.resize(jobs.size(), std::string("the job sink reported no outcome"));
    std::vector<domain::provider_slot> published;
    std::vector<std::size_t> published_jobs;
    std::vector<domain::provider_slot> failed;
    for (std::size_t k = 0; k < jobs.size(); ++k) {
        const auto& slot = wanted[mine[k]];
        if (failures[k]) {
            ++stats_.publish_failures;
            log::error("provider {}: cannot publish job {} for slot {}: {}", slot.provider, jobs[k].job_id,
                       show(slot.slot), *failures[k]);
            failed.push_back(slot);
            continue;
        }
        log::info("provider {}: published job {} for slot {}", slot.provider, jobs[k].job_id, show(slot.slot));
        ++stats_.jobs_published;
        published.push_back(slot);
        published_jobs.push_back(k);
        done[mine[k]] = true;
    }
    log::debug("batch of {} due slot(s): {} published, {} taken elsewhere, {} to retry", batch.size(), published.size(),
               batch.size() - jobs.size(), failed.size());
    if (!published.empty()) {
        stats_.last_publish_unix = std::chrono::floor<seconds>(clock_.now()).time_since_epoch().count();
        try {
            store_.mark_all_published(published);
        } catch (const error& ex) {
            for (auto k : published_jobs)
                log::warn("provider {}: job {} published but not recorded: {}", wanted[mine[k]].provider,
                          jobs[k].job_id, ex.what());
        }
    }
    if (!failed.empty()) {
        // A job without a confirm may still have reached the queue, and its slot is published again
        // after the release. That duplicate is the at-least-once delivery ADR 3 accepts: ingestion
        // tolerates a job twice (events are upserted by key). The worker does not skip it by slot
        // (it skips only a job whose slot is older than a succeeded run).
        try {
            store_.release_all(failed);
        } catch (const error& ex) {
            for (const auto& slot : failed)
                log::warn("provider {}: cannot release slot {} (the claim goes stale by itself): {}", slot.provider,
                          show(slot.slot), ex.what());
        }
    }
    return done;
}

clock::time_point scheduler_loop::tick(std::stop_token stop) {
    auto now = clock_.now();
    if (now >= next_reload_) reload(now);
    sink_.idle();
    auto now_seconds = floor<seconds>(now);
    std::vector<due_slot> due;
    for (auto& [name, e] : entries_) {
        if (now_seconds < e.next_slot || now < e.retry_at) continue;
        auto slot = e.schedule.latest_at_or_before(now_seconds);
        if (slot > e.next_slot)
            log::warn("provider {}: slot {} was not published in time; firing the current slot {}", name,
                      show(e.next_slot), show(slot));
        due.push_back({&e, slot});
    }
    const auto batch_size = std::max<std::size_t>(options_.max_batch, 1);
    for (std::size_t first = 0; first < due.size() && !stop.stop_requested(); first += batch_size) {
        std::span<const due_slot> batch(due.data() + first, std::min(batch_size, due.size() - first));
        auto done = fire(batch, stop);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            auto& e = *batch[i].e;
            const auto slot = batch[i].slot;
            if (done[i]) {
                e.next_slot = e.schedule.next_after(slot);
                e.backoff = std::chrono::milliseconds{0};
                e.retry_at = {};
            } else {
                e.backoff = std::clamp(e.backoff * 2, options_.retry_initial, options_.retry_max);
                e.retry_at = now + e.backoff;
                e.next_slot = slot;
            }
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
