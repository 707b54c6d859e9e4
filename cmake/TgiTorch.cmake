# libtorch for the shard: Debian's libtorch-dev (CPU, with Gloo) or, for a CUDA build, a CUDA
# libtorch found through CMAKE_PREFIX_PATH / Torch_DIR. Defines the imported target tgi::torch.
find_package(Torch CONFIG REQUIRED)
# ATen's at::parallel_for is a template: it runs on the OpenMP pool only in code compiled with
# OpenMP (ATen/ParallelOpenMP.h defines INTRA_OP_PARALLEL under _OPENMP); without it every
# parallel_for of ours would run serially on the calling thread. Debian's libtorch uses libgomp.
find_package(OpenMP REQUIRED COMPONENTS CXX)
add_library(tgi_torch INTERFACE)
target_link_libraries(tgi_torch INTERFACE ${TORCH_LIBRARIES} OpenMP::OpenMP_CXX)
target_include_directories(tgi_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
add_library(tgi::torch ALIAS tgi_torch)
message(STATUS "libtorch ${Torch_VERSION}: ${TORCH_LIBRARIES}")
