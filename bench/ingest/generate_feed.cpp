// Deterministic provider feed generator for the ingestion benchmarks and large-scale tests.
//   bench-generate-feed --events N --zones M [--seed S] [--change-percent P] [--offline-percent O] > feed.xml
// The same seed gives the same feed byte for byte; --change-percent P alters the price of one zone
// in P% of the events (chosen by the seed), giving the "1% changed" re-ingest feed.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

namespace {

// splitmix64: tiny, fast, and the same sequence on every platform.
class rng {
public:
    explicit rng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::uint64_t below(std::uint64_t n) { return next() % n; }

private:
    std::uint64_t state_;
};

const char* const titles[] = {"Camela en concierto",
                              "Pantomima Full",
                              "Los Morancos",
                              "Tributo a Juanito Valderrama",
                              "Orquesta Sinfónica de Galicia",
                              "Ballet Nacional: «El Amor Brujo»",
                              "Rock &amp; Roll Circus",
                              "Teatro &quot;La Zarzuela&quot;",
                              "Noche de Flamenco 💃",
                              "Björk — Cornucopia",
                              "Cirque du Soleil: Kooza",
                              "Monólogos &lt;sin censura&gt;"};
const char* const zone_names[] = {"Platea", "Grada 2",    "Anfiteatro", "Palco",
                                  "Pista",  "Amfiteatre", "Tribuna",    "Zona VIP"};

std::string stamp(int day_of_year, int minute_of_day) {
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int month = 0;
    while (day_of_year >= month_days[month]) day_of_year -= month_days[month++];
    return fmt::format("2027-{:02}-{:02}T{:02}:{:02}:00", month + 1, day_of_year + 1, minute_of_day / 60,
                       minute_of_day % 60);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Writes a deterministic provider feed to standard output.", "bench-generate-feed"};
    int events = 5000;
    int zones = 300;
    std::uint64_t seed = 42;
    int change_percent = 0;
    int offline_percent = 5;
    app.add_option("--events", events)->check(CLI::Range(0, 10'000'000));
    app.add_option("--zones", zones)->check(CLI::Range(0, 100'000));
    app.add_option("--seed", seed);
    app.add_option("--change-percent", change_percent)->check(CLI::Range(0, 100));
    app.add_option("--offline-percent", offline_percent)->check(CLI::Range(0, 100));
    CLI11_PARSE(app, argc, argv);

    std::string out;
    out.reserve(1 << 22);
    auto flush = [&] {
        std::fwrite(out.data(), 1, out.size(), stdout);
        out.clear();
    };
    out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<eventList version=\"1.0\">\n   <output>\n";
    rng content(seed);
    rng changes(seed ^ 0x5eedULL);
    for (int e = 0; e < events; ++e) {
        bool changed = changes.below(100) < static_cast<std::uint64_t>(change_percent);
        int day = static_cast<int>(content.below(365));
        int start_minute = static_cast<int>(content.below(20 * 60));
        int length = 30 + static_cast<int>(content.below(180));
        bool online = content.below(100) >= static_cast<std::uint64_t>(offline_percent);
        const char* title = titles[content.below(std::size(titles))];
        out += fmt::format(
            "      <base_event base_event_id=\"{}\" sell_mode=\"{}\" organizer_company_id=\"{}\" title=\"{} #{}\">\n",
            100000 + e, online ? "online" : "offline", 1 + content.below(50), title, e);
        out += fmt::format(
            "         <event event_start_date=\"{}\" event_end_date=\"{}\" event_id=\"{}\" "
            "sell_from=\"2026-01-01T00:00:00\" "
            "sell_to=\"{}\" sold_out=\"{}\">\n",
            stamp(day, start_minute), stamp(day, start_minute + length), 1 + content.below(3000),
            stamp(day, start_minute), content.below(10) == 0 ? "true" : "false");
        for (int z = 0; z < zones; ++z) {
            auto cents = 500 + content.below(20000);
            if (changed && z == 0) cents += 100;
            out += fmt::format(
                "            <zone zone_id=\"{}\" capacity=\"{}\" price=\"{}.{:02}\" name=\"{} {}\" numbered=\"{}\" "
                "/>\n",
                z + 1, content.below(500), cents / 100, cents % 100, zone_names[content.below(std::size(zone_names))],
                z + 1, content.below(2) == 0 ? "true" : "false");
        }
        out += "         </event>\n      </base_event>\n";
        if (out.size() > (1 << 21)) flush();
    }
    out += "   </output>\n</eventList>\n";
    flush();
    return 0;
}
