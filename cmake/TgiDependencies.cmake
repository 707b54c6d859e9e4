# Finds every third-party dependency from the system (Debian packages), with CMake config files
# where the package ships them and pkg-config otherwise. The shard's libtorch lives in
# TgiTorch.cmake so that the router can be built on a machine without torch.

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_program(TGI_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
find_package(absl CONFIG REQUIRED)

find_package(Boost 1.81 CONFIG REQUIRED COMPONENTS json)
find_package(CLI11 CONFIG REQUIRED)
find_package(spdlog CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)

pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)

if(TGI_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()

if(TGI_BUILD_SHARD)
  include(TgiTorch)
endif()
