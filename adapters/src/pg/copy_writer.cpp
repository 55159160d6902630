#include "copy_writer.hpp"

#include "refused_rows.hpp"

#include <pqxx/except>
#include <pqxx/tablewriter>

#include <vector>

namespace marquee::pg::detail {

void copy_rows(pqxx::transaction_base& tx, const std::string& table, std::span<const std::string_view> columns,
               const std::string& rows) {
    if (rows.empty()) return;
    std::vector<std::string> column_names(columns.begin(), columns.end());
    // libpqxx 6.4 offers raw COPY lines only through tablewriter, deprecated there in favour of
    // stream_to, which formats field by field. Our rows are already COPY text (the hot path), and
    // the COPY protocol does not care where lines are cut: one "line" may carry a whole batch.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    try {
        pqxx::tablewriter writer(tx, table, column_names.begin(), column_names.end());
        writer.write_raw_line(rows);
        writer.complete();
    } catch (const pqxx::sql_error& e) {
        storage_error error(e.what(), e.sqlstate());
        if (!error.is_data_error()) throw;
        throw refused_data(error, event_on_copy_line(e.what(), rows, columns));
    }
#pragma GCC diagnostic pop
}

}  // namespace marquee::pg::detail
