// libFuzzer target: arbitrary bytes as a provider feed through the scanner, pugixml, the
// normaliser and the staging serialiser. Any outcome but a feed_error or a result is a bug.
#include "marquee/error.hpp"
#include "marquee/ingest/pipeline.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const marquee::time::zone zone("Europe/Madrid");
    static const marquee::ingest::known_hashes known;
    std::string document(reinterpret_cast<const char*>(data), size);
    marquee::ingest::provider_context context{"fuzz", &zone, &known};
    try {
        // Small batches so that batch boundaries are exercised too.
        marquee::ingest::stage_feed(document, context, {1, 64}, [](marquee::ingest::staged_batch& batch) {
            if (!batch.event_rows.empty() && batch.event_rows.back() != '\n') __builtin_trap();
        });
    } catch (const marquee::feed_error&) {
    }
    return 0;
}
