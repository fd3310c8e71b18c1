// SPDX-License-Identifier: Apache-2.0
// The opencl plugin: runs vAccel ops as OpenCL kernels on any OpenCL device
// (a GPU, an FPGA board with an OpenCL runtime, or the CPU through pocl).
//
//  - VACCEL_OP_FPGA_VECTORADD, _PARALLEL, _ARRAYCOPY: element-wise kernels.
//  - VACCEL_OP_BLAS_SGEMM and VACCEL_OP_FPGA_MMULT: one tiled sgemm kernel
//    (mmult is sgemm of two n x n matrices).
//  - VACCEL_OP_MINMAX: a clamp + per-work-group min/max kernel in double
//    precision; the host reduces the few per-group partials.
//
// Device: at load, VACCEL_OPENCL_PLATFORM / VACCEL_OPENCL_DEVICE (indices)
// pick it; by default the first GPU of any platform, else the first device.
// The plugin keeps one context on it. The kernels are compiled the first
// time an op needs them (clBuildProgram may take a second or more), once
// per process: concurrent first calls wait for the one build. When there is
// no usable device (no ICD, no platform, a bad index) init still succeeds
// and logs one warning; every op then returns VACCEL_ENODEV.
//
// Concurrency: a call borrows a Worker (an in-order command queue and its
// own kernel objects, whose arguments only that call sets) from a pool and
// returns it at the end. Calls therefore never share a queue or a kernel
// object, and the pool grows to the peak number of concurrent calls.
//
// Each call copies its inputs into device buffers made for it and blocks
// until the results are back in the caller's memory. Arguments are
// validated first (VACCEL_EINVAL, with or without a device); OpenCL errors
// are logged with the call and error name and mapped to VACCEL_E* codes.
#include "kernels.h"

#include <vaccel.h>
#include <vaccel/plugin_ops.hpp>

#include "../common/op_args.h"

#include <CL/cl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

#define ocl_debug(...) vaccel_debug("[opencl] " __VA_ARGS__)
#define ocl_info(...) vaccel_info("[opencl] " __VA_ARGS__)
#define ocl_warn(...) vaccel_warn("[opencl] " __VA_ARGS__)
#define ocl_error(...) vaccel_error("[opencl] " __VA_ARGS__)

