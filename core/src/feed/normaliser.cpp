#include "marquee/feed/detail/normaliser.hpp"

#include "marquee/error.hpp"
#include "marquee/text/utf8.hpp"

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
// paying for a full comparison. strcmp, not memcmp: a shorter name ends at its NUL, and the bytes
// after it may be the end of the buffer (a start tag parsed from its own copy).
template <std::size_t N>
bool named(const char* name, const char (&literal)[N]) noexcept {
    return name[0] == literal[0] && std::strcmp(name, literal) == 0;
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

// Ids end up in the UUID name and in logs: no control characters, bounded length, and stored
// exactly as given (valid UTF-8), so the id derived from them names what is stored.
bool valid_id(std::string_view s) noexcept {
    if (s.empty() || s.size() > max_id_length) return false;
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f) return false;
    return text::is_valid_utf8(s);
}

// Why a free-text value (title, organizer, zone name) cannot be stored exactly, or "".
std::string text_problem(const char* name, std::string_view value, const limits& caps) {
    if (static_cast<std::int64_t>(value.size()) > caps.max_attribute_bytes)
        return fmt::format("{} is {} bytes, over the cap of {}", name, value.size(), caps.max_attribute_bytes);
    if (!text::is_valid_utf8(value)) return fmt::format("{} {} is not valid UTF-8", name, text::quoted(value));
    return {};
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
    event_builder(const base_event_fields& base, const limits& caps, normaliser_scratch& scratch)
        : base_(base), caps_(caps), scratch_(scratch) {}

    event_outcome build(const pugi::xml_node& node) {
        if (!count_event()) return reject_whole(node, over_events_cap());
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

    /// Counts one more event of the base_event; false when it is over the cap.
    bool count_event() noexcept { return ++events_ <= caps_.max_events_per_base_event; }

    std::string over_events_cap() const {
        return fmt::format("its base_event holds more than {} events, the cap", caps_.max_events_per_base_event);
    }

    /// Rejects the event whose start tag is `node` for `reason`, reading only its event_id.
    rejection reject_whole(const pugi::xml_node& node, std::string reason) {
        event_id_ = {};
        for (auto a : node.attributes())
            if (named(a.name(), "event_id")) event_id_ = view(a);
        reason_ = std::move(reason);
        return reject();
    }

private:
    void problem(std::string reason) {
        if (reason_.empty()) reason_ = std::move(reason);
    }

    // Ids that make a usable key are kept as they are (they name the stored event); any other
    // value is kept only quoted and cut short, so a hostile one costs neither memory nor log lines.
    rejection reject() const {
        bool has_key = base_.has_base_event_id && valid_id(base_.base_event_id) && valid_id(event_id_);
        auto keep = [&](std::string_view id) { return has_key ? std::string(id) : text::quoted(id); };
        return rejection{base_.has_base_event_id ? keep(base_.base_event_id) : std::string{}, keep(event_id_), reason_,
                         has_key};
    }

    std::optional<time::local_datetime> date_attribute(const char* name, std::string_view text) {
        auto parsed = time::parse_local_datetime(text);
        if (!parsed)
            problem(fmt::format("{} {} is not a valid date-time", name, text::quoted(text)));
        else if (!time::is_storable(*parsed))
            problem(fmt::format("{} {} is before the year 0001", name, text::quoted(text)));
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
                if (!record_.sold_out) problem(fmt::format("sold_out {} is not a boolean", text::quoted(value)));
            } else {
                continue;
            }
            if (!seen.first_time(bit)) problem(fmt::format("event repeats attribute {}", name));
        }
        if (!has_event_id)
            problem("missing event_id");
        else if (!valid_id(event_id_))
            problem("event_id is empty, too long, not UTF-8 or has control characters");
        if (!has_start) problem("missing event_start_date");
        if (!has_end) problem("missing event_end_date");
        if (reason_.empty() && record_.end < record_.start) problem("event ends before it starts");
        record_.event_id = event_id_;
    }

    void apply_base_event() {
        if (!base_.problem.empty()) return problem(base_.problem);
        if (!base_.has_base_event_id) return problem("missing base_event_id");
        if (!valid_id(base_.base_event_id))
            return problem("base_event_id is empty, too long, not UTF-8 or has control characters");
        if (!base_.has_title || is_blank(base_.title)) return problem("missing title");
        if (auto p = text_problem("title", base_.title, caps_); !p.empty()) return problem(std::move(p));
        if (base_.organizer_company_id)
            if (auto p = text_problem("organizer_company_id", *base_.organizer_company_id, caps_); !p.empty())
                return problem(std::move(p));
        if (!base_.has_sell_mode) return problem("missing sell_mode");
        if (base_.sell_mode == "online")
            record_.mode = sell_mode::online;
        else if (base_.sell_mode == "offline")
            record_.mode = sell_mode::offline;
        else
            return problem(fmt::format("sell_mode {} is neither online nor offline", text::quoted(base_.sell_mode)));
        record_.base_event_id = base_.base_event_id;
        record_.title = base_.title;
        record_.organizer_company_id = base_.organizer_company_id;
    }

    void read_zones(const pugi::xml_node& event) {
        std::size_t position = 0;
        for (auto zone = event.child("zone"); zone; zone = zone.next_sibling("zone")) {
            ++position;
            if (static_cast<std::int64_t>(position) > caps_.max_zones_per_event)
                return problem(fmt::format("more than {} zones, the cap", caps_.max_zones_per_event));
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
                        problem(fmt::format("zone {}: price {} is not a non-negative number", position,
                                            text::quoted(value)));
                } else if (named(name, "capacity")) {
                    bit = 2;
                    z.capacity = parse_count(value);
                    if (!z.capacity)
                        problem(fmt::format("zone {}: capacity {} is not a non-negative integer", position,
                                            text::quoted(value)));
                } else if (named(name, "name")) {
                    bit = 3;
                    z.name = value;
                    if (auto p = text_problem("name", value, caps_); !p.empty())
                        problem(fmt::format("zone {}: {}", position, p));
                } else if (named(name, "numbered")) {
                    bit = 4;
                    z.numbered = parse_bool(value);
                    if (!z.numbered)
                        problem(fmt::format("zone {}: numbered {} is not a boolean", position, text::quoted(value)));
                } else {
                    continue;
                }
                if (!seen.first_time(bit)) problem(fmt::format("zone {} repeats attribute {}", position, name));
            }
            if (!has_id)
                problem(fmt::format("zone {}: missing zone_id", position));
            else if (!valid_id(z.zone_id))
                problem(
                    fmt::format("zone {}: zone_id is empty, too long, not UTF-8 or has control characters", position));
            if (!has_price) problem(fmt::format("zone {}: missing price", position));
            if (!reason_.empty()) return;
            if (!record_.min_price || z.price < *record_.min_price) record_.min_price = z.price;
            if (!record_.max_price || z.price > *record_.max_price) record_.max_price = z.price;
            scratch_.zones.push_back(z);
        }
    }

    const base_event_fields& base_;
    const limits& caps_;
    normaliser_scratch& scratch_;
    std::int64_t events_ = 0;
    event_record record_;
    std::string_view event_id_;
    std::string reason_;
};

