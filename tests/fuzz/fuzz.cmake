# libFuzzer targets (configure with CC=clang -DMXPCS_FUZZ=ON; tools/fuzz.sh does it).
foreach(t fuzz_geom fuzz_options fuzz_bridge)
  add_executable(${t} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/${t}.c)
  target_link_libraries(${t} PRIVATE mxpcs_core)
  target_link_options(${t} PRIVATE -fsanitize=fuzzer)
endforeach()