namespace
{

constexpr const char *kPlatformEnv = "VACCEL_OPENCL_PLATFORM";
constexpr const char *kDeviceEnv = "VACCEL_OPENCL_DEVICE";
// cl_khr_icd's "no platform" code; the loader returns it when it finds no
// driver. Spelled out: cl_ext.h is not needed for anything else.
constexpr cl_int kPlatformNotFound = -1001;
// Work-group size of the element-wise kernels (capped by the device's).
constexpr size_t kElemGroup = 64;
// Upper bounds of the minmax launch: the host reduces one partial per
// work-group, so a bounded number of groups keeps that read small.
constexpr size_t kMinmaxGroupMax = 256;
constexpr size_t kMinmaxGroups = 1024;
// Matrix sizes and leading dimensions are ints in the sgemm kernel. The
// margin keeps the rounded-up global size an int too.
constexpr int64_t kMaxDim = INT_MAX - 1024;

const char *cl_error_name(cl_int err)
{
	switch (err) {
#define NAME(x)                                                                \
	case x:                                                                \
		return #x;
		NAME(CL_SUCCESS)
		NAME(CL_DEVICE_NOT_FOUND)
		NAME(CL_DEVICE_NOT_AVAILABLE)
		NAME(CL_COMPILER_NOT_AVAILABLE)
		NAME(CL_MEM_OBJECT_ALLOCATION_FAILURE)
		NAME(CL_OUT_OF_RESOURCES)
		NAME(CL_OUT_OF_HOST_MEMORY)
		NAME(CL_BUILD_PROGRAM_FAILURE)
		NAME(CL_MISALIGNED_SUB_BUFFER_OFFSET)
		NAME(CL_INVALID_VALUE)
		NAME(CL_INVALID_DEVICE_TYPE)
		NAME(CL_INVALID_PLATFORM)
		NAME(CL_INVALID_DEVICE)
		NAME(CL_INVALID_CONTEXT)
		NAME(CL_INVALID_COMMAND_QUEUE)
		NAME(CL_INVALID_HOST_PTR)
		NAME(CL_INVALID_MEM_OBJECT)
		NAME(CL_INVALID_BUILD_OPTIONS)
		NAME(CL_INVALID_PROGRAM)
		NAME(CL_INVALID_PROGRAM_EXECUTABLE)
		NAME(CL_INVALID_KERNEL_NAME)
		NAME(CL_INVALID_KERNEL)
		NAME(CL_INVALID_ARG_INDEX)
		NAME(CL_INVALID_ARG_VALUE)
		NAME(CL_INVALID_ARG_SIZE)
		NAME(CL_INVALID_KERNEL_ARGS)
		NAME(CL_INVALID_WORK_DIMENSION)
		NAME(CL_INVALID_WORK_GROUP_SIZE)
		NAME(CL_INVALID_WORK_ITEM_SIZE)
		NAME(CL_INVALID_GLOBAL_OFFSET)
		NAME(CL_INVALID_EVENT_WAIT_LIST)
		NAME(CL_INVALID_OPERATION)
		NAME(CL_INVALID_BUFFER_SIZE)
		NAME(CL_INVALID_GLOBAL_WORK_SIZE)
#undef NAME
	case kPlatformNotFound:
		return "CL_PLATFORM_NOT_FOUND_KHR";
	default:
		return "unknown OpenCL error";
	}
}

int map_cl(cl_int err)
{
	switch (err) {
	case CL_SUCCESS:
		return VACCEL_OK;
	case CL_OUT_OF_HOST_MEMORY:
	case CL_OUT_OF_RESOURCES:
	case CL_MEM_OBJECT_ALLOCATION_FAILURE:
	case CL_INVALID_BUFFER_SIZE:
		return VACCEL_ENOMEM;
	case CL_DEVICE_NOT_FOUND:
	case CL_DEVICE_NOT_AVAILABLE:
	case kPlatformNotFound:
		return VACCEL_ENODEV;
	case CL_COMPILER_NOT_AVAILABLE:
		return VACCEL_ENOTSUP;
	default:
		return VACCEL_EBACKEND;
	}
}

// Logs a failed OpenCL call of @p op and returns its vAccel code.
int cl_fail(const char *op, const char *call, cl_int err)
{
	ocl_error("%s: %s failed: %s (%d)", op, call, cl_error_name(err),
		  static_cast<int>(err));
	return map_cl(err);
}

#define CL_TRY(op, call)                                                       \
	do {                                                                   \
		cl_int err_ = (call);                                          \
		if (err_ != CL_SUCCESS)                                        \
			return cl_fail(op, #call, err_);                       \
	} while (0)

#define VACCEL_TRY(expr)                                                       \
	do {                                                                   \
		int rc_ = (expr);                                              \
		if (rc_ != VACCEL_OK)                                          \
			return rc_;                                            \
	} while (0)

enum Kernel : unsigned {
	kVadd,
	kParallel,
	kArraycopy,
	kSgemm,
	kMinmax,
	kKernelCount
};
enum ProgramId : unsigned { kFloat, kDouble, kProgramCount };

struct KernelDesc {
	const char *name;
	ProgramId program;
};
constexpr KernelDesc kKernels[kKernelCount] = {
    {"vaccel_vadd", kFloat},      {"vaccel_parallel", kFloat},
    {"vaccel_arraycopy", kFloat}, {"vaccel_sgemm", kFloat},
    {"vaccel_minmax", kDouble},
};

// What one call needs: a queue and kernel objects nobody else uses while
// the call runs (clSetKernelArg on a shared kernel would race).
struct Worker {
	cl_command_queue queue = nullptr;
	cl_kernel kernels[kKernelCount] = {};

	Worker() = default;
	Worker(const Worker &) = delete;
	Worker &operator=(const Worker &) = delete;
	~Worker()
	{
		for (cl_kernel k : kernels)
			if (k != nullptr)
				(void)clReleaseKernel(k);
		if (queue != nullptr)
			(void)clReleaseCommandQueue(queue);
	}
};

// A program built at most once; @c tried with a VACCEL_OK @c rc means built.
struct Program {
	std::mutex mu;
	bool tried = false;
	int rc = VACCEL_OK;
	cl_program prog = nullptr;
};

struct Device {
	std::string unusable; // why there is no device; empty when there is
	cl_platform_id platform = nullptr;
	cl_device_id device = nullptr;
	cl_context context = nullptr;
	std::string name;
	bool fp64 = false;
	size_t max_group = 1;
	size_t tile = 1;
	cl_ulong max_alloc = 0;
	Program programs[kProgramCount];
	std::mutex pool_mu;
	std::vector<std::unique_ptr<Worker>> idle;

	Device() = default;
	Device(const Device &) = delete;
	Device &operator=(const Device &) = delete;
	~Device()
	{
		idle.clear(); // queues and kernels before their context
		for (Program &p : programs)
			if (p.prog != nullptr)
				(void)clReleaseProgram(p.prog);
		if (context != nullptr)
			(void)clReleaseContext(context);
	}
};

Device *g_device = nullptr;

// --- device selection ------------------------------------------------------

// Parses the index in @p env. Unset or empty: true with *set = false. Not a
// non-negative integer: false with @p why.
bool index_from_env(const char *env, bool *set, cl_uint *index,
		    std::string *why)
{
	*set = false;
	const char *v = std::getenv(env);
	if (v == nullptr || *v == '\0')
		return true;
	char *end = nullptr;
	errno = 0;
	long x = std::strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || x < 0 || x > INT_MAX) {
		*why = std::string(env) + "='" + v + "' is not an index";
		return false;
	}
	*set = true;
	*index = static_cast<cl_uint>(x);
	return true;
}

std::string device_string(cl_device_id d, cl_device_info what)
{
	size_t size = 0;
	if (clGetDeviceInfo(d, what, 0, nullptr, &size) != CL_SUCCESS ||
	    size == 0)
		return {};
	std::string s(size, '\0');
	if (clGetDeviceInfo(d, what, size, s.data(), nullptr) != CL_SUCCESS)
		return {};
	s.resize(std::strlen(s.c_str()));
	return s;
}

std::string platform_string(cl_platform_id p, cl_platform_info what)
{
	size_t size = 0;
	if (clGetPlatformInfo(p, what, 0, nullptr, &size) != CL_SUCCESS ||
	    size == 0)
		return {};
	std::string s(size, '\0');
	if (clGetPlatformInfo(p, what, size, s.data(), nullptr) != CL_SUCCESS)
		return {};
	s.resize(std::strlen(s.c_str()));
	return s;
}

std::string cl_why(const char *call, cl_int err)
{
	return std::string(call) + " failed: " + cl_error_name(err) + " (" +
	       std::to_string(err) + ")";
}

// The devices of @p type on @p p (none is not an error).
std::vector<cl_device_id> devices_of(cl_platform_id p, cl_device_type type)
{
	cl_uint n = 0;
	if (clGetDeviceIDs(p, type, 0, nullptr, &n) != CL_SUCCESS || n == 0)
		return {};
	std::vector<cl_device_id> v(n);
	if (clGetDeviceIDs(p, type, n, v.data(), nullptr) != CL_SUCCESS)
		return {};
	return v;
}

// Picks the platform and device; false with @p why when there is none.
bool select_device(Device *dev, std::string *why)
{
	bool pset = false;
	bool dset = false;
	cl_uint pidx = 0;
	cl_uint didx = 0;
	if (!index_from_env(kPlatformEnv, &pset, &pidx, why) ||
	    !index_from_env(kDeviceEnv, &dset, &didx, why))
		return false;

	cl_uint np = 0;
	cl_int err = clGetPlatformIDs(0, nullptr, &np);
	if (err == kPlatformNotFound || (err == CL_SUCCESS && np == 0)) {
		*why = "no OpenCL platform (the ICD loader found no driver)";
		return false;
	}
	if (err != CL_SUCCESS) {
		*why = cl_why("clGetPlatformIDs", err);
		return false;
	}
	std::vector<cl_platform_id> platforms(np);
	err = clGetPlatformIDs(np, platforms.data(), nullptr);
	if (err != CL_SUCCESS) {
		*why = cl_why("clGetPlatformIDs", err);
		return false;
	}
	if (pset && pidx >= np) {
		*why = std::string(kPlatformEnv) + "=" + std::to_string(pidx) +
		       " but there are " + std::to_string(np) + " platform(s)";
		return false;
	}
	// VACCEL_OPENCL_DEVICE alone indexes the devices of platform 0.
	if (dset) {
		const cl_platform_id p = platforms[pset ? pidx : 0];
		auto all = devices_of(p, CL_DEVICE_TYPE_ALL);
		if (didx >= all.size()) {
			*why = std::string(kDeviceEnv) + "=" +
			       std::to_string(didx) + " but platform " +
			       std::to_string(pset ? pidx : 0) + " has " +
			       std::to_string(all.size()) + " device(s)";
			return false;
		}
		dev->platform = p;
		dev->device = all[didx];
		return true;
	}
	std::vector<cl_platform_id> candidates = platforms;
	if (pset)
		candidates = {platforms[pidx]};
	for (cl_device_type type : {cl_device_type{CL_DEVICE_TYPE_GPU},
				    cl_device_type{CL_DEVICE_TYPE_ALL}}) {
		for (cl_platform_id p : candidates) {
			auto v = devices_of(p, type);
			if (!v.empty()) {
				dev->platform = p;
				dev->device = v[0];
				return true;
			}
		}
	}
	*why = pset ? "platform " + std::to_string(pidx) + " has no device"
		    : "no OpenCL device on any platform";
	return false;
}

// Selects the device, reads its limits and creates the context; sets
// dev->unusable on failure.
void probe(Device *dev)
{
	std::string why;
	if (!select_device(dev, &why)) {
		dev->unusable = why;
		return;
	}
	const cl_device_id d = dev->device;
	dev->name = device_string(d, CL_DEVICE_NAME);
	cl_bool available = CL_FALSE;
	cl_bool compiler = CL_FALSE;
	size_t items[3] = {1, 1, 1};
	cl_int err = clGetDeviceInfo(d, CL_DEVICE_AVAILABLE, sizeof(available),
				     &available, nullptr);
	if (err == CL_SUCCESS)
		err = clGetDeviceInfo(d, CL_DEVICE_COMPILER_AVAILABLE,
				      sizeof(compiler), &compiler, nullptr);
	if (err == CL_SUCCESS)
		err = clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE,
				      sizeof(dev->max_group), &dev->max_group,
				      nullptr);
	if (err == CL_SUCCESS)
		err = clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_ITEM_SIZES,
				      sizeof(items), items, nullptr);
	if (err == CL_SUCCESS)
		err = clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE,
				      sizeof(dev->max_alloc), &dev->max_alloc,
				      nullptr);
	if (err != CL_SUCCESS) {
		dev->unusable = "device '" + dev->name +
				"': " + cl_why("clGetDeviceInfo", err);
		return;
	}
	if (available != CL_TRUE || compiler != CL_TRUE) {
		dev->unusable =
		    "device '" + dev->name + "' is " +
		    (available != CL_TRUE ? "not available"
					  : "without an OpenCL C compiler");
		return;
	}
	dev->fp64 =
	    device_string(d, CL_DEVICE_EXTENSIONS).find("cl_khr_fp64") !=
	    std::string::npos;
	// The largest square tile (a power of two up to 16) the device runs
	// as one work-group.
	for (size_t t = 16; t >= 1; t /= 2) {
		if (t * t <= dev->max_group && t <= items[0] && t <= items[1]) {
			dev->tile = t;
			break;
		}
	}
	const cl_context_properties props[] = {
	    CL_CONTEXT_PLATFORM,
	    reinterpret_cast<cl_context_properties>(dev->platform), 0};
	dev->context = clCreateContext(props, 1, &d, nullptr, nullptr, &err);
	if (err != CL_SUCCESS) {
		dev->context = nullptr;
		dev->unusable = "device '" + dev->name +
				"': " + cl_why("clCreateContext", err);
	}
}

