# libtorch for the shard: Debian's libtorch-dev (CPU, with Gloo) or, for a CUDA build, a CUDA
# libtorch found through CMAKE_PREFIX_PATH / Torch_DIR. Defines the imported target tgi::torch.
find_package(Torch CONFIG REQUIRED)
add_library(tgi_torch INTERFACE)
target_link_libraries(tgi_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(tgi_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
add_library(tgi::torch ALIAS tgi_torch)
message(STATUS "libtorch ${Torch_VERSION}: ${TORCH_LIBRARIES}")
