// /search filters: title words (folding, the signature every match must carry, the JSON and plain
// readings agreeing), q/price/provider parsing, and the snapshot's filtered answers, paged and
// not, after full builds and after changes, against a brute-force reading of the same events.
#include "marquee/json/escape.hpp"
#include "marquee/search/query.hpp"
#include "marquee/search/snapshot_updater.hpp"
#include "marquee/text/words.hpp"

#include "parsed_query.hpp"
#include "snapshot_pages.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using marquee::search::decode_cursor;
using marquee::search::encode_cursor;
using marquee::search::event;
using marquee::search::query;
using marquee::search::snapshot;
using marquee::text::word_reader;
using marquee::text::word_source;

namespace {

std::vector<std::string> words_of(std::string_view text, word_source source = word_source::plain) {
    std::vector<std::string> words;
    std::array<char, 256> buffer{};
    for (word_reader reader(text, source); auto w = reader.next(buffer);) words.emplace_back(*w);
    return words;
}

query ok(std::string_view text) {
    return marquee::testing::parsed(text);
}

std::string rejection(std::string_view text) {
    return std::string(marquee::testing::refusal(text).message);
}

std::vector<std::string> q_words(const query& q) {
    std::vector<std::string> words;
    if (q.words)
        for (std::size_t i = 0; i < q.words->count; ++i) words.emplace_back(q.words->word(i));
    return words;
}

}  // namespace

using strings = std::vector<std::string>;

TEST(title_words, fold_case_and_accents) {
    EXPECT_EQ(words_of("Camela en Concierto"), (strings{"camela", "en", "concierto"}));
    EXPECT_EQ(words_of("CONCIÈRTO Ñandú"), (strings{"concierto", "nandu"}));
    EXPECT_EQ(words_of("Conci\u0065\u0300rto"), (strings{"concierto"})) << "a combining accent is dropped";
    EXPECT_EQ(words_of("Straße Œuvre Æsir Łódź þing"), (strings{"strasse", "oeuvre", "aesir", "lodz", "thing"}));
    EXPECT_EQ(words_of("МОСКВА Ёлка ΑΘΗΝΑ"), (strings{"москва", "ёлка", "αθηνα"}));
    EXPECT_EQ(words_of("東京 ライブ"), (strings{"東京", "ライブ"})) << "other scripts are words as they are";
}

TEST(title_words, separators) {
    EXPECT_EQ(words_of("rock'n'roll AC/DC 2×3 a÷b"), (strings{"rock", "n", "roll", "ac", "dc", "2", "3", "a", "b"}));
    EXPECT_EQ(words_of("Los\u00a0Morancos\u2019 «Tour» ¡ya!"), (strings{"los", "morancos", "tour", "ya"}));
    EXPECT_EQ(words_of("bad\xff\xfe"
                       "byte \xe2\x82 cut"),
              (strings{"bad", "byte", "cut"}));
    EXPECT_EQ(words_of("tab\there\nnew\x01line"), (strings{"tab", "here", "new", "line"}));
    EXPECT_EQ(words_of(" ,.;- "), strings{});
    EXPECT_EQ(words_of(""), strings{});
}

TEST(title_words, a_long_word_is_cut_at_the_buffer) {
    std::array<char, 3> buffer{};
    word_reader reader("abcdef gh");
    EXPECT_EQ(reader.next(buffer), "abc");
    EXPECT_EQ(reader.next(buffer), "gh");
    EXPECT_EQ(reader.next(buffer), std::nullopt);
}

// Titles are matched in the JSON the snapshot holds: reading the rendered string must give the
// words of the stored title, whatever bytes it holds (escapes, invalid UTF-8 made U+FFFD).
TEST(title_words, the_json_reading_equals_the_plain_one) {
    std::mt19937 rng(11);
    const std::vector<std::string> pieces{
        "a", "Z", "9",      " ",      "\"", "\\", "\x01", "\x1f", "\xff", "\xc3",         "é",
        "Ñ", "ß", "\u0301", "\u2019", "·",  "/",  "ж",    "Ж",    "東",   "\xed\xa0\x80", "u00e9"};
    for (int round = 0; round < 5000; ++round) {
        std::string title;
        for (std::size_t n = rng() % 12; n > 0; --n) title += pieces[rng() % pieces.size()];
        auto quoted = marquee::json::quote(title);
        auto inside = std::string_view(quoted).substr(1, quoted.size() - 2);
        ASSERT_EQ(words_of(inside, word_source::json_string), words_of(title)) << marquee::json::quote(title);
        ASSERT_EQ(marquee::text::title_signature(inside, word_source::json_string),
                  marquee::text::title_signature(title));
    }
}

