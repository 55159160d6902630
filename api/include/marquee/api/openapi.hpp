#pragma once
// The API contract, api/openapi.yaml, compiled into the binary so /openapi.yaml needs no file.
#include <string_view>

namespace marquee::api {

/// The bytes of api/openapi.yaml as of the build.
extern const std::string_view openapi_yaml;

}  // namespace marquee::api
