# Every third-party dependency comes from a Debian 12 package (scripts/install-deps.sh); nothing is
# downloaded at configure time.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED COMPONENTS json url)
find_package(fmt REQUIRED)
find_package(pugixml REQUIRED)
find_package(date REQUIRED)
find_package(rabbitmq-c REQUIRED)
find_package(CURL REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
add_library(marquee_cli11 INTERFACE)
target_include_directories(marquee_cli11 SYSTEM INTERFACE ${CLI11_INCLUDE_DIR})

# Common flags every marquee target gets.
add_library(marquee_options INTERFACE)
add_library(marquee::options ALIAS marquee_options)
target_link_libraries(marquee_options INTERFACE marquee::warnings marquee::sanitizers)
target_compile_definitions(marquee_options INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
