# Sanitizers for every marquee target, through the marquee::sanitizers INTERFACE target.
#   MARQUEE_SANITIZE  ASan + UBSan (CI's test build, the fuzz build)
#   MARQUEE_TSAN      ThreadSanitizer (CI's build-tsan/, `make test-tsan`)
# TSan cannot share a process with ASan, so the two options exclude each other.
option(MARQUEE_TSAN "Build with ThreadSanitizer (excludes MARQUEE_SANITIZE)" OFF)

add_library(marquee_sanitizers INTERFACE)
add_library(marquee::sanitizers ALIAS marquee_sanitizers)
if(MARQUEE_SANITIZE AND MARQUEE_TSAN)
  message(FATAL_ERROR "MARQUEE_SANITIZE (ASan+UBSan) and MARQUEE_TSAN cannot be combined; pick one")
endif()
if(MARQUEE_SANITIZE)
  set(_marquee_san_flags -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
elseif(MARQUEE_TSAN)
  set(_marquee_san_flags -fsanitize=thread -fno-omit-frame-pointer)
endif()
if(_marquee_san_flags)
  # -O1 -g1 (after the build type's -O2 -g, so they win): sanitizers' recommended optimisation level,
  # and line tables only, which is all a sanitizer's stack trace prints. Under ASan+UBSan, GCC 12
  # spends minutes on each coroutine-heavy file at -O2 -g (the provider mock's server: 237 s at
  # -O2 -g, 122 s at -O1 -g1), and CI compiles everything twice (ASan and TSan) on two cores.
  target_compile_options(marquee_sanitizers INTERFACE -O1 -g1 ${_marquee_san_flags})
  target_link_options(marquee_sanitizers INTERFACE ${_marquee_san_flags})
endif()
if(MARQUEE_TSAN AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 warns at every Boost.Asio handler that TSan does not model std::atomic_thread_fence (Asio's
  # fenced_block). Asio hands handlers between threads through mutex-protected queues, which TSan
  # does see; our own code uses no fences. A report that only a fence would explain goes to
  # tests/tsan.supp with its reason, not this flag.
  target_compile_options(marquee_sanitizers INTERFACE -Wno-tsan)
endif()
