#include "refused_rows.hpp"

#include <algorithm>
#include <charconv>
#include <string>

namespace marquee::pg::detail {
namespace {

// The `index`th tab-separated field of a COPY text line (fields never hold a raw tab).
std::string_view field(std::string_view line, std::size_t index) {
    std::size_t begin = 0;
    for (std::size_t i = 0; i < index; ++i) {
        begin = line.find('\t', begin);
        if (begin == std::string_view::npos) return {};
        ++begin;
    }
    return line.substr(begin, line.find('\t', begin) - begin);
}

// COPY text escapes backslashes; valid ids hold no other escaped character.
std::string unescape(std::string_view copy_text) {
    std::string out;
    for (std::size_t i = 0; i < copy_text.size(); ++i) {
        if (copy_text[i] == '\\' && i + 1 < copy_text.size()) ++i;
        out.push_back(copy_text[i]);
    }
    return out;
}

template <typename Each>
void for_each_line(std::string_view rows, Each each) {
    std::size_t begin = 0;
    while (begin < rows.size()) {
        auto end = rows.find('\n', begin);
        if (end == std::string_view::npos) end = rows.size();
        each(rows.substr(begin, end - begin));
        begin = end + 1;
    }
}

constexpr auto base_event_id_field = ingest::column_index(ingest::stage_event_columns, "base_event_id");
constexpr auto event_id_field = ingest::column_index(ingest::stage_event_columns, "event_id");

}  // namespace

std::optional<ids::uuid> event_on_copy_line(std::string_view message, std::string_view rows,
                                            std::span<const std::string_view> columns) {
    auto at = message.find(", line ");
    if (at == std::string_view::npos) return std::nullopt;
    auto digits = message.substr(at + 7);
    std::size_t line = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), line);
    if (ec != std::errc{} || line == 0) return std::nullopt;

    auto column = std::min(ingest::column_index(columns, "id"), ingest::column_index(columns, "event"));
    if (column == columns.size()) return std::nullopt;

    std::optional<ids::uuid> event;
    std::size_t number = 0;
    for_each_line(rows, [&](std::string_view text) {
        if (++number == line) event = ids::parse_uuid(field(text, column));
    });
    return event;
}

std::optional<ids::uuid> event_in_failing_row(std::string_view message) {
    auto at = message.find("Failing row contains (");
    if (at == std::string_view::npos) return std::nullopt;
    auto row = message.substr(at + 22);
    for (std::size_t i = 0; i + 36 <= row.size(); ++i)
        if (auto id = ids::parse_uuid(row.substr(i, 36))) return id;
    return std::nullopt;
}

std::size_t exclude_events(ingest::staged_batch& batch, const exclusions& excluded,
                           std::vector<feed::rejection>& rejected) {
    if (excluded.empty()) return 0;
    auto excluded_id = [&](std::string_view text) -> const std::string* {
        auto id = ids::parse_uuid(text);
        if (!id) return nullptr;
        auto found = excluded.find(*id);
        return found == excluded.end() ? nullptr : &found->second;
    };

    std::size_t count = 0;
    std::string events;
    events.reserve(batch.event_rows.size());
    for_each_line(batch.event_rows, [&](std::string_view line) {
        auto reason = excluded_id(field(line, 1));
        if (!reason) {
            events.append(line);
            events.push_back('\n');
            return;
        }
        auto kind = field(line, 2);
        if (kind == std::string_view(&ingest::row_kind::added, 1) ||
            kind == std::string_view(&ingest::row_kind::changed, 1)) {
            rejected.push_back(
                {unescape(field(line, base_event_id_field)), unescape(field(line, event_id_field)), *reason, true});
            ++count;
        }
        events.append(line.substr(0, line.find('\t', line.find('\t') + 1) + 1));
        events.push_back(ingest::row_kind::rejected);
        for (std::size_t column = 0; column < ingest::short_row_null_columns; ++column) events += "\t\\N";
        events.push_back('\n');
    });
    batch.event_rows = std::move(events);

    std::string zones;
    for_each_line(batch.zone_rows, [&](std::string_view line) {
        if (excluded_id(field(line, 1))) return;
        zones.append(line);
        zones.push_back('\n');
    });
    batch.zone_rows = std::move(zones);

    std::string new_zones;
    for (auto& o : batch.occurrences) {
        auto rows =
            std::string_view(batch.new_zone_rows).substr(o.zone_rows_begin, o.zone_rows_end - o.zone_rows_begin);
        o.zone_rows_begin = new_zones.size();
        if (excluded.contains(o.id))
            o.rejected = true;
        else
            new_zones.append(rows);
        o.zone_rows_end = new_zones.size();
    }
    batch.new_zone_rows = std::move(new_zones);
    return count;
}

}  // namespace marquee::pg::detail
