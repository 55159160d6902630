#include "ingestion_sql.hpp"

#include <span>

namespace marquee::pg::ingestion_sql {
namespace {

void append_table(std::string& sql, std::string_view table, std::span<const column_type> columns) {
    sql += "CREATE TEMP TABLE ";
    sql += table;
    sql += " (";
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (i != 0) sql += ", ";
        sql += columns[i].name;
        sql += ' ';
        sql += columns[i].type;
    }
    sql += ") ON COMMIT DROP;\n";
}

}  // namespace

std::string create_stage_tables() {
    std::string sql;
    append_table(sql, "stage_events", stage_event_types);
    append_table(sql, "stage_zones", stage_zone_types);
    return sql;
}

}  // namespace marquee::pg::ingestion_sql
