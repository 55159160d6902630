// libFuzzer target: arbitrary bytes as a provider feed through the scanner, pugixml, the
// normaliser and the staging serialiser. Any outcome but a feed_error or a result is a bug, and
// what is staged must be storable: no text PostgreSQL would refuse (U+FFFD only appears where the
// feed had one, so no invalid UTF-8 was papered over) and no timestamp outside years 0001-9999.
#include "marquee/error.hpp"
#include "marquee/ingest/pipeline.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

std::string_view field(std::string_view line, std::size_t index) {
    std::size_t begin = 0;
    for (std::size_t i = 0; i < index; ++i) {
        begin = line.find('\t', begin);
        if (begin == std::string_view::npos) return {};
        ++begin;
    }
    return line.substr(begin, line.find('\t', begin) - begin);
}

// Full rows (kinds n and c) carry start_local, end_local, starts_at, ends_at as fields 8 to 11.
void check_event_rows(std::string_view rows) {
    for (std::size_t begin = 0; begin < rows.size();) {
        auto end = rows.find('\n', begin);
        auto line = rows.substr(begin, end - begin);
        auto kind = field(line, 2);
        if (kind == "n" || kind == "c")
            for (std::size_t f = 8; f <= 11; ++f) {
                auto stamp = field(line, f);
                if (stamp.size() < 19 || stamp.substr(0, 4) == "0000" || stamp[4] != '-') __builtin_trap();
            }
        begin = end + 1;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const marquee::time::zone zone("Europe/Madrid");
    static const marquee::ingest::known_hashes known;
    std::string document(reinterpret_cast<const char*>(data), size);
    const bool had_replacement = document.find(replacement_character) != std::string::npos;
    marquee::ingest::provider_context context{"fuzz", &zone, &known, {}};
    try {
        // Small batches so that batch boundaries and split base_events are exercised too.
        marquee::ingest::stage_feed(document, context, {1, 64}, [&](marquee::ingest::staged_batch& batch) {
            if (!batch.event_rows.empty() && batch.event_rows.back() != '\n') __builtin_trap();
            if (!had_replacement) {
                for (const auto* rows : {&batch.event_rows, &batch.zone_rows, &batch.new_zone_rows})
                    if (rows->find(replacement_character) != std::string::npos) __builtin_trap();
            }
            check_event_rows(batch.event_rows);
        });
    } catch (const marquee::feed_error&) {
    }
    return 0;
}
