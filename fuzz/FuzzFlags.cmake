# Included by the top-level CMakeLists.txt before any target when SHOPFLOW_FUZZ=ON: every
# library is compiled with libFuzzer's coverage instrumentation (so the fuzzers are guided by
# what happens inside shopflow, not only in their own file) and with ASan + UBSan. Only the
# fuzz targets link libFuzzer itself (fuzz/CMakeLists.txt).
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "SHOPFLOW_FUZZ=ON needs clang (libFuzzer): configure with "
                      "CXX=clang++, or use `cmake --preset fuzz` (see fuzz/README.md)")
endif()
# -fno-sanitize=function: clang 14's function-type check puts prologue data before every
# function, which the coroutine splitter cannot lay out ("Cannot represent a difference across
# sections" on any TU with an Asio coroutine). It checks calls through mistyped function
# pointers, which this C++ code base does not make.
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function
                    -fno-sanitize-recover=all -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)