TEST(title_words, every_prefix_of_a_word_is_in_the_title_signature) {
    std::mt19937 rng(5);
    const std::string letters = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (int round = 0; round < 2000; ++round) {
        std::string title;
        for (std::size_t w = 1 + rng() % 6; w > 0; --w) {
            for (std::size_t n = 1 + rng() % 9; n > 0; --n) title += letters[rng() % letters.size()];
            title += rng() % 2 ? " " : "-";
        }
        auto signature = marquee::text::title_signature(title);
        EXPECT_EQ(signature & ~marquee::text::signature_mask, 0U);
        for (const auto& word : words_of(title))
            for (std::size_t length = 1; length <= word.size(); ++length) {
                auto bits = marquee::text::word_signature(std::string_view(word).substr(0, length));
                ASSERT_NE(bits, 0U);
                ASSERT_EQ(signature & bits, bits) << title << " / " << word.substr(0, length);
            }
    }
}

TEST(title_words, every_query_word_must_start_a_title_word) {
    auto has = [](std::string_view title, std::vector<std::string_view> prefixes) {
        return marquee::text::has_word_prefixes(title, prefixes);
    };
    EXPECT_TRUE(has("Camela en concierto", {"camel", "conci"}));
    EXPECT_TRUE(has("Camela en concierto", {"concierto", "c"}));
    EXPECT_FALSE(has("Camela en concierto", {"amela"})) << "a prefix, not a substring";
    EXPECT_FALSE(has("Camela en concierto", {"camel", "rock"})) << "every word";
    EXPECT_FALSE(has("Camela", {"camelas"}));
    EXPECT_TRUE(has("Camela", {}));
}

TEST(search_filters, q_is_folded_into_words) {
    EXPECT_EQ(q_words(ok("q=Camel%20CONCI")), (strings{"camel", "conci"}));
    EXPECT_EQ(q_words(ok("q=camel+conci")), (strings{"camel", "conci"})) << "'+' is a space in q";
    EXPECT_EQ(q_words(ok("q=%C3%89xito")), (strings{"exito"}));
    EXPECT_EQ(q_words(ok("q=rock%27n%27roll")), (strings{"rock", "n", "roll"}));
    EXPECT_FALSE(ok("starts_at=2021-01-01T00:00:00Z").filters());
    EXPECT_TRUE(ok("q=a").filters());
}

TEST(search_filters, q_is_refused_empty_wordless_too_long_or_repeated) {
    EXPECT_EQ(rejection("q="), "q is empty");
    EXPECT_EQ(rejection("q=a&q=b"), "q is given more than once");
    const std::string invalid = "q must hold 1 to 8 words (letters or digits) in at most 256 bytes";
    EXPECT_EQ(rejection("q=%20%2C-"), invalid);
    EXPECT_EQ(rejection("q=a+b+c+d+e+f+g+h+i"), invalid);
    EXPECT_EQ(q_words(ok("q=a+b+c+d+e+f+g+h")).size(), 8U);
    EXPECT_EQ(rejection("q=" + std::string(257, 'a')), invalid);
    EXPECT_EQ(q_words(ok("q=" + std::string(256, 'a'))).size(), 1U);
    EXPECT_EQ(rejection("q=%zz"), invalid);
    // 256 bytes of "ß" fold to 512: still fits.
    std::string eszett;
    for (int i = 0; i < 128; ++i) eszett += "%C3%9F";
    EXPECT_EQ(q_words(ok("q=" + eszett)), (strings{std::string(256, 's')}));
}

TEST(search_filters, prices_are_decimals_with_up_to_six_places) {
    EXPECT_EQ(ok("price_min=20").price_min->micros, 20'000'000);
    EXPECT_EQ(ok("price_max=20.5").price_max->micros, 20'500'000);
    EXPECT_EQ(ok("price_max=0.000001").price_max->micros, 1);
    for (const char* bad : {"-1", "1e3", "20.1234567", "%2020", "20%20", "abc", "20,5", ".5", "1.", "1000000000001"})
        EXPECT_EQ(rejection(std::string("price_min=") + bad),
                  "price_min is not a price (digits with up to 6 decimals, at most 10^12, e.g. 20.50)")
            << bad;
    EXPECT_EQ(rejection("price_max="), "price_max is empty");
    EXPECT_EQ(rejection("price_max=1&price_max=2"), "price_max is given more than once");
    EXPECT_TRUE(ok("price_min=100&price_max=50").filters()) << "a wide event can have both";
}