// --- programs, workers -----------------------------------------------------

// Logs the build log of @p prog (the compiler's messages), shortened.
void log_build_failure(const char *op, const Device &dev, cl_program prog)
{
	size_t size = 0;
	std::string log;
	if (clGetProgramBuildInfo(prog, dev.device, CL_PROGRAM_BUILD_LOG, 0,
				  nullptr, &size) == CL_SUCCESS &&
	    size > 0) {
		log.resize(size);
		if (clGetProgramBuildInfo(prog, dev.device,
					  CL_PROGRAM_BUILD_LOG, size,
					  log.data(), nullptr) != CL_SUCCESS)
			log.clear();
		log.resize(std::strlen(log.c_str()));
	}
	constexpr size_t kMaxLog = 4000;
	if (log.size() > kMaxLog)
		log = log.substr(0, kMaxLog) + "...";
	ocl_error("%s: the kernels do not build on '%s':\n%s", op,
		  dev.name.c_str(),
		  log.empty() ? "(no build log)" : log.c_str());
}

// Builds program @p id on first use; later calls return the first result.
// A build that failed for lack of memory is tried again next time.
int ensure_program(const char *op, Device &dev, ProgramId id)
{
	Program &p = dev.programs[id];
	std::lock_guard<std::mutex> lock(p.mu);
	if (p.tried) {
		if (p.rc != VACCEL_OK)
			ocl_error("%s: the kernels failed to build earlier "
				  "(see the first error)",
				  op);
		return p.rc;
	}
	if (id == kDouble && !dev.fp64) {
		ocl_error("%s: device '%s' has no double precision "
			  "(cl_khr_fp64)",
			  op, dev.name.c_str());
		p.tried = true;
		p.rc = VACCEL_ENOTSUP;
		return p.rc;
	}
	const auto start = std::chrono::steady_clock::now();
	const char *src = id == kFloat ? vaccel_opencl::kFloatProgram
				       : vaccel_opencl::kDoubleProgram;
	cl_int err = CL_SUCCESS;
	cl_program prog =
	    clCreateProgramWithSource(dev.context, 1, &src, nullptr, &err);
	if (err != CL_SUCCESS)
		return cl_fail(op, "clCreateProgramWithSource", err);
	const std::string options = "-DTS=" + std::to_string(dev.tile);
	err = clBuildProgram(prog, 1, &dev.device, options.c_str(), nullptr,
			     nullptr);
	if (err != CL_SUCCESS) {
		int rc = map_cl(err);
		if (err == CL_BUILD_PROGRAM_FAILURE ||
		    err == CL_INVALID_BUILD_OPTIONS)
			log_build_failure(op, dev, prog);
		else
			cl_fail(op, "clBuildProgram", err);
		(void)clReleaseProgram(prog);
		if (rc != VACCEL_ENOMEM) { // a real failure: do not retry
			p.tried = true;
			p.rc = rc;
		}
		return rc;
	}
	p.prog = prog;
	p.tried = true;
	p.rc = VACCEL_OK;
	const auto ms = std::chrono::duration<double, std::milli>(
			    std::chrono::steady_clock::now() - start)
			    .count();
	ocl_debug("%s: built the %s kernels for '%s' in %.1f ms", op,
		  id == kFloat ? "float" : "double", dev.name.c_str(), ms);
	return VACCEL_OK;
}

