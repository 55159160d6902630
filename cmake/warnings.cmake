# Warning flags for every marquee target, carried by an INTERFACE target.
add_library(marquee_warnings INTERFACE)
add_library(marquee::warnings ALIAS marquee_warnings)
target_compile_options(marquee_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                                  -Wold-style-cast -Wcast-align -Woverloaded-virtual)
if(MARQUEE_WERROR)
  target_compile_options(marquee_warnings INTERFACE -Werror)
endif()
