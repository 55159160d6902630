// LOG_FORMAT=json: one JSON object per record and line, with the scope's and the record's fields.
#include "marquee/error.hpp"
#include "marquee/log/fields.hpp"

#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace mlog = marquee::log;

namespace {

// Runs `body` with stderr sent to a temporary file; returns the lines written.
template <typename Body>
std::vector<std::string> stderr_lines_of(Body body) {
    std::FILE* capture = std::tmpfile();
    int saved = ::dup(STDERR_FILENO);
    ::dup2(::fileno(capture), STDERR_FILENO);
    body();
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    std::rewind(capture);
    std::vector<std::string> lines;
    std::string line;
    for (int c = std::fgetc(capture); c != EOF; c = std::fgetc(capture)) {
        if (c == '\n') {
            lines.push_back(line);
            line.clear();
        } else {
            line.push_back(static_cast<char>(c));
        }
    }
    std::fclose(capture);
    EXPECT_TRUE(line.empty()) << "a record did not end its line";
    return lines;
}

class json_log : public ::testing::Test {
protected:
    void SetUp() override {
        mlog::init("unit", mlog::level::debug);
        mlog::set_format(mlog::format::json);
    }
    void TearDown() override {
        mlog::set_format(mlog::format::text);
        mlog::init("unit", mlog::level::info);
    }
};

}  // namespace

TEST_F(json_log, a_record_is_one_object_with_time_level_component_and_message) {
    auto lines = stderr_lines_of([] { mlog::warn("disk {} full", "/var"); });
    ASSERT_EQ(lines.size(), 1U);
    auto record = boost::json::parse(lines[0]).as_object();
    EXPECT_EQ(record.size(), 4U);
    EXPECT_EQ(record.at("level").as_string(), "warn");
    EXPECT_EQ(record.at("component").as_string(), "unit");
    EXPECT_EQ(record.at("message").as_string(), "disk /var full");
    std::string time(record.at("time").as_string());
    ASSERT_EQ(time.size(), 24U) << time;  // 2026-11-26T03:24:01.123Z
    EXPECT_EQ(time[10], 'T');
    EXPECT_EQ(time.back(), 'Z');
}

TEST_F(json_log, scope_fields_then_record_fields_follow_and_numbers_stay_numbers) {
    auto lines = stderr_lines_of([] {
        mlog::scope job{{"provider", "acme"}, {"job_id", "j-1"}};
        {
            mlog::scope run{{"run_id", std::int64_t{42}}};
            mlog::info(mlog::fields{{"events_seen", std::size_t{3}}}, "done");
        }
        mlog::info("after the run");
    });
    ASSERT_EQ(lines.size(), 2U);
    auto first = boost::json::parse(lines[0]).as_object();
    EXPECT_EQ(first.at("provider").as_string(), "acme");
    EXPECT_EQ(first.at("job_id").as_string(), "j-1");
    EXPECT_EQ(first.at("run_id").as_int64(), 42);
    EXPECT_EQ(first.at("events_seen").as_int64(), 3);
    auto second = boost::json::parse(lines[1]).as_object();
    EXPECT_EQ(second.at("provider").as_string(), "acme");
    EXPECT_FALSE(second.contains("run_id")) << "a closed scope's fields must not outlive it";
}

TEST_F(json_log, hostile_text_cannot_break_the_line_or_the_object) {
    std::string hostile = "a\"b\\c\nd\re\x01 \xff end";
    auto lines = stderr_lines_of([&] { mlog::error(mlog::fields{{"title", hostile}}, "bad {}", hostile); });
    ASSERT_EQ(lines.size(), 1U) << "a newline in a value split the record";
    auto record = boost::json::parse(lines[0]).as_object();
    EXPECT_EQ(record.at("message").as_string(), "bad a\"b\\c\nd\re\x01 \xEF\xBF\xBD end");
    EXPECT_EQ(record.at("title").as_string(), "a\"b\\c\nd\re\x01 \xEF\xBF\xBD end");
}

TEST_F(json_log, the_text_format_is_unchanged_and_shows_the_message_only) {
    mlog::set_format(mlog::format::text);
    auto lines = stderr_lines_of([] {
        mlog::scope job{{"job_id", "j-1"}};
        mlog::info(mlog::fields{{"count", 1}}, "hello");
    });
    ASSERT_EQ(lines.size(), 1U);
    EXPECT_EQ(lines[0].substr(24), " INFO unit: hello") << lines[0];
}

TEST(log_format, only_text_and_json_are_accepted) {
    EXPECT_EQ(mlog::parse_format("text"), mlog::format::text);
    EXPECT_EQ(mlog::parse_format("json"), mlog::format::json);
    for (auto bad : {"", "JSON", "xml", "json "}) EXPECT_THROW(mlog::parse_format(bad), marquee::config_error) << bad;
}
