#pragma once
// What the /search query tests ask of parse_query: the query a text parses to (a test failure
// when it is refused) and the error a text is refused with (a test failure when it parses).
#include "marquee/search/query.hpp"

#include <gtest/gtest.h>

#include <string_view>
#include <variant>

namespace marquee::testing {

inline search::query parsed(std::string_view text) {
    auto result = search::parse_query(text);
    if (auto* e = std::get_if<search::query_error>(&result)) {
        ADD_FAILURE() << "'" << text << "' rejected: " << e->message;
        return {};
    }
    return std::get<search::query>(result);
}

inline search::query_error refusal(std::string_view text) {
    auto result = search::parse_query(text);
    if (auto* e = std::get_if<search::query_error>(&result)) return *e;
    ADD_FAILURE() << "'" << text << "' accepted";
    return {search::query_error::kind::invalid_parameter, {}};
}

}  // namespace marquee::testing