TEST(search_filters, provider_is_a_provider_name) {
    EXPECT_EQ(ok("provider=ticketmaster").provider->view(), "ticketmaster");
    EXPECT_EQ(ok("provider=a.b-c_9").provider->view(), "a.b-c_9");
    EXPECT_EQ(ok("provider=" + std::string(63, 'p')).provider->view(), std::string(63, 'p'));
    for (const std::string& bad : std::vector<std::string>{"Ticket", "_x", ".x", "a b", "a%2Fb", std::string(64, 'p')})
        EXPECT_NE(rejection("provider=" + bad).find("provider is not a provider name"), std::string::npos) << bad;
    EXPECT_EQ(rejection("provider="), "provider is empty");
    EXPECT_EQ(rejection("provider=a&provider=a"), "provider is given more than once");
}

TEST(search_filters, a_cursor_is_bound_to_the_filters) {
    auto base = ok("q=camel&price_max=50&provider=p1&limit=10");
    auto cursor = encode_cursor(base, marquee::time::instant{}, "a0000000-0000-5000-8000-000000000001");
    EXPECT_TRUE(decode_cursor(cursor, base).has_value());
    for (const char* other :
         {"q=camela&price_max=50&provider=p1", "q=camel&price_max=51&provider=p1", "q=camel&price_max=50&provider=p2",
          "q=camel&price_max=50&price_min=1&provider=p1", "price_max=50&provider=p1", "q=camel&price_max=50"})
        EXPECT_FALSE(decode_cursor(cursor, ok(other)).has_value()) << other;
    EXPECT_TRUE(decode_cursor(cursor, ok("q=CAMEL&price_max=50.000&provider=p1")).has_value())
        << "the same filters written otherwise";
}