// A worker borrowed from the pool for one call; returned when destroyed.
class Lease
{
public:
	explicit Lease(Device &dev) : dev_(dev) {}
	Lease(const Lease &) = delete;
	Lease &operator=(const Lease &) = delete;
	~Lease()
	{
		if (!w_)
			return;
		try {
			std::lock_guard<std::mutex> lock(dev_.pool_mu);
			dev_.idle.push_back(std::move(w_));
		} catch (const std::bad_alloc &) {
			// The worker is freed instead of pooled.
		}
	}

	int acquire(const char *op)
	{
		{
			std::lock_guard<std::mutex> lock(dev_.pool_mu);
			if (!dev_.idle.empty()) {
				w_ = std::move(dev_.idle.back());
				dev_.idle.pop_back();
				return VACCEL_OK;
			}
		}
		auto w = std::make_unique<Worker>();
		cl_int err = CL_SUCCESS;
		w->queue =
		    clCreateCommandQueue(dev_.context, dev_.device, 0, &err);
		if (err != CL_SUCCESS) {
			w->queue = nullptr;
			return cl_fail(op, "clCreateCommandQueue", err);
		}
		w_ = std::move(w);
		return VACCEL_OK;
	}

	// The worker's own object of kernel @p k, created on first use.
	int kernel(const char *op, Kernel k, cl_kernel *out)
	{
		cl_kernel &slot = w_->kernels[k];
		if (slot == nullptr) {
			cl_int err = CL_SUCCESS;
			slot = clCreateKernel(
			    dev_.programs[kKernels[k].program].prog,
			    kKernels[k].name, &err);
			if (err != CL_SUCCESS) {
				slot = nullptr;
				return cl_fail(op, "clCreateKernel", err);
			}
		}
		*out = slot;
		return VACCEL_OK;
	}

	cl_command_queue queue() const { return w_->queue; }

private:
	Device &dev_;
	std::unique_ptr<Worker> w_;
};