constexpr unsigned parse_flags = (pugi::parse_default | pugi::parse_fragment) & ~pugi::parse_doctype;

pugi::xml_encoding pugi_encoding(text_encoding encoding) noexcept {
    return encoding == text_encoding::latin1 ? pugi::encoding_latin1 : pugi::encoding_utf8;
}

// Where the first character reference to U+0000 ("&#0;", "&#x00;", …) starts, or npos.
std::size_t find_nul_reference(std::string_view text) noexcept {
    for (auto at = text.find("&#"); at != std::string_view::npos; at = text.find("&#", at + 2)) {
        std::size_t i = at + 2;
        bool hex = i < text.size() && (text[i] == 'x' || text[i] == 'X');
        if (hex) ++i;
        std::size_t digits = 0;
        while (i < text.size() && text[i] == '0') ++i, ++digits;
        if (digits > 0 && i < text.size() && text[i] == ';') return at;
    }
    return std::string_view::npos;
}

// pugixml decodes a reference to U+0000 into a NUL byte, which would cut the value short without
// a trace (and no text column can hold NUL). Such references become references to a lone
// surrogate, which decodes to bytes the UTF-8 check rejects: the event is rejected, not truncated.
// Rare, so only then is the range copied.
std::string without_nul_references(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    std::size_t copied = 0;
    for (auto at = find_nul_reference(text); at != std::string_view::npos;
         at = find_nul_reference(text.substr(copied))) {
        at += copied;
        out.append(text.substr(copied, at - copied));
        out += "&#xD800;";
        copied = text.find(';', at) + 1;
    }
    out.append(text.substr(copied));
    return out;
}

// Parses document[begin, end) in place; `copy` holds the range instead when it had to be rewritten.
void parse_in_place(pugi::xml_document& doc, std::span<char> document, std::size_t begin, std::size_t end,
                    text_encoding encoding, std::string& copy) {
    std::string_view range(document.data() + begin, end - begin);
    char* buffer = document.data() + begin;
    std::size_t size = end - begin;
    if (auto nul = find_nul_reference(range); nul != std::string_view::npos) {
        copy = without_nul_references(range);
        buffer = copy.data();
        size = copy.size();
    }
    auto result = doc.load_buffer_inplace(buffer, size, parse_flags, pugi_encoding(encoding));
    if (!result)
        throw feed_error(fmt::format("malformed feed at byte {}: {}", begin + static_cast<std::size_t>(result.offset),
                                     result.description()));
}

