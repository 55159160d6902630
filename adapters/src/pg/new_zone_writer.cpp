#include "new_zone_writer.hpp"

#include "copy_writer.hpp"
#include "ingestion_sql.hpp"

namespace marquee::pg::detail {

bool new_zone_writer::conflicts(const ingest::staged_batch& batch) const {
    std::unordered_set<ids::uuid, ids::uuid_hash> in_batch;
    for (const auto& o : batch.occurrences) {
        bool seen_before = copied_.contains(o.id) || in_batch.contains(o.id);
        if (o.rejected) {
            if (seen_before) return true;
        } else {
            if (seen_before) return true;
            in_batch.insert(o.id);
        }
    }
    return false;
}

void new_zone_writer::add(const ingest::staged_batch& batch) {
    if (!conflicts(batch)) {
        copy_rows(tx_, "zones", ingest::zone_columns, batch.new_zone_rows);
        for (const auto& o : batch.occurrences)
            if (!o.rejected) copied_.insert(o.id);
        return;
    }
    // Rare: walk the occurrences in feed order. Occurrences are in seq order, so a later one
    // simply replaces what an earlier one left in superseded_.
    std::string direct;
    for (const auto& o : batch.occurrences) {
        auto rows =
            std::string_view(batch.new_zone_rows).substr(o.zone_rows_begin, o.zone_rows_end - o.zone_rows_begin);
        if (!copied_.contains(o.id)) {
            if (o.rejected) continue;  // nothing of this event was copied: nothing to undo
            direct += rows;
            copied_.insert(o.id);
        } else {
            superseded_[o.id] = latest{o.rejected, o.rejected ? std::string{} : std::string(rows)};
        }
    }
    copy_rows(tx_, "zones", ingest::zone_columns, direct);
}

void new_zone_writer::finish() {
    if (superseded_.empty()) return;
    std::string ids = "{";
    std::string rows;
    for (const auto& [id, last] : superseded_) {
        if (ids.size() > 1) ids += ',';
        id.append_to(ids);
        rows += last.rows;
    }
    ids += '}';
    tx_.exec_params(ingestion_sql::delete_zones_of, ids);
    copy_rows(tx_, "zones", ingest::zone_columns, rows);
}

}  // namespace marquee::pg::detail