// The device, or nullptr (with an error logged) when there is none.
Device *usable_device(const char *op)
{
	Device *dev = g_device;
	if (dev == nullptr) {
		ocl_error("%s: the plugin is not initialized", op);
		return nullptr;
	}
	if (!dev->unusable.empty()) {
		ocl_error("%s: no OpenCL device: %s", op,
			  dev->unusable.c_str());
		return nullptr;
	}
	return dev;
}

// What an op runs on the device: @p fn(dev, queue, kernel).
template <class Fn> int on_device(const char *op, Kernel k, Fn &&fn)
{
	Device *dev = usable_device(op);
	if (dev == nullptr)
		return VACCEL_ENODEV;
	try {
		VACCEL_TRY(ensure_program(op, *dev, kKernels[k].program));
		Lease lease(*dev);
		VACCEL_TRY(lease.acquire(op));
		cl_kernel kernel = nullptr;
		VACCEL_TRY(lease.kernel(op, k, &kernel));
		int rc = fn(*dev, lease.queue(), kernel);
		// After a failure, commands of this call may still be queued:
		// wait for them before the caller's memory is given back
		// and before the queue serves another call.
		if (rc != VACCEL_OK)
			(void)clFinish(lease.queue());
		return rc;
	} catch (const std::bad_alloc &) {
		ocl_error("%s: out of host memory", op);
		return VACCEL_ENOMEM;
	}
}

// --- buffers and launches --------------------------------------------------

// A device buffer, released when it goes out of scope (OpenCL defers the
// release until the commands that use it complete).
struct Mem {
	cl_mem m = nullptr;
	Mem() = default;
	Mem(const Mem &) = delete;
	Mem &operator=(const Mem &) = delete;
	~Mem()
	{
		if (m != nullptr)
			(void)clReleaseMemObject(m);
	}
};

// Creates a @p bytes buffer; with @p host, initialized with a copy of it
// (CL_MEM_COPY_HOST_PTR copies during the call, so the caller's memory is
// not used afterwards).
int make_buffer(const char *op, const Device &dev, cl_mem_flags flags,
		size_t bytes, const void *host, Mem *out)
{
	if (bytes > dev.max_alloc) {
		ocl_error("%s: needs a %zu-byte buffer but '%s' allows at most "
			  "%" PRIu64 " bytes in one",
			  op, bytes, dev.name.c_str(),
			  static_cast<uint64_t>(dev.max_alloc));
		return VACCEL_ENOMEM;
	}
	if (host != nullptr)
		flags |= CL_MEM_COPY_HOST_PTR;
	cl_int err = CL_SUCCESS;
	out->m = clCreateBuffer(dev.context, flags, bytes,
				const_cast<void *>(host), &err);
	if (err != CL_SUCCESS) {
		out->m = nullptr;
		return cl_fail(op, "clCreateBuffer", err);
	}
	return VACCEL_OK;
}

// A __local kernel argument of @p bytes.
struct Local {
	size_t bytes;
};

template <class T> cl_int set_arg(cl_kernel k, cl_uint i, const T &v)
{
	return clSetKernelArg(k, i, sizeof(T), &v);
}

cl_int set_arg(cl_kernel k, cl_uint i, const Local &l)
{
	return clSetKernelArg(k, i, l.bytes, nullptr);
}

template <class... Args>
int set_args(const char *op, cl_kernel k, const Args &...args)
{
	cl_uint i = 0;
	cl_int err = CL_SUCCESS;
	((err = err == CL_SUCCESS ? set_arg(k, i++, args) : err), ...);
	if (err != CL_SUCCESS)
		return cl_fail(op, "clSetKernelArg", err);
	return VACCEL_OK;
}

size_t round_up(size_t x, size_t to)
{
	return (x + to - 1) / to * to;
}

// Launches a 1-D element-wise kernel over @p n items.
int launch_1d(const char *op, const Device &dev, cl_command_queue q,
	      cl_kernel k, size_t n)
{
	const size_t local = std::min(kElemGroup, dev.max_group);
	const size_t global = round_up(n, local);
	CL_TRY(op, clEnqueueNDRangeKernel(q, k, 1, nullptr, &global, &local, 0,
					  nullptr, nullptr));
	return VACCEL_OK;
}

// A bad argument (the rules: plugins/common/op_args.h, shared with the blas
// and cuda plugins), logged under this plugin's tag.
int checked(const char *op, const vaccel::op_args::Check &ck)
{
	if (!ck.ok())
		ocl_error("%s: %s", op, ck.why.c_str());
	return ck.rc;
}

int check_elems(const char *op, const vaccel_session *sess, size_t n,
		size_t elem, std::initializer_list<const void *> bufs)
{
	return checked(op, vaccel::op_args::elems(sess, n, elem, bufs));
}

// --- sgemm, mmult ----------------------------------------------------------

struct Gemm {
	int64_t m, n, k;
	float alpha;
	const float *a;
	int64_t lda;
	size_t a_span;
	const float *b;
	int64_t ldb;
	size_t b_span;
	float beta;
	float *c;
	int64_t ldc;
	size_t c_span;
};