// Just after the '>' of the start tag at document[begin] (quoted values may hold '>').
std::size_t start_tag_end(std::string_view document, std::size_t begin) {
    for (auto i = begin; i < document.size(); ++i) {
        char c = document[i];
        if (c == '"' || c == '\'') {
            i = document.find(c, i + 1);
            if (i == std::string_view::npos) break;
        } else if (c == '>') {
            return i + 1;
        }
    }
    throw feed_error(fmt::format("malformed feed at byte {}: unterminated start tag", begin));
}

// A start tag alone, parsed from a copy as an empty element: all a rejection needs to know.
pugi::xml_node parse_start_tag(pugi::xml_document& doc, std::string_view document, std::size_t begin,
                               std::size_t start_tag_end, text_encoding encoding) {
    // "<name attributes>" becomes "<name attributes/>"; an empty-element tag stays as it is.
    std::string tag(document.substr(begin, start_tag_end - begin));
    if (!tag.ends_with("/>")) {
        tag.pop_back();
        tag += "/>";
    }
    if (find_nul_reference(tag) != std::string_view::npos) tag = without_nul_references(tag);
    auto result = doc.load_buffer(tag.data(), tag.size(), parse_flags, pugi_encoding(encoding));
    if (!result) throw feed_error(fmt::format("malformed feed at byte {}: {}", begin, result.description()));
    return doc.first_child();
}

// A child of <output> larger than a batch, read event by event. An event whose zones or XML nodes
// are over the caps is rejected from its start tag alone: no DOM is built for it.
void normalise_split(std::span<char> document, const batch_range& batch, text_encoding encoding, const limits& caps,
                     normaliser_scratch& scratch, const std::function<void(const event_outcome&)>& visit) {
    std::string_view text(document.data(), document.size());
    auto name_end = text.find_first_of(" \t\r\n/>", batch.begin + 1);
    if (text.substr(batch.begin + 1, name_end - batch.begin - 1) != "base_event") {
        // Not read, but checked as a whole batch would have been: a malformed feed fails whatever the cut.
        pugi::xml_document ignored;
        std::string copy;
        parse_in_place(ignored, document, batch.begin, batch.end, encoding, copy);
        return;
    }
    // Each event's DOM holds its zones and whatever else is inside it: bound both.
    const auto max_nodes = static_cast<std::size_t>(caps.max_zones_per_event) * 16 + 1024;
    pugi::xml_document base_doc;
    auto base = parse_start_tag(base_doc, text, batch.begin, start_tag_end(text, batch.begin), encoding);
    auto fields = read_base_event(base);
    event_builder builder(fields, caps, scratch);
    // Events are read as the scan finds them; parsing one in place changes only its own bytes,
    // which the scan has passed.
    for_each_child(text, batch.begin, [&](const child_element& child) {
        pugi::xml_document doc;
        std::string copy;
        if (child.name != "event") {
            parse_in_place(doc, document, child.begin, child.end, encoding, copy);
            return;
        }
        std::string reason;
        if (static_cast<std::int64_t>(child.zones) > caps.max_zones_per_event)
            reason = fmt::format("more than {} zones, the cap", caps.max_zones_per_event);
        else if (child.nodes > max_nodes)
            reason = fmt::format("{} XML nodes inside it, over the {} that {} zones allow", child.nodes, max_nodes,
                                 caps.max_zones_per_event);
        if (!reason.empty()) {
            builder.count_event();
            visit(builder.reject_whole(parse_start_tag(doc, text, child.begin, child.start_tag_end, encoding),
                                       std::move(reason)));
            return;
        }
        parse_in_place(doc, document, child.begin, child.end, encoding, copy);
        visit(builder.build(doc.first_child()));
    });
}

}  // namespace

void normalise_batch(std::span<char> document, const batch_range& batch, text_encoding encoding, const limits& caps,
                     normaliser_scratch& scratch, const std::function<void(const event_outcome&)>& visit) {
    if (batch.split) return normalise_split(document, batch, encoding, caps, scratch, visit);
    pugi::xml_document doc;
    std::string copy;
    parse_in_place(doc, document, batch.begin, batch.end, encoding, copy);
    for (auto base = doc.child("base_event"); base; base = base.next_sibling("base_event")) {
        auto fields = read_base_event(base);
        event_builder builder(fields, caps, scratch);
        for (auto event = base.child("event"); event; event = event.next_sibling("event")) visit(builder.build(event));
    }
}

}  // namespace detail
}  // namespace marquee::feed
