#include "marquee/search/render.hpp"

#include "marquee/json/escape.hpp"

namespace marquee::search {
namespace {

void append_price(std::string& out, const std::optional<std::string>& price) {
    if (price && json::is_number(*price))
        out.append(*price);
    else
        out.append("null");
}

}  // namespace

void append_event(std::string& out, const event& e) {
    out.append("{\"id\":");
    json::append_string(out, e.id);
    out.append(",\"title\":");
    json::append_string(out, e.title);
    out.append(",\"start_date\":");
    json::append_string(out, e.start_date);
    out.append(",\"start_time\":");
    json::append_string(out, e.start_time);
    out.append(",\"end_date\":");
    json::append_string(out, e.end_date);
    out.append(",\"end_time\":");
    json::append_string(out, e.end_time);
    out.append(",\"min_price\":");
    append_price(out, e.min_price);
    out.append(",\"max_price\":");
    append_price(out, e.max_price);
    out.push_back('}');
}

std::string render_search(const snapshot& s, const query& q) {
    std::string out;
    out.reserve(search_head.size() + s.matches_bytes(q) + search_tail.size());
    out.append(search_head);
    s.append_matches(out, q);
    out.append(search_tail);
    return out;
}

std::string render_data(std::string_view data_json) {
    std::string out;
    out.reserve(data_json.size() + 24);
    out.append("{\"data\":");
    out.append(data_json);
    out.append(",\"error\":null}");
    return out;
}

std::string render_error(std::string_view code, std::string_view message) {
    std::string out;
    out.reserve(code.size() + message.size() + 48);
    out.append("{\"error\":{\"code\":");
    json::append_string(out, code);
    out.append(",\"message\":");
    json::append_string(out, message);
    out.append("},\"data\":null}");
    return out;
}

}  // namespace marquee::search
