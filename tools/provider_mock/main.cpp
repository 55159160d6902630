// marquee-provider-mock: serves the provider feed samples of a directory in rotation at
// GET /api/events (and those of each subdirectory <name>/ at GET /providers/<name>/api/events, one
// rotation per provider), with faults injectable by flag or by GET /_control/fault and redirects from
// GET /redirect?to=URL, replies held back until the test releases them (GET /_control/hold, then
// /_control/release; see mock_provider.hpp); optionally the same over HTTPS on a second address.
#include "marquee/config/config.hpp"
#include "marquee/error.hpp"
#include "marquee/log/log.hpp"
#include "mock_provider.hpp"
#include "server.hpp"

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>

#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

std::vector<std::string> xml_files(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.is_regular_file() && entry.path().extension() == ".xml") names.push_back(entry.path().filename());
    return names;
}

std::vector<std::string> sample_files(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        throw marquee::config_error("MOCK_DIR", fmt::format("'{}' is not a directory", dir.string()));
    auto names = xml_files(dir);
    if (names.empty()) throw marquee::config_error("MOCK_DIR", fmt::format("'{}' has no *.xml files", dir.string()));
    return names;
}

// Subdirectories with a provider's name and *.xml files in them; other subdirectories are not served.
std::map<std::string, std::vector<std::string>> provider_files(const std::filesystem::path& dir) {
    std::map<std::string, std::vector<std::string>> providers;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        auto name = entry.path().filename().string();
        if (!entry.is_directory() || !marquee::provider_mock::is_provider_name(name)) continue;
        if (auto names = xml_files(entry.path()); !names.empty()) providers.emplace(std::move(name), std::move(names));
    }
    return providers;
}

boost::asio::ip::tcp::endpoint endpoint_of(const std::string& listen, const char* setting) {
    const auto address = marquee::config::parse_listen_address(listen, setting);
    boost::system::error_code ec;
    const auto ip = boost::asio::ip::make_address(address.host, ec);
    if (ec) throw marquee::config_error(setting, fmt::format("'{}' is not an IP address", address.host));
    return {ip, address.port};
}

// A server-side TLS context from PEM files. Test use only: the mock has no say in cipher policy.
boost::asio::ssl::context tls_context(const std::string& cert, const std::string& key) {
    if (cert.empty() || key.empty())
        throw marquee::config_error("MOCK_TLS_LISTEN", "needs both --tls-cert and --tls-key");
    boost::asio::ssl::context context(boost::asio::ssl::context::tls_server);
    boost::system::error_code ec;
    context.use_certificate_chain_file(cert, ec);
    if (ec) throw marquee::config_error("MOCK_TLS_CERT", fmt::format("cannot use '{}': {}", cert, ec.message()));
    context.use_private_key_file(key, boost::asio::ssl::context::pem, ec);
    if (ec) throw marquee::config_error("MOCK_TLS_KEY", fmt::format("cannot use '{}': {}", key, ec.message()));
    return context;
}

}  // namespace

int main(int argc, char** argv) {
    namespace config = marquee::config;
    namespace mock = marquee::provider_mock;

    CLI::App app{"Serves provider feed samples in rotation at GET /api/events, with injectable faults.",
                 "marquee-provider-mock"};
    std::string listen = "127.0.0.1:8081";
    std::string dir;
    std::string log_level = "info";
    std::string fault_kind;
    std::uint64_t fault_value = 0;
    std::uint64_t fault_count = 1;
    std::string tls_listen;
    std::string tls_cert;
    std::string tls_key;
    config::add(app, "--listen", "MOCK_LISTEN", listen, "Address to listen on (host:port)");
    config::add(app, "--dir", "MOCK_DIR", dir,
                "Directory of *.xml feed samples; those of a subdirectory NAME ([a-z0-9][a-z0-9_.-]*) are served at "
                "/providers/NAME/api/events")
        ->required();
    config::add(app, "--fault", "MOCK_FAULT", fault_kind,
                "Fault armed at start: delay, status, truncate, html, empty, oversize or garbage");
    config::add(app, "--fault-value", "MOCK_FAULT_VALUE", fault_value,
                "Value of --fault (ms, HTTP status or bytes; 0 = the kind's default)");
    config::add(app, "--fault-count", "MOCK_FAULT_COUNT", fault_count,
                "How many /api/events requests get --fault (0 = until /_control/reset)");
    config::add(app, "--tls-listen", "MOCK_TLS_LISTEN", tls_listen,
                "Also serve HTTPS on this address (host:port), with --tls-cert and --tls-key");
    config::add(app, "--tls-cert", "MOCK_TLS_CERT", tls_cert, "PEM certificate (chain) of the HTTPS listener");
    config::add(app, "--tls-key", "MOCK_TLS_KEY", tls_key, "PEM private key of the HTTPS listener");
    config::add(app, "--log-level", "LOG_LEVEL", log_level, "debug, info, warn or error");

    return config::run(app, argc, argv, [&] {
        marquee::log::init("provider-mock", marquee::log::parse_level(log_level));
        const auto endpoint = endpoint_of(listen, "MOCK_LISTEN");
        std::optional<boost::asio::ip::tcp::endpoint> tls_endpoint;
        std::optional<boost::asio::ssl::context> tls;
        if (!tls_listen.empty()) {
            tls_endpoint = endpoint_of(tls_listen, "MOCK_TLS_LISTEN");
            tls.emplace(tls_context(tls_cert, tls_key));
        }

        auto files = sample_files(dir);
        auto providers = provider_files(dir);
        const auto provider_count = providers.size();
        mock::mock_provider provider(std::move(files), std::move(providers));
        if (!fault_kind.empty()) {
            auto kind = mock::parse_fault_kind(fault_kind);
            if (!kind) throw marquee::config_error("MOCK_FAULT", fmt::format("unknown fault kind '{}'", fault_kind));
            provider.arm({*kind, fault_value != 0 ? fault_value : mock::default_value(*kind)}, fault_count);
        }

        boost::asio::io_context io(1);
        // Both listeners share one provider: one io_context thread, so no locking.
        mock::release_gate gate(io);
        provider.on_release([&gate] { gate.open(); });
        mock::server server(io, endpoint, provider, gate, dir);
        std::optional<mock::server> tls_server;
        if (tls_endpoint) tls_server.emplace(io, *tls_endpoint, provider, gate, dir, &*tls);
        boost::asio::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](const boost::system::error_code& error, int signal) {
            if (error) return;
            marquee::log::info("signal {}: shutting down", signal);
            server.stop();
            if (tls_server) tls_server->stop();
            io.stop();
        });
        server.start();
        const auto bound = server.local_endpoint();
        marquee::log::info("listening on {}:{}, serving {} ({} provider directories)", bound.address().to_string(),
                           bound.port(), dir, provider_count);
        if (tls_server) {
            tls_server->start();
            const auto tls_bound = tls_server->local_endpoint();
            marquee::log::info("listening on {}:{} (https)", tls_bound.address().to_string(), tls_bound.port());
        }
        io.run();
        return 0;
    });
}
