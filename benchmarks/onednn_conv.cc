// oneDNN's direct convolutions as XLA FFI handlers for JAX on CPU: a lowering tried and not adopted, kept for
// its benchmark (benchmarks/onednn_lowering.py builds and loads this; BENCHMARKS.md, "oneDNN's convolutions
// through XLA's FFI").
//
// Why: XLA:CPU runs a convolution either as its own loop or as our matmul lowerings over materialised
// patches (fmnist_jax/layers.py); oneDNN's direct convolutions, which PyTorch runs on CPU, compute the wide
// 3x3 layers here forward and backward up to 1.5x faster alone, much less inside the step. Three handlers:
// forward, backward data (the input gradient) and backward weights (the kernel gradient), NHWC activations
// and HWIO kernels as the rest of the engine lays them out, stride 1, explicit padding on each side.
//
// oneDNN picks its own blocked layout for the kernel; the handlers reorder the (small) kernel into it and
// the kernel gradient back out of it on every call. The primitives are built once per shape and kept. Calls
// run one at a time (a lock): XLA may run independent ops concurrently, and two oneDNN calls would then
// fight over the same OpenMP threads; so one stream, one scratchpad and one kernel buffer serve them all.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "dnnl.hpp"
#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;
using dnnl::memory;

namespace {

struct Problem {
  int64_t batch, height, width, in_channels, kernel_h, kernel_w, out_channels;
  int64_t pad_top, pad_bottom, pad_left, pad_right;
  int64_t out_height() const { return height + pad_top + pad_bottom - kernel_h + 1; }
  int64_t out_width() const { return width + pad_left + pad_right - kernel_w + 1; }
  auto key() const {
    return std::make_tuple(batch, height, width, in_channels, kernel_h, kernel_w, out_channels, pad_top, pad_bottom,
                           pad_left, pad_right);
  }
};

Problem MakeProblem(ffi::Span<const int64_t> input, ffi::Span<const int64_t> kernel, int64_t pad_top,
                    int64_t pad_bottom, int64_t pad_left, int64_t pad_right) {
  return Problem{input[0],  input[1], input[2],   input[3],    kernel[0], kernel[1],
                 kernel[3], pad_top,  pad_bottom, pad_left, pad_right};
}

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

struct Primitives {
  dnnl::convolution_forward::primitive_desc forward_desc;
  dnnl::convolution_backward_data::primitive_desc backward_data_desc;
  dnnl::convolution_backward_weights::primitive_desc backward_weights_desc;
  dnnl::convolution_forward forward;
  dnnl::convolution_backward_data backward_data;
  dnnl::convolution_backward_weights backward_weights;
  memory::desc input, kernel_hwio, output;
};

std::mutex primitives_mutex;  // guards the cache
std::mutex execute_mutex;     // one oneDNN call at a time

Primitives& PrimitivesFor(const Problem& p) {
  static std::map<decltype(p.key()), std::unique_ptr<Primitives>> cache;
  std::lock_guard<std::mutex> lock(primitives_mutex);
  auto found = cache.find(p.key());
  if (found != cache.end()) return *found->second;
  // oneDNN names dimensions N, C, H, W (and O, I, H, W) whatever the memory layout; the tags say the layout.
  const memory::dims input_dims = {p.batch, p.in_channels, p.height, p.width};
  const memory::dims kernel_dims = {p.out_channels, p.in_channels, p.kernel_h, p.kernel_w};
  const memory::dims output_dims = {p.batch, p.out_channels, p.out_height(), p.out_width()};
  const memory::dims strides = {1, 1}, pad_before = {p.pad_top, p.pad_left}, pad_after = {p.pad_bottom, p.pad_right};
  const auto f32 = memory::data_type::f32;
  memory::desc input(input_dims, f32, memory::format_tag::nhwc);
  memory::desc output(output_dims, f32, memory::format_tag::nhwc);
  memory::desc kernel_hwio(kernel_dims, f32, memory::format_tag::hwio);
  memory::desc kernel_any(kernel_dims, f32, memory::format_tag::any);  // oneDNN's choice: its fast path
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto direct = dnnl::algorithm::convolution_direct;
  auto forward_desc = dnnl::convolution_forward::primitive_desc(
      dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, direct, input, kernel_any, output, strides,
                                      pad_before, pad_after),
      attr, Engine());
  auto backward_data_desc = dnnl::convolution_backward_data::primitive_desc(
      dnnl::convolution_backward_data::desc(direct, input, kernel_any, output, strides, pad_before, pad_after), attr,
      Engine(), forward_desc);
  auto backward_weights_desc = dnnl::convolution_backward_weights::primitive_desc(
      dnnl::convolution_backward_weights::desc(direct, input, kernel_any, output, strides, pad_before, pad_after),
      attr, Engine(), forward_desc);
  auto made = std::make_unique<Primitives>(Primitives{
      forward_desc, backward_data_desc, backward_weights_desc, dnnl::convolution_forward(forward_desc),
      dnnl::convolution_backward_data(backward_data_desc), dnnl::convolution_backward_weights(backward_weights_desc),
      input, kernel_hwio, output});
  Primitives& result = *made;
  cache[p.key()] = std::move(made);
  return result;
}

// A primitive's scratchpad or a kernel in oneDNN's layout: memory kept from call to call (calls run one at a
// time), grown when a larger one is asked for. Not zeroed: the primitives write before they read.
memory Buffer(int slot, const memory::desc& desc) {
  static std::vector<std::unique_ptr<char[]>> buffers(2);
  static std::vector<size_t> sizes(2, 0);
  const size_t size = desc.get_size();
  if (size > sizes[slot]) {
    buffers[slot].reset(new char[size]);
    sizes[slot] = size;
  }
  return memory(desc, Engine(), buffers[slot].get());
}
enum Slot { kScratch = 0, kKernel = 1 };