// Runs @p g (m, n, k > 0) on the device. The operands are copied with their
// leading dimensions (the kernel indexes with them). C is uploaded only
// when beta != 0 (BLAS does not read it otherwise), and only its m x n
// block is read back, so the caller's elements between rows stay as they
// are.
int run_gemm(const char *op, const Device &dev, cl_command_queue q,
	     cl_kernel kernel, const Gemm &g)
{
	Mem da;
	Mem db;
	Mem dc;
	const size_t f = sizeof(float);
	VACCEL_TRY(
	    make_buffer(op, dev, CL_MEM_READ_ONLY, g.a_span * f, g.a, &da));
	VACCEL_TRY(
	    make_buffer(op, dev, CL_MEM_READ_ONLY, g.b_span * f, g.b, &db));
	VACCEL_TRY(make_buffer(op, dev, CL_MEM_READ_WRITE, g.c_span * f,
			       g.beta != 0.0F ? g.c : nullptr, &dc));
	VACCEL_TRY(set_args(op, kernel, static_cast<cl_int>(g.m),
			    static_cast<cl_int>(g.n), static_cast<cl_int>(g.k),
			    g.alpha, da.m, static_cast<cl_int>(g.lda), db.m,
			    static_cast<cl_int>(g.ldb), g.beta, dc.m,
			    static_cast<cl_int>(g.ldc)));
	const size_t local[2] = {dev.tile, dev.tile};
	const size_t global[2] = {round_up(static_cast<size_t>(g.n), dev.tile),
				  round_up(static_cast<size_t>(g.m), dev.tile)};
	CL_TRY(op, clEnqueueNDRangeKernel(q, kernel, 2, nullptr, global, local,
					  0, nullptr, nullptr));
	if (g.ldc == g.n) {
		CL_TRY(op,
		       clEnqueueReadBuffer(q, dc.m, CL_TRUE, 0, g.c_span * f,
					   g.c, 0, nullptr, nullptr));
		return VACCEL_OK;
	}
	const size_t origin[3] = {0, 0, 0};
	const size_t region[3] = {static_cast<size_t>(g.n) * f,
				  static_cast<size_t>(g.m), 1};
	const size_t pitch = static_cast<size_t>(g.ldc) * f;
	CL_TRY(op, clEnqueueReadBufferRect(q, dc.m, CL_TRUE, origin, origin,
					   region, pitch, 0, pitch, 0, g.c, 0,
					   nullptr, nullptr));
	return VACCEL_OK;
}

int ocl_sgemm(vaccel_session *sess, int64_t m, int64_t n, int64_t k,
	      float alpha, float *a, int64_t lda, float *b, int64_t ldb,
	      float beta, float *c, int64_t ldc)
{
	const char *op = "sgemm";
	vaccel::op_args::SgemmSpans spans;
	VACCEL_TRY(
	    checked(op, vaccel::op_args::sgemm(sess, m, n, k, a, lda, b, ldb, c,
					       ldc, kMaxDim, &spans)));
	const Gemm g{m, n,   k,       alpha, a, lda, spans.a,
		     b, ldb, spans.b, beta,  c, ldc, spans.c};
	if (usable_device(op) == nullptr)
		return VACCEL_ENODEV;
	ocl_debug("sgemm: session %" PRId64 " m %" PRId64 " n %" PRId64
		  " k %" PRId64 " lda %" PRId64 " ldb %" PRId64 " ldc %" PRId64,
		  sess->id, m, n, k, lda, ldb, ldc);
	if (m == 0 || n == 0)
		return VACCEL_OK; // C has no elements
	if (k == 0 || alpha == 0.0F) {
		// A B adds nothing: C = beta C, as BLAS does, without reading
		// A or B. Not worth a trip to the device.
		for (int64_t i = 0; i < m; i++) {
			float *row = c + i * ldc;
			for (int64_t j = 0; j < n; j++)
				row[j] = beta == 0.0F ? 0.0F : beta * row[j];
		}
		return VACCEL_OK;
	}
	return on_device(
	    op, kSgemm,
	    [&](const Device &dev, cl_command_queue q, cl_kernel kernel) {
		    return run_gemm(op, dev, q, kernel, g);
	    });
}

int ocl_mmult(vaccel_session *sess, float *a, float *b, float *c, size_t len_a)
{
	const char *op = "fpga_mmult";
	size_t side = 0;
	VACCEL_TRY(
	    checked(op, vaccel::op_args::mmult(sess, a, b, c, len_a, &side,
					       static_cast<size_t>(kMaxDim))));
	if (usable_device(op) == nullptr)
		return VACCEL_ENODEV;
	ocl_debug("%s: session %" PRId64 " %zu x %zu", op, sess->id, side,
		  side);
	if (len_a == 0)
		return VACCEL_OK;
	const auto s = static_cast<int64_t>(side);
	const Gemm g{s, s, s,     1.0F, a, s, len_a,
		     b, s, len_a, 0.0F, c, s, len_a};
	return on_device(
	    op, kSgemm,
	    [&](const Device &dev, cl_command_queue q, cl_kernel kernel) {
		    return run_gemm(op, dev, q, kernel, g);
	    });
}

// --- element-wise ops ------------------------------------------------------

