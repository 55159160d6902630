// Writes the COPY rows marquee stages for a feed (as for a first load) to two files, so the
// benchmark can pipe exactly the same rows into COPY with psql: the floor a first ingest is measured
// against.   bench-dump-rows FEED OUT_EVENTS OUT_ZONES
#include "marquee/ingest/pipeline.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

int main(int argc, char** argv) {
    if (argc != 4) {
        fmt::print(stderr, "usage: bench-dump-rows FEED OUT_EVENTS OUT_ZONES\n");
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    std::string document = text.str();
    std::ofstream events(argv[2], std::ios::binary);
    std::ofstream zones(argv[3], std::ios::binary);
    marquee::time::zone zone("UTC");
    marquee::ingest::known_hashes known;
    marquee::ingest::provider_context context{"default", &zone, &known, {}};
    marquee::ingest::stage_feed(document, context, {}, [&](marquee::ingest::staged_batch& batch) {
        events << batch.event_rows;
        zones << batch.new_zone_rows;  // a first load: every event is new, its zones go to the zones table
    });
    return events && zones ? 0 : 1;
}
