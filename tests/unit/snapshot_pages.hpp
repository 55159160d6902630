#pragma once
// Reading a snapshot's answers as a client would, for the /search unit tests: the ids of an
// answer, one page and where the next starts, every page by following next cursors, the
// unpaged answer.
#include "marquee/search/query.hpp"
#include "marquee/search/snapshot.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace marquee::testing {

inline std::vector<std::string> ids_in(const std::string& json) {
    std::vector<std::string> ids;
    for (auto pos = json.find("\"id\":\""); pos != std::string::npos; pos = json.find("\"id\":\"", pos + 1))
        ids.push_back(json.substr(pos + 6, json.find('"', pos + 6) - pos - 6));
    return ids;
}

/// One page of `q` from `s`: its events' ids and where the next starts.
inline std::pair<std::vector<std::string>, std::optional<search::page_end>> page_of(const search::snapshot& s,
                                                                                    const search::query& q) {
    std::vector<std::string_view> ranges(s.size() + 1);
    std::optional<search::page_end> next;
    auto n = s.match_ranges(q, ranges, &next).value();
    std::string json;
    for (std::size_t i = 0; i < n; ++i) json.append(ranges[i]);
    return {ids_in(json), next};
}

/// Follows next cursors from the first page to the last, as a client would.
inline std::vector<std::string> walk(const search::snapshot& s, search::query q, std::uint32_t limit,
                                     std::size_t* pages = nullptr) {
    q.limit = limit;
    q.after.reset();
    std::vector<std::string> all;
    for (std::size_t page = 1;; ++page) {
        auto [ids, next] = page_of(s, q);
        EXPECT_LE(ids.size(), limit);
        all.insert(all.end(), ids.begin(), ids.end());
        if (!next) {
            if (pages) *pages = page;
            return all;
        }
        EXPECT_EQ(ids.size(), limit) << "only the last page may be short";
        q.after = search::decode_cursor(search::encode_cursor(q, next->starts_at, next->id), q);
        EXPECT_TRUE(q.after.has_value()) << "a next cursor was refused";
        if (!q.after) return all;
    }
}

inline std::vector<std::string> unpaged(const search::snapshot& s, const search::query& q) {
    std::string json;
    s.append_matches(json, q);
    return ids_in(json);
}

}  // namespace marquee::testing
