#pragma once
// Streams pre-formatted COPY text into a table.
#include <pqxx/transaction_base>

#include <span>
#include <string>
#include <string_view>

namespace marquee::pg::detail {

/// Sends `rows` (complete COPY text lines, each ending in '\n') to `table` (`columns`) in one COPY.
void copy_rows(pqxx::transaction_base& tx, const std::string& table, std::span<const std::string_view> columns,
               const std::string& rows);

}  // namespace marquee::pg::detail
