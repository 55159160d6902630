#include "marquee/feed/detail/scanner.hpp"

#include "marquee/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

namespace marquee::feed::detail {
namespace {

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_name_char(char c) noexcept {
    return !is_space(c) && c != '/' && c != '>' && c != '=' && c != '<' && c != '"' && c != '\'';
}

bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

class scanner {
public:
    scanner(std::string_view doc, std::size_t batch_bytes) : doc_(doc), batch_bytes_(batch_bytes) {}

    void children(std::size_t begin, const std::function<void(const child_element&)>& visit) {
        pos_ = begin + 1;
        auto parent = read_name();
        if (finish_start_tag()) return;
        read_children(parent, [&](std::string_view name, std::size_t tag_start, bool empty) {
            child_element child{name, tag_start, pos_, pos_};
            auto attributes_before = attributes_;
            if (!empty) skip_element_body(name, &child);
            child.nodes += attributes_ - attributes_before;
            child.end = pos_;
            visit(child);
        });
    }

    feed_layout run() {
        skip_bom();
        reject_nul_bytes();
        skip_prolog();
        read_root();
        skip_epilog();
        return std::move(layout_);
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw feed_error(fmt::format("malformed feed at byte {}: {}", pos_, what));
    }

    bool at(std::string_view s) const noexcept { return doc_.substr(pos_, s.size()) == s; }

    void skip_spaces() noexcept {
        while (pos_ < doc_.size() && is_space(doc_[pos_])) ++pos_;
    }

    void skip_past(std::string_view terminator, const char* what) {
        auto found = doc_.find(terminator, pos_);
        if (found == std::string_view::npos) fail(fmt::format("unterminated {}", what));
        pos_ = found + terminator.size();
    }

    void skip_bom() {
        if (doc_.empty()) throw feed_error("malformed feed: the document is empty");
        if (at("\xEF\xBB\xBF"))
            pos_ = 3;
        else if (at("\xFE\xFF") || at("\xFF\xFE"))
            throw feed_error("malformed feed: UTF-16 feeds are not supported");
    }

    // XML allows no U+0000 anywhere. pugixml stops at one, failing whatever range it parses, so one
    // the batches never parse (between elements, inside elements nobody reads) would otherwise
    // decide the verdict by how the feed is cut.
    void reject_nul_bytes() {
        if (auto nul = doc_.find('\0', pos_); nul != std::string_view::npos) {
            pos_ = nul;
            fail("a NUL byte, which XML does not allow");
        }
    }

    void read_declaration() {
        auto start = pos_;
        skip_past("?>", "XML declaration");
        auto decl = doc_.substr(start, pos_ - start);
        auto key = decl.find("encoding");
        if (key == std::string_view::npos) return;
        auto quote = decl.find_first_of("\"'", key);
        if (quote == std::string_view::npos) fail("bad encoding in the XML declaration");
        auto close = decl.find(decl[quote], quote + 1);
        if (close == std::string_view::npos) fail("bad encoding in the XML declaration");
        auto name = decl.substr(quote + 1, close - quote - 1);
        if (ascii_iequals(name, "UTF-8") || ascii_iequals(name, "UTF8") || ascii_iequals(name, "US-ASCII") ||
            ascii_iequals(name, "ASCII")) {
            layout_.encoding = text_encoding::utf8;
        } else if (ascii_iequals(name, "ISO-8859-1") || ascii_iequals(name, "LATIN1") ||
                   ascii_iequals(name, "ISO_8859-1")) {
            layout_.encoding = text_encoding::latin1;
        } else {
            throw feed_error(fmt::format("malformed feed: unsupported encoding '{}'", name));
        }
    }

    // A DOCTYPE is skipped, never interpreted: no DTD or external entity is fetched or expanded.
    void skip_doctype() {
        int brackets = 0;
        for (; pos_ < doc_.size(); ++pos_) {
            char c = doc_[pos_];
            if (c == '"' || c == '\'') {
                auto close = doc_.find(c, pos_ + 1);
                if (close == std::string_view::npos) break;
                pos_ = close;
            } else if (c == '[') {
                ++brackets;
            } else if (c == ']') {
                --brackets;
            } else if (c == '>' && brackets <= 0) {
                ++pos_;
                return;
            }
        }
        fail("unterminated DOCTYPE");
    }

    // Comments and processing instructions, allowed around the root element.
    bool skip_misc() {
        if (at("<!--")) {
            skip_past("-->", "comment");
            return true;
        }
        if (at("<?")) {
            skip_past("?>", "processing instruction");
            return true;
        }
        return false;
    }

    void skip_prolog() {
        skip_spaces();
        if (at("<?xml") && pos_ + 5 < doc_.size() && (is_space(doc_[pos_ + 5]) || doc_[pos_ + 5] == '?'))
            read_declaration();
        for (;;) {
            skip_spaces();
            if (skip_misc()) continue;
            if (at("<!DOCTYPE")) {
                skip_doctype();
                continue;
            }
            break;
        }
        if (pos_ >= doc_.size()) fail("no root element");
        if (doc_[pos_] != '<') fail("text before the root element (is this XML?)");
    }

    std::string_view read_name() {
        auto start = pos_;
        while (pos_ < doc_.size() && is_name_char(doc_[pos_])) ++pos_;
        if (pos_ == start) fail("missing element name");
        return doc_.substr(start, pos_ - start);
    }