int ocl_vadd(vaccel_session *sess, float *a, float *b, float *c, size_t len_a,
	     size_t len_b)
{
	const char *op = "fpga_vadd";
	VACCEL_TRY(
	    checked(op, vaccel::op_args::vadd(sess, a, b, c, len_a, len_b)));
	if (usable_device(op) == nullptr)
		return VACCEL_ENODEV;
	ocl_debug("%s: session %" PRId64 " len_a %zu len_b %zu", op, sess->id,
		  len_a, len_b);
	if (len_a == 0)
		return VACCEL_OK;
	const size_t bytes = len_a * sizeof(float);
	return on_device(
	    op, kVadd,
	    [&](const Device &dev, cl_command_queue q,
		cl_kernel kernel) -> int {
		    Mem da;
		    Mem db;
		    Mem dc;
		    VACCEL_TRY(
			make_buffer(op, dev, CL_MEM_READ_ONLY, bytes, a, &da));
		    VACCEL_TRY(
			make_buffer(op, dev, CL_MEM_READ_ONLY, bytes, b, &db));
		    VACCEL_TRY(make_buffer(op, dev, CL_MEM_WRITE_ONLY, bytes,
					   nullptr, &dc));
		    VACCEL_TRY(set_args(op, kernel, da.m, db.m, dc.m,
					static_cast<cl_ulong>(len_a)));
		    VACCEL_TRY(launch_1d(op, dev, q, kernel, len_a));
		    CL_TRY(op, clEnqueueReadBuffer(q, dc.m, CL_TRUE, 0, bytes,
						   c, 0, nullptr, nullptr));
		    return VACCEL_OK;
	    });
}

int ocl_parallel(vaccel_session *sess, float *a, float *b, float *add_output,
		 float *mult_output, size_t len_a)
{
	const char *op = "fpga_parallel";
	VACCEL_TRY(check_elems(op, sess, len_a, sizeof(float),
			       {a, b, add_output, mult_output}));
	if (usable_device(op) == nullptr)
		return VACCEL_ENODEV;
	ocl_debug("%s: session %" PRId64 " len_a %zu", op, sess->id, len_a);
	if (len_a == 0)
		return VACCEL_OK;
	const size_t bytes = len_a * sizeof(float);
	return on_device(
	    op, kParallel,
	    [&](const Device &dev, cl_command_queue q,
		cl_kernel kernel) -> int {
		    Mem da;
		    Mem db;
		    Mem dadd;
		    Mem dmul;
		    VACCEL_TRY(
			make_buffer(op, dev, CL_MEM_READ_ONLY, bytes, a, &da));
		    VACCEL_TRY(
			make_buffer(op, dev, CL_MEM_READ_ONLY, bytes, b, &db));
		    VACCEL_TRY(make_buffer(op, dev, CL_MEM_WRITE_ONLY, bytes,
					   nullptr, &dadd));
		    VACCEL_TRY(make_buffer(op, dev, CL_MEM_WRITE_ONLY, bytes,
					   nullptr, &dmul));
		    VACCEL_TRY(set_args(op, kernel, da.m, db.m, dadd.m, dmul.m,
					static_cast<cl_ulong>(len_a)));
		    VACCEL_TRY(launch_1d(op, dev, q, kernel, len_a));
		    CL_TRY(op, clEnqueueReadBuffer(q, dadd.m, CL_FALSE, 0,
						   bytes, add_output, 0,
						   nullptr, nullptr));
		    // Blocking: the in-order queue has finished the read
		    // above when this one returns.
		    CL_TRY(op, clEnqueueReadBuffer(q, dmul.m, CL_TRUE, 0, bytes,
						   mult_output, 0, nullptr,
						   nullptr));
		    return VACCEL_OK;
	    });
}

int ocl_arraycopy(vaccel_session *sess, int *a, int *out_a, size_t len_a)
{
	const char *op = "fpga_arraycopy";
	VACCEL_TRY(check_elems(op, sess, len_a, sizeof(int), {a, out_a}));
	if (usable_device(op) == nullptr)
		return VACCEL_ENODEV;
	ocl_debug("%s: session %" PRId64 " len_a %zu", op, sess->id, len_a);
	if (len_a == 0)
		return VACCEL_OK;
	const size_t bytes = len_a * sizeof(int);
	return on_device(
	    op, kArraycopy,
	    [&](const Device &dev, cl_command_queue q,
		cl_kernel kernel) -> int {
		    Mem din;
		    Mem dout;
		    VACCEL_TRY(
			make_buffer(op, dev, CL_MEM_READ_ONLY, bytes, a, &din));
		    VACCEL_TRY(make_buffer(op, dev, CL_MEM_WRITE_ONLY, bytes,
					   nullptr, &dout));
		    VACCEL_TRY(set_args(op, kernel, din.m, dout.m,
					static_cast<cl_ulong>(len_a)));
		    VACCEL_TRY(launch_1d(op, dev, q, kernel, len_a));
		    CL_TRY(op, clEnqueueReadBuffer(q, dout.m, CL_TRUE, 0, bytes,
						   out_a, 0, nullptr, nullptr));
		    return VACCEL_OK;
	    });
}

// --- minmax ----------------------------------------------------------------

// The work-group size of the minmax kernel: a power of two (the reduction
// halves it) that the compiled kernel and the device accept.
int minmax_group(const char *op, const Device &dev, cl_kernel kernel,
		 size_t *group)
{
	size_t limit = 0;
	CL_TRY(op, clGetKernelWorkGroupInfo(kernel, dev.device,
					    CL_KERNEL_WORK_GROUP_SIZE,
					    sizeof(limit), &limit, nullptr));
	limit = std::min({limit, dev.max_group, kMinmaxGroupMax});
	size_t g = 1;
	while (g * 2 <= limit)
		g *= 2;
	*group = g;
	return VACCEL_OK;
}

