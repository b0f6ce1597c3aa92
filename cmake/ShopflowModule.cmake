# Declares one module library and, optionally, its unit-test executable.
#
#   shopflow_module(core
#     SOURCES ids.cpp money.cpp
#     DEPS Boost::json            # public link dependencies (the module's place in the DAG)
#     TESTS ids_test.cpp          # tests beside the code, linked against the module
#     TEST_DEPS shopflow_test_support
#     TEST_LABELS unit)
#
# The library target is named shopflow_<name>; its test target shopflow_<name>_test.
function(shopflow_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers
    # GCC 12 misreports Asio's coroutine frame allocator (a known false positive).
    -Wno-mismatched-new-delete)
  if(SHOPFLOW_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

function(shopflow_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;TESTS;TEST_DEPS;TEST_LABELS" ${ARGN})
  set(target shopflow_${name})
  add_library(${target} STATIC ${ARG_SOURCES})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${target} PUBLIC ${ARG_DEPS})
  shopflow_warnings(${target})
  if(ARG_TESTS AND SHOPFLOW_BUILD_TESTS)
    shopflow_test(${name}_test SOURCES ${ARG_TESTS} DEPS ${target} ${ARG_TEST_DEPS}
                  LABELS ${ARG_TEST_LABELS})
  endif()
endfunction()

# SERIAL: the tests must not run beside others (they stop the shared broker, say).
function(shopflow_test name)
  cmake_parse_arguments(ARG "SERIAL" "" "SOURCES;DEPS;LABELS" ${ARGN})
  set(target shopflow_${name})
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})
  shopflow_warnings(${target})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  set(extra)
  if(ARG_SERIAL)
    set(extra RUN_SERIAL TRUE)
  endif()
  gtest_discover_tests(${target} DISCOVERY_MODE PRE_TEST
                       PROPERTIES LABELS "${ARG_LABELS}" ${extra}
                       DISCOVERY_TIMEOUT 60)
endfunction()