namespace {

const marquee::time::instant epoch{std::chrono::microseconds{1'600'000'000'000'000}};

const std::vector<std::string> vocabulary{"Camela", "concierto",  "CONCIÈRTO",   "Rock", "rocío",  "Ópera",
                                          "opera",  "Los",        "Morancos",    "tour", "Straße", "2024",
                                          "l'été",  "\"quoted\"", "back\\slash", "ж"};
const std::vector<std::string> providers{"alpha", "beta", "gamma.tickets", "delta-1"};
const std::vector<std::string> prices{"0.00", "5.50", "20.00", "20.000001", "75", "100.25", "999999.999999"};

event random_event(std::mt19937& rng, int n) {
    event e;
    e.id = fmt::format("{:08x}-0000-5000-8000-{:012x}", static_cast<unsigned>(n * 2654435761U), n);
    e.provider = providers[rng() % providers.size()];
    for (std::size_t w = 1 + rng() % 4; w > 0; --w) e.title += vocabulary[rng() % vocabulary.size()] + " ";
    e.start_date = "2021-06-30";
    e.start_time = "21:00:00";
    e.end_date = "2021-06-30";
    e.end_time = "22:00:00";
    e.starts_at = epoch + std::chrono::minutes{rng() % 5000};
    e.ends_at = e.starts_at + std::chrono::minutes{rng() % 300};
    if (rng() % 6 != 0) {
        auto a = prices[rng() % prices.size()];
        auto b = prices[rng() % prices.size()];
        if (marquee::money::parse_price(b) < marquee::money::parse_price(a)) std::swap(a, b);
        e.min_price = a;
        e.max_price = b;
    }
    return e;
}

// The brute-force answer: every event read field by field.
bool oracle_matches(const event& e, const query& q) {
    if (q.starts_at && e.starts_at < *q.starts_at) return false;
    if (q.ends_at && e.ends_at > *q.ends_at) return false;
    if (q.provider && e.provider != q.provider->view()) return false;
    if (q.price_max && !(e.min_price && *marquee::money::parse_price(*e.min_price) <= *q.price_max)) return false;
    if (q.price_min && !(e.max_price && *marquee::money::parse_price(*e.max_price) >= *q.price_min)) return false;
    if (q.words) {
        auto title_words = words_of(e.title);
        for (const auto& wanted : q_words(q)) {
            bool found = false;
            for (const auto& w : title_words) found = found || w.starts_with(wanted);
            if (!found) return false;
        }
    }
    return true;
}

using marquee::testing::ids_in;
using marquee::testing::walk;

std::string random_query(std::mt19937& rng) {
    std::vector<std::string> parts;
    const std::vector<std::string> q_values{"camel",   "CONCI", "conci+camel", "rock",  "roc", "opera",     "ete", "l",
                                            "strasse", "2024",  "quoted",      "slash", "ж",   "los+moran", "zzz"};
    if (rng() % 2) parts.push_back("q=" + q_values[rng() % q_values.size()]);
    if (rng() % 3 == 0) parts.push_back("price_max=" + prices[rng() % prices.size()]);
    if (rng() % 3 == 0) parts.push_back("price_min=" + prices[rng() % prices.size()]);
    if (rng() % 3 == 0) parts.push_back("provider=" + (rng() % 5 ? providers[rng() % providers.size()] : "nobody"));
    if (rng() % 3 == 0) parts.push_back(fmt::format("starts_at={}", 1'600'000'000 + 60 * (rng() % 4000)));
    std::string text;
    for (const auto& p : parts) text += (text.empty() ? "" : "&") + p;
    return text;
}

}  // namespace

TEST(search_filters, filtered_answers_are_what_each_event_says_paged_or_not_across_changes) {
    std::mt19937 rng(3);
    std::map<int, event> truth;
    for (int n = 0; n < 4000; ++n) truth[n] = random_event(rng, n);
    marquee::search::snapshot_updater updater;
    auto load = updater.begin_full_load(1);
    std::vector<event> sorted;
    for (const auto& [n, e] : truth) sorted.push_back(e);
    std::sort(sorted.begin(), sorted.end(),
              [](const event& a, const event& b) { return std::tie(a.starts_at, a.id) < std::tie(b.starts_at, b.id); });
    for (const auto& e : sorted) load.add(e);
    updater.finish(std::move(load));

    for (std::int64_t version = 2; version < 12; ++version) {
        for (int round = 0; round < 40; ++round) {
            auto text = random_query(rng);
            // starts_at as epoch seconds is not RFC 3339: write it as one.
            if (auto at = text.find("starts_at="); at != std::string::npos) {
                auto end = text.find('&', at);
                auto seconds = std::stoll(text.substr(at + 10, end - at - 10));
                auto instant = marquee::time::instant{std::chrono::seconds{seconds}};
                text.replace(at + 10, end == std::string::npos ? std::string::npos : end - at - 10,
                             marquee::time::format_rfc3339(instant));
            }
            auto q = ok(text);
            std::vector<std::string> expected;
            for (const auto& e : sorted)
                if (oracle_matches(e, q)) expected.push_back(e.id);
            std::string json;
            updater.current()->append_matches(json, q);
            ASSERT_EQ(ids_in(json), expected) << text << " at version " << version;
            ASSERT_EQ(walk(*updater.current(), q, 1 + static_cast<std::uint32_t>(rng() % 60)), expected) << text;
        }
        // A change: some events move or change title, price or provider; some are new, some on a new provider.
        std::vector<event> delta;
        std::set<int> picked;
        for (int i = 0; i < 150; ++i) {
            int n = static_cast<int>(rng() % 4300);
            if (!picked.insert(n).second) continue;
            auto e = random_event(rng, n);
            if (rng() % 10 == 0) e.provider = fmt::format("new-{}", version);
            truth[n] = e;
            delta.push_back(e);
        }
        updater.apply(version, std::move(delta));
        ASSERT_EQ(updater.current()->data_version(), version) << "the change was applied, not refused";
        sorted.clear();
        for (const auto& [n, e] : truth) sorted.push_back(e);
        std::sort(sorted.begin(), sorted.end(), [](const event& a, const event& b) {
            return std::tie(a.starts_at, a.id) < std::tie(b.starts_at, b.id);
        });
    }
    EXPECT_EQ(walk(*updater.current(), ok("provider=new-5"), 7).size(),
              static_cast<std::size_t>(
                  std::count_if(sorted.begin(), sorted.end(), [](const event& e) { return e.provider == "new-5"; })));
}

TEST(search_filters, an_unknown_provider_matches_nothing) {
    std::mt19937 rng(1);
    std::vector<event> events;
    for (int n = 0; n < 100; ++n) events.push_back(random_event(rng, n));
    snapshot s(1, events);
    std::string json;
    s.append_matches(json, ok("provider=nobody"));
    EXPECT_EQ(json, "");
    EXPECT_EQ(s.providers().size(), providers.size());
}