int ocl_minmax(vaccel_session *sess, const double *indata, int ndata,
	       int low_threshold, int high_threshold, double *outdata,
	       double *min, double *max)
{
	const char *op = "minmax";
	VACCEL_TRY(checked(
	    op, vaccel::op_args::minmax(sess, indata, ndata, low_threshold,
					high_threshold, outdata, min, max)));
	if (usable_device(op) == nullptr)
		return VACCEL_ENODEV;
	ocl_debug("%s: session %" PRId64 " ndata %d low %d high %d", op,
		  sess->id, ndata, low_threshold, high_threshold);
	const auto n = static_cast<size_t>(ndata);
	const size_t bytes = n * sizeof(double);
	return on_device(
	    op, kMinmax,
	    [&](const Device &dev, cl_command_queue q,
		cl_kernel kernel) -> int {
		    size_t group = 1;
		    VACCEL_TRY(minmax_group(op, dev, kernel, &group));
		    const size_t groups =
			std::min((n + group - 1) / group, kMinmaxGroups);
		    Mem din;
		    Mem dout;
		    Mem dmin;
		    Mem dmax;
		    VACCEL_TRY(make_buffer(op, dev, CL_MEM_READ_ONLY, bytes,
					   indata, &din));
		    VACCEL_TRY(make_buffer(op, dev, CL_MEM_WRITE_ONLY, bytes,
					   nullptr, &dout));
		    VACCEL_TRY(make_buffer(op, dev, CL_MEM_WRITE_ONLY,
					   groups * sizeof(double), nullptr,
					   &dmin));
		    VACCEL_TRY(make_buffer(op, dev, CL_MEM_WRITE_ONLY,
					   groups * sizeof(double), nullptr,
					   &dmax));
		    VACCEL_TRY(set_args(
			op, kernel, din.m, dout.m, static_cast<cl_ulong>(n),
			static_cast<cl_double>(low_threshold),
			static_cast<cl_double>(high_threshold), dmin.m, dmax.m,
			Local{group * sizeof(double)},
			Local{group * sizeof(double)}));
		    const size_t global = groups * group;
		    CL_TRY(op, clEnqueueNDRangeKernel(q, kernel, 1, nullptr,
						      &global, &group, 0,
						      nullptr, nullptr));
		    std::vector<double> pmin(groups);
		    std::vector<double> pmax(groups);
		    CL_TRY(op,
			   clEnqueueReadBuffer(q, dout.m, CL_FALSE, 0, bytes,
					       outdata, 0, nullptr, nullptr));
		    CL_TRY(op, clEnqueueReadBuffer(q, dmin.m, CL_FALSE, 0,
						   groups * sizeof(double),
						   pmin.data(), 0, nullptr,
						   nullptr));
		    // Blocking: when it returns, the in-order queue has
		    // finished the reads above.
		    CL_TRY(op, clEnqueueReadBuffer(q, dmax.m, CL_TRUE, 0,
						   groups * sizeof(double),
						   pmax.data(), 0, nullptr,
						   nullptr));
		    double mn = pmin[0];
		    double mx = pmax[0];
		    for (size_t i = 1; i < groups; i++) {
			    mn = std::min(mn, pmin[i]);
			    mx = std::max(mx, pmax[i]);
		    }
		    *min = mn;
		    *max = mx;
		    return VACCEL_OK;
	    });
}

// --- plugin ----------------------------------------------------------------

vaccel_op ocl_ops[] = {
    vaccel::plugin::op<VACCEL_OP_BLAS_SGEMM>(ocl_sgemm),
    vaccel::plugin::op<VACCEL_OP_FPGA_ARRAYCOPY>(ocl_arraycopy),
    vaccel::plugin::op<VACCEL_OP_FPGA_MMULT>(ocl_mmult),
    vaccel::plugin::op<VACCEL_OP_FPGA_PARALLEL>(ocl_parallel),
    vaccel::plugin::op<VACCEL_OP_FPGA_VECTORADD>(ocl_vadd),
    vaccel::plugin::op<VACCEL_OP_MINMAX>(ocl_minmax),
};

int ocl_init()
{
	std::unique_ptr<Device> dev;
	try {
		dev = std::make_unique<Device>();
		probe(dev.get());
		if (!dev->unusable.empty())
			ocl_warn("no OpenCL device: %s; every op will return "
				 "VACCEL_ENODEV",
				 dev->unusable.c_str());
		else
			ocl_info(
			    "using '%s' on '%s' (tile %zu, fp64 %s)",
			    dev->name.c_str(),
			    platform_string(dev->platform, CL_PLATFORM_NAME)
				.c_str(),
			    dev->tile, dev->fp64 ? "yes" : "no");
	} catch (const std::bad_alloc &) {
		return VACCEL_ENOMEM;
	}
	int rc = vaccel_plugin_register_ops(ocl_ops, std::size(ocl_ops));
	if (rc != VACCEL_OK)
		return rc;
	g_device = dev.release();
	return VACCEL_OK;
}

int ocl_fini()
{
	delete std::exchange(g_device, nullptr);
	return VACCEL_OK;
}

} // namespace

VACCEL_PLUGIN(.name = "opencl", .version = VACCEL_VERSION,
	      .vaccel_version = VACCEL_VERSION, .init = ocl_init,
	      .fini = ocl_fini,
	      .type = static_cast<vaccel_plugin_type_t>(VACCEL_PLUGIN_GPU |
							VACCEL_PLUGIN_FPGA))
