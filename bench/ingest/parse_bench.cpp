// Parse throughput on one feed file, three ways, each the best of --repeat runs:
//   1. bare pugixml: one whole-document in-place parse (pugixml is single-threaded);
//   2. bare pugixml on T threads: our scanner's batches parsed as fragments in parallel, nothing else;
//   3. marquee: scan + parse + normalise + hash + serialise to COPY rows (ingest::stage_feed), T threads.
//   bench-parse FILE [--threads T] [--repeat R]
#include "marquee/feed/detail/scanner.hpp"
#include "marquee/ingest/pipeline.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <pugixml.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

template <typename Body>
double best_seconds(int repeat, const std::string& original, Body body) {
    double best = 1e30;
    for (int i = 0; i < repeat; ++i) {
        std::string copy = original;  // parsing is in place
        auto start = clock_type::now();
        body(copy);
        best = std::min(best, std::chrono::duration<double>(clock_type::now() - start).count());
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Feed parse throughput", "bench-parse"};
    std::string file;
    unsigned threads = std::max(1u, std::thread::hardware_concurrency());
    int repeat = 3;
    std::string only;
    app.add_option("file", file)->required()->check(CLI::ExistingFile);
    app.add_option("--only", only, "Run one variant: bare, fragments or marquee (for perf stat)");
    app.add_option("--threads", threads);
    app.add_option("--repeat", repeat);
    CLI11_PARSE(app, argc, argv);

    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    const std::string original = text.str();
    const double mb = static_cast<double>(original.size()) / 1e6;

    auto wanted = [&](const char* name) { return only.empty() || only == name; };
    double bare = 0, bare_parallel = 0, marquee_parse = 0;
    if (wanted("bare"))
        bare = best_seconds(repeat, original, [](std::string& doc) {
            pugi::xml_document d;
            if (!d.load_buffer_inplace(doc.data(), doc.size())) std::abort();
        });

    const std::size_t batch_bytes = std::size_t{4} << 20;
    if (wanted("fragments"))
        bare_parallel = best_seconds(repeat, original, [&](std::string& doc) {
            auto layout = marquee::feed::detail::scan_feed(doc, batch_bytes);
            std::atomic<std::size_t> next{0};
            std::vector<std::jthread> pool;
            for (unsigned t = 0; t < threads; ++t)
                pool.emplace_back([&] {
                    for (std::size_t i; (i = next++) < layout.batches.size();) {
                        pugi::xml_document d;
                        auto r = layout.batches[i];
                        if (!d.load_buffer_inplace(doc.data() + r.begin, r.end - r.begin,
                                                   pugi::parse_default | pugi::parse_fragment))
                            std::abort();
                    }
                });
        });

    marquee::time::zone zone("Europe/Madrid");
    marquee::ingest::known_hashes known;
    std::size_t events = 0;
    if (wanted("marquee"))
        marquee_parse = best_seconds(repeat, original, [&](std::string& doc) {
            marquee::ingest::provider_context context{"bench", &zone, &known, {}};
            auto totals = marquee::ingest::stage_feed(doc, context, {threads, batch_bytes}, [](auto&) {});
            events = totals.events_seen;
        });

    fmt::print("feed: {} ({:.1f} MB, {} events), threads: {}\n", file, mb, events, threads);
    fmt::print("bare pugixml, whole document, 1 thread:        {:7.3f} s  {:7.1f} MB/s\n", bare, mb / bare);
    fmt::print("bare pugixml, fragments, {} threads:            {:7.3f} s  {:7.1f} MB/s\n", threads, bare_parallel,
               mb / bare_parallel);
    fmt::print(
        "marquee parse+normalise+stage, {} threads:      {:7.3f} s  {:7.1f} MB/s  ({:.0f}% of bare on the same "
        "threads)\n",
        threads, marquee_parse, mb / marquee_parse, 100.0 * bare_parallel / marquee_parse);
    return 0;
}