    // From just after the element name to just after '>'. Returns true for an empty-element tag.
    bool finish_start_tag() {
        for (; pos_ < doc_.size(); ++pos_) {
            char c = doc_[pos_];
            if (c == '=') {
                ++attributes_;
            } else if (c == '"' || c == '\'') {
                auto close = doc_.find(c, pos_ + 1);
                if (close == std::string_view::npos) break;
                pos_ = close;
            } else if (c == '<') {
                fail("'<' inside a tag");
            } else if (c == '>') {
                ++pos_;
                return doc_[pos_ - 2] == '/';
            }
        }
        fail("document ends inside a tag (truncated?)");
    }

    void read_end_tag(std::string_view expected) {
        pos_ += 2;
        auto name = read_name();
        skip_spaces();
        if (pos_ >= doc_.size() || doc_[pos_] != '>') fail("bad end tag");
        ++pos_;
        if (!expected.empty() && name != expected)
            fail(fmt::format("end tag </{}> does not match <{}>", name, expected));
    }

    // Inside the root: skips a comment, CDATA section or processing instruction at pos_ and says
    // whether it did. A DOCTYPE or other declaration has no place there.
    bool skip_markup() {
        if (at("<!--")) {
            skip_past("-->", "comment");
        } else if (at("<![CDATA[")) {
            skip_past("]]>", "CDATA section");
        } else if (at("<?")) {
            skip_past("?>", "processing instruction");
        } else if (at("<!")) {
            fail("markup declaration inside the document");
        } else {
            return false;
        }
        return true;
    }

    // Skips the rest of the element `name` whose start tag has been read, checking only that every
    // end tag matches its start tag: the inside is checked by pugixml later (or ignored, for elements
    // we do not read), but how the feed is cut into batches must never decide whether a mismatch
    // is seen. With `count`, also counts what is inside.
    void skip_element_body(std::string_view name, child_element* count = nullptr) {
        open_.clear();
        open_.push_back(name);
        while (!open_.empty()) {
            auto next = doc_.find('<', pos_);
            if (next == std::string_view::npos) {
                pos_ = doc_.size();
                fail("document ends inside an element (truncated?)");
            }
            pos_ = next;
            if (skip_markup()) {
                continue;
            } else if (at("</")) {
                read_end_tag(open_.back());
                open_.pop_back();
            } else {
                ++pos_;
                auto child = read_name();
                if (count) {
                    ++count->nodes;
                    if (open_.size() == 1 && child == "zone") ++count->zones;
                }
                if (!finish_start_tag()) open_.push_back(child);
            }
        }
    }

    // Reads the children of an element until its end tag; `on_child` handles each child element
    // after its start tag was read. Returns where the end tag starts.
    template <typename OnChild>
    std::size_t read_children(std::string_view parent, OnChild on_child) {
        for (;;) {
            auto next = doc_.find('<', pos_);
            if (next == std::string_view::npos) {
                pos_ = doc_.size();
                fail(fmt::format("document ends inside <{}> (truncated?)", parent));
            }
            pos_ = next;
            if (skip_markup()) {
                continue;
            } else if (at("</")) {
                auto end_tag = pos_;
                read_end_tag(parent);
                return end_tag;
            } else {
                auto tag_start = pos_;
                ++pos_;
                auto name = read_name();
                bool empty = finish_start_tag();
                on_child(name, tag_start, empty);
            }
        }
    }

    void read_output() {
        std::size_t batch_begin = 0;
        bool open = false;
        auto end_tag = read_children("output", [&](std::string_view name, std::size_t tag_start, bool empty) {
            if (!empty) skip_element_body(name);
            if (pos_ - tag_start > batch_bytes_) {
                if (open) layout_.batches.push_back({batch_begin, tag_start});
                layout_.batches.push_back({tag_start, pos_, true});
                open = false;
                return;
            }
            if (!open) {
                batch_begin = tag_start;
                open = true;
            }
            if (pos_ - batch_begin >= batch_bytes_) {
                layout_.batches.push_back({batch_begin, pos_});
                open = false;
            }
        });
        if (open) layout_.batches.push_back({batch_begin, end_tag});
    }

    void read_root() {
        ++pos_;
        auto name = read_name();
        if (name != "eventList") fail(fmt::format("root element is <{}>, expected <eventList>", name));
        if (finish_start_tag()) return;
        read_children("eventList", [&](std::string_view child, std::size_t, bool empty) {
            if (empty) return;
            if (child == "output")
                read_output();
            else
                skip_element_body(child);
        });
    }

    void skip_epilog() {
        for (;;) {
            skip_spaces();
            if (pos_ >= doc_.size()) return;
            if (!skip_misc()) fail("content after the root element");
        }
    }

    std::string_view doc_;
    std::size_t batch_bytes_;
    std::size_t pos_ = 0;
    std::size_t attributes_ = 0;
    std::vector<std::string_view> open_;  // skip_element_body's open elements, innermost last
    feed_layout layout_;
};

}  // namespace

feed_layout scan_feed(std::string_view document, std::size_t batch_bytes) {
    return scanner(document, std::max<std::size_t>(batch_bytes, 1)).run();
}

void for_each_child(std::string_view document, std::size_t begin,
                    const std::function<void(const child_element&)>& visit) {
    scanner(document, 1).children(begin, visit);
}

}  // namespace marquee::feed::detail