ffi::Error Run(const std::function<void(dnnl::stream&)>& body) {
  try {
    std::lock_guard<std::mutex> lock(execute_mutex);
    static dnnl::stream stream(Engine());
    body(stream);
    stream.wait();
  } catch (const dnnl::error& e) {
    return ffi::Error(ffi::ErrorCode::kInternal, std::string("oneDNN convolution: ") + e.what());
  }
  return ffi::Error::Success();
}

ffi::Error Forward(ffi::Buffer<ffi::F32> input, ffi::Buffer<ffi::F32> kernel, ffi::ResultBuffer<ffi::F32> output,
                   int64_t pad_top, int64_t pad_bottom, int64_t pad_left, int64_t pad_right) {
  return Run([&](dnnl::stream& stream) {
    Primitives& p = PrimitivesFor(
        MakeProblem(input.dimensions(), kernel.dimensions(), pad_top, pad_bottom, pad_left, pad_right));
    memory src(p.input, Engine(), input.typed_data()), dst(p.output, Engine(), output->typed_data());
    memory kernel_user(p.kernel_hwio, Engine(), kernel.typed_data());
    memory weights = Buffer(kKernel, p.forward_desc.weights_desc());
    dnnl::reorder(kernel_user, weights).execute(stream, kernel_user, weights);
    p.forward.execute(stream, {{DNNL_ARG_SRC, src},
                               {DNNL_ARG_WEIGHTS, weights},
                               {DNNL_ARG_DST, dst},
                               {DNNL_ARG_SCRATCHPAD, Buffer(kScratch, p.forward_desc.scratchpad_desc())}});
  });
}

ffi::Error BackwardData(ffi::Buffer<ffi::F32> output_grad, ffi::Buffer<ffi::F32> kernel,
                        ffi::ResultBuffer<ffi::F32> input_grad, int64_t pad_top, int64_t pad_bottom, int64_t pad_left,
                        int64_t pad_right) {
  return Run([&](dnnl::stream& stream) {
    Primitives& p = PrimitivesFor(
        MakeProblem(input_grad->dimensions(), kernel.dimensions(), pad_top, pad_bottom, pad_left, pad_right));
    memory diff_dst(p.output, Engine(), output_grad.typed_data());
    memory diff_src(p.input, Engine(), input_grad->typed_data());
    memory kernel_user(p.kernel_hwio, Engine(), kernel.typed_data());
    memory weights = Buffer(kKernel, p.backward_data_desc.weights_desc());
    dnnl::reorder(kernel_user, weights).execute(stream, kernel_user, weights);
    p.backward_data.execute(stream, {{DNNL_ARG_DIFF_DST, diff_dst},
                                     {DNNL_ARG_WEIGHTS, weights},
                                     {DNNL_ARG_DIFF_SRC, diff_src},
                                     {DNNL_ARG_SCRATCHPAD, Buffer(kScratch, p.backward_data_desc.scratchpad_desc())}});
  });
}

ffi::Error BackwardWeights(ffi::Buffer<ffi::F32> input, ffi::Buffer<ffi::F32> output_grad,
                           ffi::ResultBuffer<ffi::F32> kernel_grad, int64_t pad_top, int64_t pad_bottom,
                           int64_t pad_left, int64_t pad_right) {
  return Run([&](dnnl::stream& stream) {
    Primitives& p = PrimitivesFor(
        MakeProblem(input.dimensions(), kernel_grad->dimensions(), pad_top, pad_bottom, pad_left, pad_right));
    memory src(p.input, Engine(), input.typed_data()), diff_dst(p.output, Engine(), output_grad.typed_data());
    memory diff_weights = Buffer(kKernel, p.backward_weights_desc.diff_weights_desc());
    memory kernel_grad_user(p.kernel_hwio, Engine(), kernel_grad->typed_data());
    p.backward_weights.execute(stream, {{DNNL_ARG_SRC, src},
                                        {DNNL_ARG_DIFF_DST, diff_dst},
                                        {DNNL_ARG_DIFF_WEIGHTS, diff_weights},
                                        {DNNL_ARG_SCRATCHPAD, Buffer(kScratch, p.backward_weights_desc.scratchpad_desc())}});
    dnnl::reorder(diff_weights, kernel_grad_user).execute(stream, diff_weights, kernel_grad_user);
  });
}

}  // namespace

// Every handler: two f32 operands, one f32 result, the padding on each side.
#define FMNIST_CONV_BINDING                                     \
  ffi::Ffi::Bind()                                              \
      .Arg<ffi::Buffer<ffi::F32>>()                             \
      .Arg<ffi::Buffer<ffi::F32>>()                             \
      .Ret<ffi::Buffer<ffi::F32>>()                             \
      .Attr<int64_t>("pad_top")                                 \
      .Attr<int64_t>("pad_bottom")                              \
      .Attr<int64_t>("pad_left")                                \
      .Attr<int64_t>("pad_right")

XLA_FFI_DEFINE_HANDLER_SYMBOL(FmnistOnednnConvForward, Forward, FMNIST_CONV_BINDING);
XLA_FFI_DEFINE_HANDLER_SYMBOL(FmnistOnednnConvBackwardData, BackwardData, FMNIST_CONV_BINDING);
XLA_FFI_DEFINE_HANDLER_SYMBOL(FmnistOnednnConvBackwardWeights, BackwardWeights, FMNIST_CONV_BINDING);
