// SPDX-License-Identifier: Apache-2.0
// The cuda plugin: runs vAccel ops on an NVIDIA GPU.
//
//  - VACCEL_OP_BLAS_SGEMM through cuBLAS (row-major, any leading dimensions).
//  - VACCEL_OP_FPGA_VECTORADD, _PARALLEL, _ARRAYCOPY, _MMULT and
//    VACCEL_OP_MINMAX as CUDA kernels (kernels.cu).
//
// Each call copies its inputs to device memory (cudaMalloc, never managed
// memory), runs on a stream and copies the results back before returning.
// Concurrency: a call borrows a Worker (a stream, a cuBLAS handle bound to
// it and a device scratch buffer) from a pool and returns it at the end, so
// concurrent calls never share a stream or a handle and the pool grows to
// the peak number of concurrent calls.
//
// VACCEL_ACCELERATOR_BYTES caps the device memory the plugin's buffers hold
// at once (the agent sets it for a tenant's worker process from its
// policy): a call that would pass it returns VACCEL_ENOMEM. Under a cap,
// buffers are freed after each call, so that idle ones never hold memory
// another call needs.
//
// The device is VACCEL_CUDA_DEVICE (an index, default 0). When there is no
// usable device (no driver, no GPU, a bad index) init still succeeds and
// logs one warning; every op then returns VACCEL_ENODEV. Arguments are
// validated first, so bad arguments are VACCEL_EINVAL with or without a
// device. CUDA and cuBLAS failures are logged with the library's error
// string and mapped to the closest VACCEL_E* code.
#include "kernels.h"

#include <vaccel.h>
#include <vaccel/plugin_ops.hpp>

#include "../common/op_args.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

#define cuda_debug(...) vaccel_debug("[cuda] " __VA_ARGS__)
#define cuda_info(...) vaccel_info("[cuda] " __VA_ARGS__)
#define cuda_warn(...) vaccel_warn("[cuda] " __VA_ARGS__)
#define cuda_error(...) vaccel_error("[cuda] " __VA_ARGS__)

