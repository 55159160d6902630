#pragma once
// Writes one JSON object member by member, commas and key quoting taken care of: the event
// detail and history bodies have many optional members, each null when absent.
#include "marquee/json/escape.hpp"
#include "marquee/time/local_datetime.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace marquee::events::detail {

class object_writer {
public:
    explicit object_writer(std::string& out) : out_(out) { out_.push_back('{'); }
    object_writer(const object_writer&) = delete;
    object_writer& operator=(const object_writer&) = delete;
    ~object_writer() = default;

    void text(std::string_view key, std::string_view value) {
        member(key);
        json::append_string(out_, value);
    }
    void optional_text(std::string_view key, const std::optional<std::string>& value) {
        if (value)
            text(key, *value);
        else
            null(key);
    }
    /// Numeric text as a JSON number; null when absent or no JSON number (PostgreSQL's NaN).
    void number(std::string_view key, const std::optional<std::string>& numeric) {
        member(key);
        out_.append(numeric && json::is_number(*numeric) ? std::string_view(*numeric) : std::string_view("null"));
    }
    void integer(std::string_view key, std::optional<std::int64_t> value) {
        if (!value) return null(key);
        member(key);
        std::array<char, 24> digits{};
        auto end = std::to_chars(digits.data(), digits.data() + digits.size(), *value).ptr;
        out_.append(digits.data(), end);
    }
    void boolean(std::string_view key, std::optional<bool> value) {
        member(key);
        out_.append(!value ? "null" : *value ? "true" : "false");
    }
    void instant(std::string_view key, time::instant value) { text(key, time::format_rfc3339(value)); }
    void null(std::string_view key) {
        member(key);
        out_.append("null");
    }
    /// An array of objects: `write(object_writer&, item)` writes each item's members.
    template <typename Items, typename Write>
    void objects(std::string_view key, const Items& items, Write write) {
        member(key);
        out_.push_back('[');
        bool first_item = true;
        for (const auto& item : items) {
            if (!first_item) out_.push_back(',');
            first_item = false;
            object_writer object(out_);
            write(object, item);
            object.close();
        }
        out_.push_back(']');
    }
    /// Starts a member whose value the caller appends (an array, an object).
    void member(std::string_view key) {
        if (!first_) out_.push_back(',');
        first_ = false;
        json::append_string(out_, key);
        out_.push_back(':');
    }
    void close() { out_.push_back('}'); }

private:
    std::string& out_;
    bool first_ = true;
};

}  // namespace marquee::events::detail
