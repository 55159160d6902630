#include "marquee/feed/detail/normaliser.hpp"

#include "marquee/error.hpp"

#include <fmt/format.h>
#include <pugixml.hpp>

#include <charconv>
#include <cstring>

namespace marquee::feed {

std::string_view to_string(sell_mode mode) noexcept {
    return mode == sell_mode::online ? "online" : "offline";
}

namespace detail {
namespace {

constexpr std::size_t max_id_length = 255;

// Attribute names are compared for every attribute of every zone: test the first character before
// paying for a full comparison.
template <std::size_t N>
bool named(const char* name, const char (&literal)[N]) noexcept {
    return name[0] == literal[0] && std::memcmp(name, literal, N) == 0;
}

// pugixml gives NUL-terminated in-place strings; a string_view spares a strlen per use later.
std::string_view view(const pugi::xml_attribute& a) noexcept {
    return {a.value(), std::strlen(a.value())};
}

bool is_blank(std::string_view s) noexcept {
    for (char c : s)
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
    return true;
}

// Ids end up in the UUID name and in logs: no control characters, bounded length.
bool valid_id(std::string_view s) noexcept {
    if (s.empty() || s.size() > max_id_length) return false;
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f) return false;
    return true;
}

std::optional<bool> parse_bool(std::string_view s) noexcept {
    if (s == "true" || s == "1") return true;
    if (s == "false" || s == "0") return false;
    return std::nullopt;
}

std::optional<std::int64_t> parse_count(std::string_view s) noexcept {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size() || value < 0) return std::nullopt;
    return value;
}

// Bitmask of attributes seen, to reject an element that repeats one.
class attribute_set {
public:
    bool first_time(unsigned bit) noexcept {
        bool seen = (seen_ >> bit) & 1u;
        seen_ |= 1u << bit;
        return !seen;
    }

private:
    unsigned seen_ = 0;
};

struct base_event_fields {
    std::string_view base_event_id;
    bool has_base_event_id = false;
    std::string_view sell_mode;
    bool has_sell_mode = false;
    std::string_view title;
    bool has_title = false;
    std::optional<std::string_view> organizer_company_id;
    std::string problem;  // set when the base_event itself breaks a rule: all its events are rejected
};

base_event_fields read_base_event(const pugi::xml_node& node) {
    base_event_fields f;
    attribute_set seen;
    for (auto a : node.attributes()) {
        const char* name = a.name();
        unsigned bit;
        if (named(name, "base_event_id")) {
            bit = 0;
            f.base_event_id = view(a);
            f.has_base_event_id = true;
        } else if (named(name, "sell_mode")) {
            bit = 1;
            f.sell_mode = view(a);
            f.has_sell_mode = true;
        } else if (named(name, "title")) {
            bit = 2;
            f.title = view(a);
            f.has_title = true;
        } else if (named(name, "organizer_company_id")) {
            bit = 3;
            f.organizer_company_id = view(a);
        } else {
            continue;
        }
        if (!seen.first_time(bit) && f.problem.empty())
            f.problem = fmt::format("base_event repeats attribute {}", name);
    }
    return f;
}

class event_builder {
public:
    event_builder(const base_event_fields& base, normaliser_scratch& scratch) : base_(base), scratch_(scratch) {}

    event_outcome build(const pugi::xml_node& node) {
        record_ = {};
        reason_.clear();
        scratch_.zones.clear();
        read_event_attributes(node);
        if (!reason_.empty()) return reject();
        apply_base_event();
        if (!reason_.empty()) return reject();
        read_zones(node);
        if (!reason_.empty()) return reject();
        record_.zones = scratch_.zones;
        return record_;
    }

private:
    void problem(std::string reason) {
        if (reason_.empty()) reason_ = std::move(reason);
    }

    rejection reject() const {
        return rejection{std::string(base_.has_base_event_id ? base_.base_event_id : std::string_view{}),
                         std::string(event_id_), reason_,
                         base_.has_base_event_id && valid_id(base_.base_event_id) && valid_id(event_id_)};
    }

    std::optional<time::local_datetime> date_attribute(const char* name, std::string_view text) {
        auto parsed = time::parse_local_datetime(text);
        if (!parsed) problem(fmt::format("{} '{}' is not a valid date-time", name, text));
        return parsed;
    }

