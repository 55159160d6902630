# Warning flags for every marquee target, carried by an INTERFACE target.
add_library(marquee_warnings INTERFACE)
add_library(marquee::warnings ALIAS marquee_warnings)
target_compile_options(marquee_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                                  -Wold-style-cast -Wcast-align -Woverloaded-virtual)
if(MARQUEE_WERROR)
  target_compile_options(marquee_warnings INTERFACE -Werror)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12's middle-end reports these inside Boost.Optional (via Beast's parser), Asio's
    # coroutine frames and libstdc++'s string concatenation (-Wrestrict at -O3) once inlining
    # changes; they ignore system-header status. They stay
    # visible as warnings, but a false positive in a Debian header must not fail our build.
    target_compile_options(marquee_warnings INTERFACE -Wno-error=maybe-uninitialized
                                                      -Wno-error=mismatched-new-delete
                                                      -Wno-error=restrict)
  endif()
endif()
