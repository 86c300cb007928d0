#ifndef TAPCONV_BACKENDS_CUDA_CUDNN_LIBRARY_H_
#define TAPCONV_BACKENDS_CUDA_CUDNN_LIBRARY_H_

// cuDNN, opened with dlopen on first use: neither the Python extension nor any
// binary needs libcudnn.so to load, and a machine without it loses only the
// dense convolutions (which then report "cuDNN not found"). Only the few
// legacy-API calls the dense conv uses are resolved.

#include <cudnn.h>

#include <string>

namespace tapconv::cudnn {

// The legacy convolution API is deprecated in cuDNN 9 but still shipped and
// supported; its declarations carry [[deprecated]], which decltype would warn
// about here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
struct Library {
  bool loaded = false;
  std::string error;  // why not, when !loaded
  std::string path;   // what was opened
  size_t version = 0;

#define TAPCONV_CUDNN_FN(name) decltype(&::name) name = nullptr;
  TAPCONV_CUDNN_FN(cudnnGetVersion)
  TAPCONV_CUDNN_FN(cudnnGetErrorString)
  TAPCONV_CUDNN_FN(cudnnCreate)
  TAPCONV_CUDNN_FN(cudnnDestroy)
  TAPCONV_CUDNN_FN(cudnnSetStream)
  TAPCONV_CUDNN_FN(cudnnCreateTensorDescriptor)
  TAPCONV_CUDNN_FN(cudnnSetTensorNdDescriptor)
  TAPCONV_CUDNN_FN(cudnnDestroyTensorDescriptor)
  TAPCONV_CUDNN_FN(cudnnCreateFilterDescriptor)
  TAPCONV_CUDNN_FN(cudnnSetFilterNdDescriptor)
  TAPCONV_CUDNN_FN(cudnnDestroyFilterDescriptor)
  TAPCONV_CUDNN_FN(cudnnCreateConvolutionDescriptor)
  TAPCONV_CUDNN_FN(cudnnSetConvolutionNdDescriptor)
  TAPCONV_CUDNN_FN(cudnnSetConvolutionGroupCount)
  TAPCONV_CUDNN_FN(cudnnSetConvolutionMathType)
  TAPCONV_CUDNN_FN(cudnnDestroyConvolutionDescriptor)
  TAPCONV_CUDNN_FN(cudnnFindConvolutionForwardAlgorithm)
  TAPCONV_CUDNN_FN(cudnnGetConvolutionForwardWorkspaceSize)
  TAPCONV_CUDNN_FN(cudnnConvolutionForward)
  TAPCONV_CUDNN_FN(cudnnFindConvolutionBackwardDataAlgorithm)
  TAPCONV_CUDNN_FN(cudnnGetConvolutionBackwardDataWorkspaceSize)
  TAPCONV_CUDNN_FN(cudnnConvolutionBackwardData)
  TAPCONV_CUDNN_FN(cudnnFindConvolutionBackwardFilterAlgorithm)
  TAPCONV_CUDNN_FN(cudnnGetConvolutionBackwardFilterWorkspaceSize)
  TAPCONV_CUDNN_FN(cudnnConvolutionBackwardFilter)
#undef TAPCONV_CUDNN_FN
};
#pragma GCC diagnostic pop

// The process-wide library, opened on first call: $TAPCONV_CUDNN_LIBRARY if
// set, else libcudnn.so.9 / libcudnn.so through the dynamic loader's search
// path (LD_LIBRARY_PATH, ldconfig), else /usr/local/cuda/lib64.
const Library& Get();

}  // namespace tapconv::cudnn

#endif  // TAPCONV_BACKENDS_CUDA_CUDNN_LIBRARY_H_
