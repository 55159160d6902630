# ASan + UBSan for every marquee target when MARQUEE_SANITIZE is on (CI runs the tests this way).
add_library(marquee_sanitizers INTERFACE)
add_library(marquee::sanitizers ALIAS marquee_sanitizers)
if(MARQUEE_SANITIZE)
  set(_marquee_san_flags -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_compile_options(marquee_sanitizers INTERFACE ${_marquee_san_flags})
  target_link_options(marquee_sanitizers INTERFACE ${_marquee_san_flags})
endif()