    void read_event_attributes(const pugi::xml_node& node) {
        attribute_set seen;
        bool has_start = false;
        bool has_end = false;
        event_id_ = {};
        bool has_event_id = false;
        for (auto a : node.attributes()) {
            const char* name = a.name();
            auto value = view(a);
            unsigned bit;
            if (named(name, "event_id")) {
                bit = 0;
                event_id_ = value;
                has_event_id = true;
            } else if (named(name, "event_start_date")) {
                bit = 1;
                has_start = true;
                if (auto t = date_attribute(name, value)) record_.start = *t;
            } else if (named(name, "event_end_date")) {
                bit = 2;
                has_end = true;
                if (auto t = date_attribute(name, value)) record_.end = *t;
            } else if (named(name, "sell_from")) {
                bit = 3;
                record_.sell_from = date_attribute(name, value);
            } else if (named(name, "sell_to")) {
                bit = 4;
                record_.sell_to = date_attribute(name, value);
            } else if (named(name, "sold_out")) {
                bit = 5;
                record_.sold_out = parse_bool(value);
                if (!record_.sold_out) problem(fmt::format("sold_out '{}' is not a boolean", value));
            } else {
                continue;
            }
            if (!seen.first_time(bit)) problem(fmt::format("event repeats attribute {}", name));
        }
        if (!has_event_id)
            problem("missing event_id");
        else if (!valid_id(event_id_))
            problem("event_id is empty, too long or has control characters");
        if (!has_start) problem("missing event_start_date");
        if (!has_end) problem("missing event_end_date");
        if (reason_.empty() && record_.end < record_.start) problem("event ends before it starts");
        record_.event_id = event_id_;
    }

    void apply_base_event() {
        if (!base_.problem.empty()) return problem(base_.problem);
        if (!base_.has_base_event_id) return problem("missing base_event_id");
        if (!valid_id(base_.base_event_id))
            return problem("base_event_id is empty, too long or has control characters");
        if (!base_.has_title || is_blank(base_.title)) return problem("missing title");
        if (!base_.has_sell_mode) return problem("missing sell_mode");
        if (base_.sell_mode == "online")
            record_.mode = sell_mode::online;
        else if (base_.sell_mode == "offline")
            record_.mode = sell_mode::offline;
        else
            return problem(fmt::format("sell_mode '{}' is neither online nor offline", base_.sell_mode));
        record_.base_event_id = base_.base_event_id;
        record_.title = base_.title;
        record_.organizer_company_id = base_.organizer_company_id;
    }

    void read_zones(const pugi::xml_node& event) {
        std::size_t position = 0;
        for (auto zone = event.child("zone"); zone; zone = zone.next_sibling("zone")) {
            ++position;
            zone_record z;
            bool has_id = false;
            bool has_price = false;
            attribute_set seen;
            for (auto a : zone.attributes()) {
                const char* name = a.name();
                auto value = view(a);
                unsigned bit;
                if (named(name, "zone_id")) {
                    bit = 0;
                    z.zone_id = value;
                    has_id = true;
                } else if (named(name, "price")) {
                    bit = 1;
                    has_price = true;
                    if (auto p = money::parse_price(value))
                        z.price = *p;
                    else
                        problem(fmt::format("zone {}: price '{}' is not a non-negative number", position, value));
                } else if (named(name, "capacity")) {
                    bit = 2;
                    z.capacity = parse_count(value);
                    if (!z.capacity)
                        problem(fmt::format("zone {}: capacity '{}' is not a non-negative integer", position, value));
                } else if (named(name, "name")) {
                    bit = 3;
                    z.name = value;
                } else if (named(name, "numbered")) {
                    bit = 4;
                    z.numbered = parse_bool(value);
                    if (!z.numbered) problem(fmt::format("zone {}: numbered '{}' is not a boolean", position, value));
                } else {
                    continue;
                }
                if (!seen.first_time(bit)) problem(fmt::format("zone {} repeats attribute {}", position, name));
            }
            if (!has_id)
                problem(fmt::format("zone {}: missing zone_id", position));
            else if (!valid_id(z.zone_id))
                problem(fmt::format("zone {}: zone_id is empty or has control characters", position));
            if (!has_price) problem(fmt::format("zone {}: missing price", position));
            if (!reason_.empty()) return;
            if (!record_.min_price || z.price < *record_.min_price) record_.min_price = z.price;
            if (!record_.max_price || z.price > *record_.max_price) record_.max_price = z.price;
            scratch_.zones.push_back(z);
        }
    }

    const base_event_fields& base_;
    normaliser_scratch& scratch_;
    event_record record_;
    std::string_view event_id_;
    std::string reason_;
};

constexpr unsigned parse_flags = (pugi::parse_default | pugi::parse_fragment) & ~pugi::parse_doctype;

}  // namespace

void normalise_batch(std::span<char> document, byte_range range, text_encoding encoding, normaliser_scratch& scratch,
                     const std::function<void(const event_outcome&)>& visit) {
    pugi::xml_document doc;
    auto result =
        doc.load_buffer_inplace(document.data() + range.begin, range.end - range.begin, parse_flags,
                                encoding == text_encoding::latin1 ? pugi::encoding_latin1 : pugi::encoding_utf8);
    if (!result)
        throw feed_error(fmt::format("malformed feed at byte {}: {}",
                                     range.begin + static_cast<std::size_t>(result.offset), result.description()));
    for (auto base = doc.child("base_event"); base; base = base.next_sibling("base_event")) {
        auto fields = read_base_event(base);
        event_builder builder(fields, scratch);
        for (auto event = base.child("event"); event; event = event.next_sibling("event")) visit(builder.build(event));
    }
}

}  // namespace detail
}  // namespace marquee::feed
