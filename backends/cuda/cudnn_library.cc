#include "backends/cuda/cudnn_library.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace tapconv::cudnn {
namespace {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
Library* Open() {
  auto* lib = new Library();
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("TAPCONV_CUDNN_LIBRARY"); env && *env)
    candidates.emplace_back(env);
  candidates.insert(candidates.end(), {"libcudnn.so.9", "libcudnn.so",
                                       "/usr/local/cuda/lib64/libcudnn.so.9"});
  void* handle = nullptr;
  std::string errors;
  for (const std::string& name : candidates) {
    handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle != nullptr) {
      lib->path = name;
      break;
    }
    const char* e = dlerror();
    errors += (errors.empty() ? "" : "; ") + std::string(e ? e : name);
  }
  if (handle == nullptr) {
    lib->error = "cuDNN not found (dlopen: " + errors +
                 "); dense convolutions on CUDA need libcudnn.so.9 on the "
                 "loader path (LD_LIBRARY_PATH) or TAPCONV_CUDNN_LIBRARY";
    return lib;
  }
  std::string missing;
#define TAPCONV_CUDNN_LOAD(name)                                           \
  lib->name = reinterpret_cast<decltype(lib->name)>(dlsym(handle, #name)); \
  if (lib->name == nullptr)                                                \
    missing += std::string(missing.empty() ? "" : ", ") + #name;
  TAPCONV_CUDNN_LOAD(cudnnGetVersion)
  TAPCONV_CUDNN_LOAD(cudnnGetErrorString)
  TAPCONV_CUDNN_LOAD(cudnnCreate)
  TAPCONV_CUDNN_LOAD(cudnnDestroy)
  TAPCONV_CUDNN_LOAD(cudnnSetStream)
  TAPCONV_CUDNN_LOAD(cudnnCreateTensorDescriptor)
  TAPCONV_CUDNN_LOAD(cudnnSetTensorNdDescriptor)
  TAPCONV_CUDNN_LOAD(cudnnDestroyTensorDescriptor)
  TAPCONV_CUDNN_LOAD(cudnnCreateFilterDescriptor)
  TAPCONV_CUDNN_LOAD(cudnnSetFilterNdDescriptor)
  TAPCONV_CUDNN_LOAD(cudnnDestroyFilterDescriptor)
  TAPCONV_CUDNN_LOAD(cudnnCreateConvolutionDescriptor)
  TAPCONV_CUDNN_LOAD(cudnnSetConvolutionNdDescriptor)
  TAPCONV_CUDNN_LOAD(cudnnSetConvolutionGroupCount)
  TAPCONV_CUDNN_LOAD(cudnnSetConvolutionMathType)
  TAPCONV_CUDNN_LOAD(cudnnDestroyConvolutionDescriptor)
  TAPCONV_CUDNN_LOAD(cudnnFindConvolutionForwardAlgorithm)
  TAPCONV_CUDNN_LOAD(cudnnGetConvolutionForwardWorkspaceSize)
  TAPCONV_CUDNN_LOAD(cudnnConvolutionForward)
  TAPCONV_CUDNN_LOAD(cudnnFindConvolutionBackwardDataAlgorithm)
  TAPCONV_CUDNN_LOAD(cudnnGetConvolutionBackwardDataWorkspaceSize)
  TAPCONV_CUDNN_LOAD(cudnnConvolutionBackwardData)
  TAPCONV_CUDNN_LOAD(cudnnFindConvolutionBackwardFilterAlgorithm)
  TAPCONV_CUDNN_LOAD(cudnnGetConvolutionBackwardFilterWorkspaceSize)
  TAPCONV_CUDNN_LOAD(cudnnConvolutionBackwardFilter)
#undef TAPCONV_CUDNN_LOAD
  if (!missing.empty()) {
    lib->error = "cuDNN at " + lib->path + " lacks " + missing;
    return lib;
  }
  lib->version = lib->cudnnGetVersion();
  if (lib->version < 8000) {
    lib->error = "cuDNN at " + lib->path + " is version " +
                 std::to_string(lib->version) + "; 8.0 or newer is needed";
    return lib;
  }
  lib->loaded = true;
  return lib;
}
#pragma GCC diagnostic pop

}  // namespace

const Library& Get() {
  static const Library* lib = Open();
  return *lib;
}

}  // namespace tapconv::cudnn
