// SPDX-License-Identifier: Apache-2.0
/**
 * @file vaccel.hpp
 * Header-only C++20 API over the vAccel C ABI.
 *
 * Errors: every failing call throws vaccel::Error, which carries the vAccel
 * code (code()) and the runtime's message (what()). vaccel::check() is the
 * one place a C return code becomes an exception.
 *
 * Ownership: Session and Resource are move-only RAII handles, destroyed in
 * any order: releasing either unregisters it from the other (as upstream's
 * C API does). Handles that outlive vaccel_cleanup() (e.g. statics)
 * are safe to destroy: their release fails cleanly and is ignored.
 *
 * Thread safety: as the C API: distinct objects may be used from different
 * threads; ops on one Session may run concurrently.
 */
#pragma once

#include <vaccel.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace vaccel
{

/** Exception carrying a vAccel error code. */
class Error : public std::runtime_error
{
public:
	Error(int code, const std::string &what)
	    : std::runtime_error(what), code_(code)
	{
	}
	/** The VACCEL_E* code. */
	[[nodiscard]] int code() const noexcept { return code_; }

private:
	int code_;
};

/** Throw vaccel::Error if @p rc is not VACCEL_OK. @p what names the call. */
inline void check(int rc, std::string_view what)
{
	if (rc == VACCEL_OK)
		return;
	std::string msg(what);
	const char *detail = vaccel_last_error();
	msg += " failed (";
	msg += std::to_string(rc);
	msg += ")";
	if (detail != nullptr && *detail != '\0') {
		msg += ": ";
		msg += detail;
	}
	throw Error(rc, msg);
}

enum class ResourceType : int {
	Lib = VACCEL_RESOURCE_LIB,
	Data = VACCEL_RESOURCE_DATA,
	Model = VACCEL_RESOURCE_MODEL,
};

/** A resource (model, library, data). */
class Resource
{
public:
	/** From a file, a directory or an http(s) URL. */
	Resource(const std::string &path, ResourceType type) : res_(alloc())
	{
		check(vaccel_resource_init(
			  res_.get(), path.c_str(),
			  static_cast<vaccel_resource_type_t>(type)),
		      "vaccel_resource_init");
		live_ = true;
	}

	/** From several files (e.g. a library and its dependencies). */
	Resource(const std::vector<std::string> &paths, ResourceType type)
	    : res_(alloc())
	{
		std::vector<const char *> c;
		c.reserve(paths.size());
		for (const auto &p : paths)
			c.push_back(p.c_str());
		check(vaccel_resource_init_multi(
			  res_.get(), c.data(), c.size(),
			  static_cast<vaccel_resource_type_t>(type)),
		      "vaccel_resource_init_multi");
		live_ = true;
	}

	/** From bytes (copied). @p mem_only keeps them off the filesystem. */
	static Resource from_buffer(std::span<const std::byte> data,
				    ResourceType type,
				    const std::string &filename = "file",
				    bool mem_only = false)
	{
		Resource r;
		check(vaccel_resource_init_from_buf(
			  r.res_.get(), data.data(), data.size(),
			  static_cast<vaccel_resource_type_t>(type),
			  filename.c_str(), mem_only),
		      "vaccel_resource_init_from_buf");
		r.live_ = true;
		return r;
	}

	Resource(Resource &&) noexcept = default;
	Resource &operator=(Resource &&o) noexcept
	{
		if (this != &o) {
			reset();
			res_ = std::move(o.res_);
			live_ = std::exchange(o.live_, false);
		}
		return *this;
	}
	Resource(const Resource &) = delete;
	Resource &operator=(const Resource &) = delete;
	~Resource() { reset(); }

	[[nodiscard]] vaccel_id_t id() const noexcept
	{
		return res_ ? res_->id : 0;
	}
	/** The C struct, for calls the C++ API does not wrap. */
	[[nodiscard]] vaccel_resource *get() const noexcept
	{
		return res_.get();
	}

private:
	struct Free {
		void operator()(vaccel_resource *r) const noexcept
		{
			std::free(r);
		}
	};
	Resource() : res_(alloc()) {}
	static vaccel_resource *alloc()
	{
		auto *r = static_cast<vaccel_resource *>(
		    std::calloc(1, sizeof(vaccel_resource)));
		if (r == nullptr)
			throw Error(VACCEL_ENOMEM, "out of memory");
		return r;
	}
	void reset() noexcept
	{
		if (res_ && live_)
			(void)vaccel_resource_release(res_.get());
		live_ = false;
	}

	std::unique_ptr<vaccel_resource, Free> res_;
	bool live_ = false;
};

/** Result of Session::minmax(). */
/**
 * A buffer for op arguments (vaccel_buffer_alloc()): zeroed, aligned to
 * 4096 bytes, freed when the handle goes. Through the rpc plugin to a local
 * agent, arguments that lie inside it travel by reference, and outputs are
 * written into it in place (vaccel/buffer.h); elsewhere it is ordinary
 * memory. Move-only.
 */
class Buffer
{
public:
	/** @p size bytes (at least 1). */
	explicit Buffer(size_t size)
	{
		void *p = nullptr;
		check(vaccel_buffer_alloc(size, &p), "vaccel_buffer_alloc");
		data_ = p;
		size_ = size;
	}
	Buffer(Buffer &&o) noexcept
	    : data_(std::exchange(o.data_, nullptr)),
	      size_(std::exchange(o.size_, 0))
	{
	}
	Buffer &operator=(Buffer &&o) noexcept
	{
		if (this != &o) {
			reset();
			data_ = std::exchange(o.data_, nullptr);
			size_ = std::exchange(o.size_, 0);
		}
		return *this;
	}
	Buffer(const Buffer &) = delete;
	Buffer &operator=(const Buffer &) = delete;
	~Buffer() { reset(); }

	/** NULL for a moved-from handle. */
	[[nodiscard]] void *data() const noexcept { return data_; }
	[[nodiscard]] size_t size() const noexcept { return size_; }
	/** The buffer as size() / sizeof(T) elements of @p T. */
	template <class T> [[nodiscard]] std::span<T> as() const noexcept
	{
		static_assert(std::is_trivially_copyable_v<T>,
			      "a buffer holds plain bytes");
		return {static_cast<T *>(data_), size_ / sizeof(T)};
	}

private:
	void reset() noexcept
	{
		if (data_ != nullptr)
			(void)vaccel_buffer_free(data_);
		data_ = nullptr;
		size_ = 0;
	}

	void *data_ = nullptr;
	size_t size_ = 0;
};

struct MinMax {
	double min;
	double max;
};

/** A session: the context every op runs in. */
class Session
{
public:
	/** @p hint: VACCEL_PLUGIN_* bits ordering the plugins (0: load order).
	 */
	explicit Session(uint32_t hint = 0) : sess_(new vaccel_session{})
	{
		int rc = vaccel_session_init(sess_.get(), hint);
		if (rc != VACCEL_OK) {
			sess_.reset();
			check(rc, "vaccel_session_init");
		}
	}
	Session(Session &&) noexcept = default;
	Session &operator=(Session &&o) noexcept
	{
		if (this != &o) {
			reset();
			sess_ = std::move(o.sess_);
		}
		return *this;
	}
	Session(const Session &) = delete;
	Session &operator=(const Session &) = delete;
	~Session() { reset(); }

	[[nodiscard]] vaccel_id_t id() const noexcept
	{
		return sess_ ? sess_->id : 0;
	}
	[[nodiscard]] vaccel_session *get() const noexcept
	{
		return sess_.get();
	}

	void register_resource(Resource &r)
	{
		check(vaccel_resource_register(r.get(), sess_.get()),
		      "vaccel_resource_register");
	}
	void unregister_resource(Resource &r)
	{
		check(vaccel_resource_unregister(r.get(), sess_.get()),
		      "vaccel_resource_unregister");
	}

	void noop() { check(vaccel_noop(sess_.get()), "vaccel_noop"); }

	/** Classify an encoded image (JPEG/PNG bytes); returns the tags. */
	std::string classify(std::span<const std::byte> image,
			     size_t max_text = 512)
	{
		std::string text(max_text, '\0');
		std::string name(max_text, '\0');
		check(vaccel_image_classification(
			  sess_.get(), image.data(),
			  reinterpret_cast<unsigned char *>(text.data()),
			  reinterpret_cast<unsigned char *>(name.data()),
			  image.size(), text.size(), name.size()),
		      "vaccel_image_classification");
		text.resize(std::strlen(text.c_str()));
		return text;
	}

	/**
	 * C = alpha * A(m x k) * B(k x n) + beta * C(m x n), row-major with
	 * leading dimensions lda/ldb/ldc. Spans are checked against the sizes.
	 */
	void sgemm(int64_t m, int64_t n, int64_t k, float alpha,
		   std::span<const float> a, int64_t lda,
		   std::span<const float> b, int64_t ldb, float beta,
		   std::span<float> c, int64_t ldc)
	{
		if (m < 0 || n < 0 || k < 0 || lda < k || ldb < n || ldc < n)
			throw Error(VACCEL_EINVAL,
				    "sgemm: negative size or leading dimension "
				    "too small");
		auto need = [](int64_t rows, int64_t ld, int64_t cols) {
			return rows == 0 ? size_t{0}
					 : static_cast<size_t>((rows - 1) * ld +
							       cols);
		};
		if (a.size() < need(m, lda, k) || b.size() < need(k, ldb, n) ||
		    c.size() < need(m, ldc, n))
			throw Error(VACCEL_EINVAL,
				    "sgemm: a span is too small");
		check(vaccel_sgemm(sess_.get(), m, n, k, alpha,
				   const_cast<float *>(a.data()), lda,
				   const_cast<float *>(b.data()), ldb, beta,
				   c.data(), ldc),
		      "vaccel_sgemm");
	}

	/** Run `int symbol(args...)` from a shared library on the backend. */
	void exec(const std::string &library, const std::string &symbol,
		  std::span<vaccel_arg> read, std::span<vaccel_arg> write)
	{
		check(vaccel_exec(sess_.get(), library.c_str(), symbol.c_str(),
				  read.data(), read.size(), write.data(),
				  write.size()),
		      "vaccel_exec");
	}

	void exec_with_resource(Resource &lib, const std::string &symbol,
				std::span<vaccel_arg> read,
				std::span<vaccel_arg> write)
	{
		check(vaccel_exec_with_resource(
			  sess_.get(), lib.get(), symbol.c_str(), read.data(),
			  read.size(), write.data(), write.size()),
		      "vaccel_exec_with_resource");
	}

	/** Generic op: read[0] is the op type as a uint8 arg. */
	void genop(std::span<vaccel_arg> read, std::span<vaccel_arg> write)
	{
		check(vaccel_genop(sess_.get(), read.data(),
				   static_cast<int>(read.size()), write.data(),
				   static_cast<int>(write.size())),
		      "vaccel_genop");
	}

	MinMax minmax(std::span<const double> in, int low, int high,
		      std::span<double> out)
	{
		if (out.size() < in.size())
			throw Error(VACCEL_EINVAL,
				    "minmax: output span smaller than input");
		MinMax r{};
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		check(vaccel_minmax(sess_.get(), in.data(),
				    static_cast<int>(in.size()), low, high,
				    out.data(), &r.min, &r.max),
		      "vaccel_minmax");
#pragma GCC diagnostic pop
		return r;
	}

	void torch_model_load(Resource &model)
	{
		check(vaccel_torch_model_load(sess_.get(), model.get()),
		      "vaccel_torch_model_load");
	}

private:
	void reset() noexcept
	{
		if (!sess_)
			return;
		// The C API unregisters what is still registered, from the
		// runtime's own list: a Resource destroyed first has already
		// taken itself off it.
		(void)vaccel_session_release(sess_.get());
		sess_.reset();
	}

	std::unique_ptr<vaccel_session> sess_;
};

} // namespace vaccel
