#ifndef TAPCONV_OPS_GEOMETRY_HOST_DEVICE_H_
#define TAPCONV_OPS_GEOMETRY_HOST_DEVICE_H_

// Geometry helpers marked TAPCONV_HOST_DEVICE are compiled for the host and,
// inside .cu/.hip translation units, for the GPU too, so kernels use the very
// same rule instead of a copy.
#if defined(__CUDACC__) || defined(__HIPCC__)
#define TAPCONV_HOST_DEVICE __host__ __device__
#else
#define TAPCONV_HOST_DEVICE
#endif

#endif  // TAPCONV_OPS_GEOMETRY_HOST_DEVICE_H_