namespace
{

constexpr const char *kDeviceEnv = "VACCEL_CUDA_DEVICE";
constexpr const char *kCapEnv = "VACCEL_ACCELERATOR_BYTES";
// Scratch buffers up to this size stay allocated between calls; a larger one
// is freed after the call that needed it.
constexpr size_t kKeepScratchBytes = size_t{256} << 20;
// Sub-buffers inside the scratch buffer start at this alignment (what
// cudaMalloc guarantees, and what coalesced loads want).
constexpr size_t kAlign = 256;

int map_cuda(cudaError_t err)
{
	switch (err) {
	case cudaSuccess:
		return VACCEL_OK;
	case cudaErrorMemoryAllocation:
		return VACCEL_ENOMEM;
	case cudaErrorNoDevice:
	case cudaErrorInsufficientDriver:
	case cudaErrorInvalidDevice:
	case cudaErrorDevicesUnavailable:
	case cudaErrorStubLibrary:
	case cudaErrorSystemDriverMismatch:
	case cudaErrorCompatNotSupportedOnDevice:
		return VACCEL_ENODEV;
	case cudaErrorNoKernelImageForDevice:
	case cudaErrorUnsupportedPtxVersion:
		return VACCEL_ENOTSUP;
	default:
		return VACCEL_EBACKEND;
	}
}

int map_cublas(cublasStatus_t st)
{
	switch (st) {
	case CUBLAS_STATUS_SUCCESS:
		return VACCEL_OK;
	case CUBLAS_STATUS_ALLOC_FAILED:
		return VACCEL_ENOMEM;
	case CUBLAS_STATUS_NOT_INITIALIZED:
		return VACCEL_ENODEV;
	case CUBLAS_STATUS_INVALID_VALUE:
		return VACCEL_EINVAL;
	case CUBLAS_STATUS_ARCH_MISMATCH:
	case CUBLAS_STATUS_NOT_SUPPORTED:
		return VACCEL_ENOTSUP;
	default:
		return VACCEL_EBACKEND;
	}
}

// Logs a failed CUDA call of @p op and returns its vAccel code.
int cuda_fail(const char *op, const char *call, cudaError_t err)
{
	int rc = map_cuda(err);
	cuda_error("%s: %s failed: %s (%s)", op, call, cudaGetErrorString(err),
		   cudaGetErrorName(err));
	return rc;
}

int cublas_fail(const char *op, const char *call, cublasStatus_t st)
{
	int rc = map_cublas(st);
	cuda_error("%s: %s failed: %s (%s)", op, call,
		   cublasGetStatusString(st), cublasGetStatusName(st));
	return rc;
}

#define CUDA_TRY(op, call)                                                     \
	do {                                                                   \
		cudaError_t err_ = (call);                                     \
		if (err_ != cudaSuccess)                                       \
			return cuda_fail(op, #call, err_);                     \
	} while (0)

// The device memory the workers' buffers hold together, against the cap
// (0: none).
class Budget
{
public:
	explicit Budget(size_t cap) : cap_(cap) {}

	[[nodiscard]] size_t cap() const { return cap_; }
	[[nodiscard]] size_t used() const { return used_.load(); }
	// Counts @p n more bytes; false (nothing counted) past the cap.
	bool take(size_t n)
	{
		size_t cur = used_.load();
		do {
			if (cap_ != 0 && (cur > cap_ || n > cap_ - cur))
				return false;
		} while (!used_.compare_exchange_weak(cur, cur + n));
		return true;
	}
	void give(size_t n) { used_ -= n; }

private:
	const size_t cap_;
	std::atomic<size_t> used_{0};
};

// What one call needs on the device. Used by one call at a time.
struct Worker {
	Budget *budget = nullptr;
	cudaStream_t stream = nullptr;
	cublasHandle_t blas = nullptr; // created on the first sgemm
	void *scratch = nullptr;
	size_t scratch_size = 0;

	Worker() = default;
	Worker(const Worker &) = delete;
	Worker &operator=(const Worker &) = delete;

	// Errors are ignored: this runs at fini, where nothing can be done.
	~Worker()
	{
		if (blas != nullptr)
			(void)cublasDestroy(blas);
		free_scratch();
		if (stream != nullptr)
			(void)cudaStreamDestroy(stream);
	}

	void free_scratch()
	{
		if (scratch == nullptr)
			return;
		(void)cudaFree(scratch);
		budget->give(scratch_size);
		scratch = nullptr;
		scratch_size = 0;
	}

	// Makes the scratch buffer at least @p bytes. The stream is idle
	// between calls, so freeing the old buffer cannot race a kernel.
	int reserve(const char *op, size_t bytes)
	{
		if (bytes <= scratch_size)
			return VACCEL_OK;
		free_scratch();
		// Round up to 1 MiB so that slowly growing sizes do not
		// reallocate on every call (exactly @p bytes where the cap
		// leaves no room for more).
		constexpr size_t mib = size_t{1} << 20;
		size_t size = bytes > SIZE_MAX - mib
				  ? bytes
				  : (bytes + mib - 1) / mib * mib;
		if (!budget->take(size)) {
			size = bytes;
			if (!budget->take(size)) {
				cuda_error("%s: needs %zu bytes of device "
					   "memory, but this process may hold "
					   "%zu (%s) and %zu are in use",
					   op, bytes, budget->cap(), kCapEnv,
					   budget->used());
				return VACCEL_ENOMEM;
			}
		}
		cudaError_t err = cudaMalloc(&scratch, size);
		if (err != cudaSuccess) {
			scratch = nullptr;
			budget->give(size);
			(void)cudaGetLastError(); // clear the non-sticky error
			cuda_error("%s: cannot allocate %zu bytes of device "
				   "memory: %s",
				   op, size, cudaGetErrorString(err));
			return map_cuda(err);
		}
		scratch_size = size;
		return VACCEL_OK;
	}

	// Releases an oversized scratch buffer after a call (any, under a
	// cap).
	void trim()
	{
		if (scratch_size > kKeepScratchBytes || budget->cap() != 0)
			free_scratch();
	}

	int ensure_blas(const char *op)
	{
		if (blas != nullptr)
			return VACCEL_OK;
		cublasStatus_t st = cublasCreate(&blas);
		if (st != CUBLAS_STATUS_SUCCESS) {
			blas = nullptr;
			return cublas_fail(op, "cublasCreate", st);
		}
		const char *call = "cublasSetStream";
		st = cublasSetStream(blas, stream);
		if (st == CUBLAS_STATUS_SUCCESS) {
			// Plain FP32: no TF32 tensor-op shortcuts, so results
			// match a float reference within float rounding.
			call = "cublasSetMathMode";
			st = cublasSetMathMode(blas, CUBLAS_DEFAULT_MATH);
		}
		if (st == CUBLAS_STATUS_SUCCESS)
			return VACCEL_OK;
		// Never keep a handle that is not bound to this stream.
		(void)cublasDestroy(blas);
		blas = nullptr;
		return cublas_fail(op, call, st);
	}
};

// Lays out several arrays in a worker's scratch buffer, each starting
// kAlign-aligned: add() them all, reserve total(), then take() them in the
// same order.
class Carver
{
public:
	// Adds room for @p count elements of @p size bytes. An overflow makes
	// ok() false for good.
	void add(size_t count, size_t size)
	{
		size_t bytes = 0;
		size_t padded = 0;
		if (__builtin_mul_overflow(count, size, &bytes) ||
		    __builtin_add_overflow(bytes, kAlign - 1, &padded) ||
		    __builtin_add_overflow(total_, padded / kAlign * kAlign,
					   &total_))
			ok_ = false;
	}
	bool ok() const { return ok_; }
	size_t total() const { return total_; }

	// The next array of @p count T within @p base.
	template <class T> T *take(void *base, size_t count)
	{
		auto *p = static_cast<unsigned char *>(base) + offset_;
		offset_ += (count * sizeof(T) + kAlign - 1) / kAlign * kAlign;
		return reinterpret_cast<T *>(p);
	}

private:
	size_t total_ = 0;
	size_t offset_ = 0;
	bool ok_ = true;
};

// Reserves @p carve's total in @p w, or fails when it overflowed.
int reserve(const char *op, Worker &w, const Carver &carve)
{
	if (!carve.ok()) {
		cuda_error("%s: the arrays are too large", op);
		return VACCEL_EINVAL;
	}
	return w.reserve(op, carve.total());
}

class Device
{
public:
	int index = -1;
	std::string unusable; // why there is no device; empty if usable
	Budget budget;

	explicit Device(size_t cap) : budget(cap) {}
	Device(const Device &) = delete;
	Device &operator=(const Device &) = delete;

	// Destroys the workers on the plugin's device.
	~Device()
	{
		if (index >= 0 && !all_.empty())
			(void)cudaSetDevice(index);
		idle_.clear();
		all_.clear();
	}

	// An idle worker, or a new one. The caller has selected the device.
	int acquire(const char *op, Worker **out)
	{
		{
			std::lock_guard lock(mu_);
			if (!idle_.empty()) {
				*out = idle_.back();
				idle_.pop_back();
				return VACCEL_OK;
			}
		}
		auto w = std::make_unique<Worker>();
		w->budget = &budget;
		CUDA_TRY(op, cudaStreamCreateWithFlags(&w->stream,
						       cudaStreamNonBlocking));
		std::lock_guard lock(mu_);
		all_.push_back(std::move(w));
		*out = all_.back().get();
		cuda_debug("%s: created worker %zu", op, all_.size());
		return VACCEL_OK;
	}

	void release(Worker *w)
	{
		std::lock_guard lock(mu_);
		idle_.push_back(w);
	}

private:
	std::mutex mu_;
	std::vector<std::unique_ptr<Worker>> all_;
	std::vector<Worker *> idle_;
};

Device *g_device = nullptr;

// Runs @p body with a worker on the plugin's device, then waits for the
// worker's stream. @p body enqueues copies and kernels on w.stream.
template <class Body> int on_device(const char *op, Body &&body)
{
	Device *dev = g_device;
	if (dev == nullptr) {
		cuda_error("%s: the plugin is not initialized", op);
		return VACCEL_ENODEV;
	}
	if (!dev->unusable.empty()) {
		cuda_error("%s: no CUDA device: %s", op, dev->unusable.c_str());
		return VACCEL_ENODEV;
	}
	try {
		// The current device is per host thread: set it on every call.
		CUDA_TRY(op, cudaSetDevice(dev->index));
		Worker *w = nullptr;
		int rc = dev->acquire(op, &w);
		if (rc != VACCEL_OK)
			return rc;
		// Waits for the stream and returns the worker to the pool
		// however body() ends, exceptions included.
		struct Lease {
			Device *dev;
			Worker *w;
			cudaError_t wait() const
			{
				return cudaStreamSynchronize(w->stream);
			}
			~Lease()
			{
				(void)wait();
				w->trim();
				dev->release(w);
			}
		} lease{dev, w};
		rc = body(*w);
		cudaError_t err = lease.wait();
		if (rc == VACCEL_OK && err != cudaSuccess)
			rc = cuda_fail(op, "cudaStreamSynchronize", err);
		return rc;
	} catch (const std::bad_alloc &) {
		cuda_error("%s: out of host memory", op);
		return VACCEL_ENOMEM;
	} catch (const std::exception &e) {
		cuda_error("%s: %s", op, e.what());
		return VACCEL_EBACKEND;
	}
}

// Bytes of @p n elements of @p size, or false when that overflows.
bool bytes_of(size_t n, size_t size, size_t *out)
{
	return !__builtin_mul_overflow(n, size, out);
}

int h2d(const char *op, void *dst, const void *src, size_t bytes,
	cudaStream_t s)
{
	if (bytes == 0)
		return VACCEL_OK;
	CUDA_TRY(op,
		 cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s));
	return VACCEL_OK;
}

int d2h(const char *op, void *dst, const void *src, size_t bytes,
	cudaStream_t s)
{
	if (bytes == 0)
		return VACCEL_OK;
	CUDA_TRY(op,
		 cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
	return VACCEL_OK;
}

#define VACCEL_TRY(expr)                                                       \
	do {                                                                   \
		int rc_ = (expr);                                              \
		if (rc_ != VACCEL_OK)                                          \
			return rc_;                                            \
	} while (0)

// --- sgemm -----------------------------------------------------------------

// A bad argument (the rules: plugins/common/op_args.h, shared with the blas
// and opencl plugins), logged under this plugin's tag.
int checked(const char *op, const vaccel::op_args::Check &ck)
{
	if (!ck.ok())
		cuda_error("%s: %s", op, ck.why.c_str());
	return ck.rc;
}

// Copies a row-major rows x cols block with leading dimension @p ld (host)
// to or from a packed device block with leading dimension @p cols.
int copy_rows(const char *op, void *dst, size_t dpitch, const void *src,
	      size_t spitch, int64_t rows, int64_t cols, cudaMemcpyKind kind,
	      cudaStream_t s)
{
	if (rows == 0 || cols == 0)
		return VACCEL_OK;
	CUDA_TRY(op,
		 cudaMemcpy2DAsync(dst, dpitch, src, spitch,
				   static_cast<size_t>(cols) * sizeof(float),
				   static_cast<size_t>(rows), kind, s));
	return VACCEL_OK;
}

// Bytes between rows of a host matrix with leading dimension @p ld (checked
// by op_args::sgemm()).
size_t pitch(int64_t ld)
{
	return sizeof(float) * static_cast<size_t>(ld);
}

int cuda_sgemm(vaccel_session *sess, int64_t m, int64_t n, int64_t k,
	       float alpha, float *a, int64_t lda, float *b, int64_t ldb,
	       float beta, float *c, int64_t ldc)
{
	const char *op = "sgemm";
	VACCEL_TRY(checked(
	    op, vaccel::op_args::sgemm(sess, m, n, k, a, lda, b, ldb, c, ldc)));
	// The device copies are packed (leading dimension = columns). The
	// spans were checked above, so these products do not overflow.
	const auto um = static_cast<size_t>(m);
	const auto un = static_cast<size_t>(n);
	const auto uk = static_cast<size_t>(k);
	Carver carve;
	carve.add(um * uk, sizeof(float));
	carve.add(uk * un, sizeof(float));
	carve.add(um * un, sizeof(float));
	cuda_debug("sgemm: session %" PRId64 " m %" PRId64 " n %" PRId64
		   " k %" PRId64 " lda %" PRId64 " ldb %" PRId64
		   " ldc %" PRId64,
		   sess->id, m, n, k, lda, ldb, ldc);

	return on_device(op, [&](Worker &w) -> int {
		if (m == 0 || n == 0)
			return VACCEL_OK; // C has no elements
		// With k == 0 or alpha == 0, A B adds nothing and BLAS reads
		// neither A nor B: C = beta C, done here without a gemm.
		const bool scale_only = k == 0 || alpha == 0.0F;
		if (scale_only && beta == 1.0F)
			return VACCEL_OK;
		VACCEL_TRY(w.ensure_blas(op));
		VACCEL_TRY(reserve(op, w, carve));
		auto *da = carve.take<float>(w.scratch, um * uk);
		auto *db = carve.take<float>(w.scratch, uk * un);
		auto *dc = carve.take<float>(w.scratch, um * un);
		const size_t fk = sizeof(float) * uk;
		const size_t fn = sizeof(float) * un;
		// With beta == 0 BLAS does not read C (it may hold NaN): it
		// is not uploaded.
		if (beta != 0.0F)
			VACCEL_TRY(copy_rows(op, dc, fn, c, pitch(ldc), m, n,
					     cudaMemcpyHostToDevice, w.stream));
		if (scale_only && beta == 0.0F) {
			// All-zero bits are 0.0F.
			CUDA_TRY(op,
				 cudaMemsetAsync(dc, 0, um * un * sizeof(float),
						 w.stream));
		} else if (scale_only) {
			cublasStatus_t st = cublasSscal_64(
			    w.blas, static_cast<int64_t>(um * un), &beta, dc,
			    1);
			if (st != CUBLAS_STATUS_SUCCESS)
				return cublas_fail(op, "cublasSscal_64", st);
		} else {
			VACCEL_TRY(copy_rows(op, da, fk, a, pitch(lda), m, k,
					     cudaMemcpyHostToDevice, w.stream));
			VACCEL_TRY(copy_rows(op, db, fn, b, pitch(ldb), k, n,
					     cudaMemcpyHostToDevice, w.stream));
			// cuBLAS is column-major, and a row-major X with
			// leading dimension ld is the column-major X^T. So
			// row-major C = A B is column-major C^T = B^T A^T:
			// swap the operands and m, n. The device copies are
			// packed: leading dimension = columns.
			cublasStatus_t st = cublasSgemm_64(
			    w.blas, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha,
			    db, n, da, k, &beta, dc, n);
			if (st != CUBLAS_STATUS_SUCCESS)
				return cublas_fail(op, "cublasSgemm_64", st);
		}
		return copy_rows(op, c, pitch(ldc), dc, fn, m, n,
				 cudaMemcpyDeviceToHost, w.stream);
	});
}

// --- fpga demo ops ---------------------------------------------------------

int check_elems(const char *op, const vaccel_session *sess, size_t n,
		size_t elem, std::initializer_list<const void *> bufs)
{
	return checked(op, vaccel::op_args::elems(sess, n, elem, bufs));
}

int cuda_vadd(vaccel_session *sess, float *a, float *b, float *c, size_t len_a,
	      size_t len_b)
{
	const char *op = "fpga_vadd";
	VACCEL_TRY(
	    checked(op, vaccel::op_args::vadd(sess, a, b, c, len_a, len_b)));
	cuda_debug("%s: session %" PRId64 " len_a %zu len_b %zu", op, sess->id,
		   len_a, len_b);
	const size_t bytes = len_a * sizeof(float);
	return on_device(op, [&](Worker &w) -> int {
		if (len_a == 0)
			return VACCEL_OK;
		Carver carve;
		for (int i = 0; i < 3; i++)
			carve.add(len_a, sizeof(float));
		VACCEL_TRY(reserve(op, w, carve));
		auto *da = carve.take<float>(w.scratch, len_a);
		auto *db = carve.take<float>(w.scratch, len_a);
		auto *dc = carve.take<float>(w.scratch, len_a);
		VACCEL_TRY(h2d(op, da, a, bytes, w.stream));
		VACCEL_TRY(h2d(op, db, b, bytes, w.stream));
		CUDA_TRY(op,
			 vaccel_cuda::launch_vadd(da, db, dc, len_a, w.stream));
		return d2h(op, c, dc, bytes, w.stream);
	});
}

int cuda_parallel(vaccel_session *sess, float *a, float *b, float *add_output,
		  float *mult_output, size_t len_a)
{
	const char *op = "fpga_parallel";
	VACCEL_TRY(check_elems(op, sess, len_a, sizeof(float),
			       {a, b, add_output, mult_output}));
	cuda_debug("%s: session %" PRId64 " len_a %zu", op, sess->id, len_a);
	const size_t bytes = len_a * sizeof(float);
	return on_device(op, [&](Worker &w) -> int {
		if (len_a == 0)
			return VACCEL_OK;
		Carver carve;
		for (int i = 0; i < 4; i++)
			carve.add(len_a, sizeof(float));
		VACCEL_TRY(reserve(op, w, carve));
		auto *da = carve.take<float>(w.scratch, len_a);
		auto *db = carve.take<float>(w.scratch, len_a);
		auto *dadd = carve.take<float>(w.scratch, len_a);
		auto *dmul = carve.take<float>(w.scratch, len_a);
		VACCEL_TRY(h2d(op, da, a, bytes, w.stream));
		VACCEL_TRY(h2d(op, db, b, bytes, w.stream));
		CUDA_TRY(op, vaccel_cuda::launch_parallel(da, db, dadd, dmul,
							  len_a, w.stream));
		VACCEL_TRY(d2h(op, add_output, dadd, bytes, w.stream));
		return d2h(op, mult_output, dmul, bytes, w.stream);
	});
}

int cuda_arraycopy(vaccel_session *sess, int *a, int *out_a, size_t len_a)
{
	const char *op = "fpga_arraycopy";
	VACCEL_TRY(check_elems(op, sess, len_a, sizeof(int), {a, out_a}));
	cuda_debug("%s: session %" PRId64 " len_a %zu", op, sess->id, len_a);
	const size_t bytes = len_a * sizeof(int);
	return on_device(op, [&](Worker &w) -> int {
		if (len_a == 0)
			return VACCEL_OK;
		Carver carve;
		carve.add(len_a, sizeof(int));
		carve.add(len_a, sizeof(int));
		VACCEL_TRY(reserve(op, w, carve));
		auto *din = carve.take<int>(w.scratch, len_a);
		auto *dout = carve.take<int>(w.scratch, len_a);
		VACCEL_TRY(h2d(op, din, a, bytes, w.stream));
		CUDA_TRY(op, vaccel_cuda::launch_arraycopy(din, dout, len_a,
							   w.stream));
		return d2h(op, out_a, dout, bytes, w.stream);
	});
}

int cuda_mmult(vaccel_session *sess, float *a, float *b, float *c, size_t len_a)
{
	const char *op = "fpga_mmult";
	size_t n = 0;
	VACCEL_TRY(
	    checked(op, vaccel::op_args::mmult(sess, a, b, c, len_a, &n)));
	cuda_debug("%s: session %" PRId64 " %zu x %zu", op, sess->id, n, n);
	const size_t bytes = len_a * sizeof(float);
	return on_device(op, [&](Worker &w) -> int {
		if (len_a == 0)
			return VACCEL_OK;
		Carver carve;
		for (int i = 0; i < 3; i++)
			carve.add(len_a, sizeof(float));
		VACCEL_TRY(reserve(op, w, carve));
		auto *da = carve.take<float>(w.scratch, len_a);
		auto *db = carve.take<float>(w.scratch, len_a);
		auto *dc = carve.take<float>(w.scratch, len_a);
		VACCEL_TRY(h2d(op, da, a, bytes, w.stream));
		VACCEL_TRY(h2d(op, db, b, bytes, w.stream));
		CUDA_TRY(op,
			 vaccel_cuda::launch_mmult(da, db, dc, n, w.stream));
		return d2h(op, c, dc, bytes, w.stream);
	});
}

// --- minmax ----------------------------------------------------------------

int cuda_minmax(vaccel_session *sess, const double *indata, int ndata,
		int low_threshold, int high_threshold, double *outdata,
		double *min, double *max)
{
	const char *op = "minmax";
	VACCEL_TRY(checked(
	    op, vaccel::op_args::minmax(sess, indata, ndata, low_threshold,
					high_threshold, outdata, min, max)));
	cuda_debug("%s: session %" PRId64 " ndata %d low %d high %d", op,
		   sess->id, ndata, low_threshold, high_threshold);
	const auto n = static_cast<size_t>(ndata);
	const size_t bytes = n * sizeof(double);
	return on_device(op, [&](Worker &w) -> int {
		Carver carve;
		carve.add(n, sizeof(double));
		carve.add(n, sizeof(double));
		carve.add(vaccel_cuda::minmax_scratch_doubles(n),
			  sizeof(double));
		carve.add(2, sizeof(double));
		VACCEL_TRY(reserve(op, w, carve));
		auto *din = carve.take<double>(w.scratch, n);
		auto *dout = carve.take<double>(w.scratch, n);
		auto *dpart = carve.take<double>(
		    w.scratch, vaccel_cuda::minmax_scratch_doubles(n));
		auto *dres = carve.take<double>(w.scratch, 2);
		VACCEL_TRY(h2d(op, din, indata, bytes, w.stream));
		CUDA_TRY(op, vaccel_cuda::launch_minmax(
				 din, dout, n, low_threshold, high_threshold,
				 dpart, dres, w.stream));
		double res[2] = {0.0, 0.0};
		VACCEL_TRY(d2h(op, outdata, dout, bytes, w.stream));
		VACCEL_TRY(d2h(op, res, dres, sizeof(res), w.stream));
		// res is pageable stack memory: wait before reading it.
		CUDA_TRY(op, cudaStreamSynchronize(w.stream));
		*min = res[0];
		*max = res[1];
		return VACCEL_OK;
	});
}

// --- plugin ----------------------------------------------------------------

// Parses VACCEL_CUDA_DEVICE; false (with @p why) when it is not an index.
bool device_from_env(int *index, std::string *why)
{
	const char *v = std::getenv(kDeviceEnv);
	*index = 0;
	if (v == nullptr || *v == '\0')
		return true;
	char *end = nullptr;
	errno = 0;
	long x = std::strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || x < 0 || x > INT_MAX) {
		*why = std::string(kDeviceEnv) + "='" + v +
		       "' is not a device index";
		return false;
	}
	*index = static_cast<int>(x);
	return true;
}

// Parses VACCEL_ACCELERATOR_BYTES (0 when unset); false (with @p why) when
// it is not a byte count.
bool cap_from_env(size_t *cap, std::string *why)
{
	const char *v = std::getenv(kCapEnv);
	*cap = 0;
	if (v == nullptr || *v == '\0')
		return true;
	// Digits only: strtoull alone takes " -1" as 2^64 - 1 (no cap).
	const size_t len = std::strlen(v);
	const bool digits = len <= 20 && std::all_of(v, v + len, [](char c) {
				    return c >= '0' && c <= '9';
			    });
	errno = 0;
	const unsigned long long x = digits ? std::strtoull(v, nullptr, 10) : 0;
	if (!digits || errno != 0 || x > SIZE_MAX) {
		*why = std::string(kCapEnv) + "='" + v +
		       "' is not a number of bytes";
		return false;
	}
	*cap = static_cast<size_t>(x);
	return true;
}

// Whether the driver library that cudart loads at its first call exists.
bool driver_loadable()
{
	void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
	if (h == nullptr)
		return false;
	dlclose(h);
	return true;
}

// Picks the device; records why there is none instead of failing.
void probe(Device *dev)
{
	int index = 0;
	std::string why;
	if (!device_from_env(&index, &why)) {
		dev->unusable = why;
		return;
	}
	int count = 0;
	cudaError_t err = cudaGetDeviceCount(&count);
	if (err != cudaSuccess) {
		(void)cudaGetLastError();
		dev->unusable = std::string("cudaGetDeviceCount: ") +
				cudaGetErrorString(err) + " (" +
				cudaGetErrorName(err) + ")";
		// cudart says "insufficient driver" also when there is no
		// driver at all: tell the two apart.
		if (err == cudaErrorInsufficientDriver && !driver_loadable())
			dev->unusable = "the NVIDIA driver is not installed "
					"(libcuda.so.1 does not load)";
		return;
	}
	if (index >= count) {
		dev->unusable = std::string(kDeviceEnv) + "=" +
				std::to_string(index) + " but there are " +
				std::to_string(count) + " device(s)";
		return;
	}
	cudaDeviceProp prop{};
	err = cudaGetDeviceProperties(&prop, index);
	if (err != cudaSuccess) {
		(void)cudaGetLastError();
		dev->unusable = std::string("cudaGetDeviceProperties(") +
				std::to_string(index) +
				"): " + cudaGetErrorString(err);
		return;
	}
	dev->index = index;
	cuda_info("using device %d of %d: %s (compute capability %d.%d, %zu "
		  "MiB)",
		  index, count, prop.name, prop.major, prop.minor,
		  prop.totalGlobalMem >> 20);
	if (dev->budget.cap() != 0)
		cuda_info("buffers capped at %zu bytes (%s)", dev->budget.cap(),
			  kCapEnv);
}

vaccel_op cuda_ops[] = {
    vaccel::plugin::op<VACCEL_OP_BLAS_SGEMM>(cuda_sgemm),
    vaccel::plugin::op<VACCEL_OP_FPGA_ARRAYCOPY>(cuda_arraycopy),
    vaccel::plugin::op<VACCEL_OP_FPGA_MMULT>(cuda_mmult),
    vaccel::plugin::op<VACCEL_OP_FPGA_PARALLEL>(cuda_parallel),
    vaccel::plugin::op<VACCEL_OP_FPGA_VECTORADD>(cuda_vadd),
    vaccel::plugin::op<VACCEL_OP_MINMAX>(cuda_minmax),
};

int cuda_init()
{
	size_t cap = 0;
	std::string why;
	if (!cap_from_env(&cap, &why)) {
		// A cap the operator meant to set must not silently vanish.
		cuda_error("%s", why.c_str());
		return VACCEL_EINVAL;
	}
	Device *dev = nullptr;
	try {
		dev = new Device(cap);
		probe(dev);
	} catch (const std::bad_alloc &) {
		delete dev;
		return VACCEL_ENOMEM;
	}
	if (!dev->unusable.empty())
		cuda_warn("no CUDA device: %s; every op will return "
			  "VACCEL_ENODEV",
			  dev->unusable.c_str());
	int rc = vaccel_plugin_register_ops(cuda_ops, std::size(cuda_ops));
	if (rc != VACCEL_OK) {
		delete dev;
		return rc;
	}
	g_device = dev;
	return VACCEL_OK;
}

int cuda_fini()
{
	delete std::exchange(g_device, nullptr);
	return VACCEL_OK;
}

} // namespace

VACCEL_PLUGIN(.name = "cuda", .version = VACCEL_VERSION,
	      .vaccel_version = VACCEL_VERSION, .init = cuda_init,
	      .fini = cuda_fini, .type = VACCEL_PLUGIN_GPU)
