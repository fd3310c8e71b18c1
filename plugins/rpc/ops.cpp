// SPDX-License-Identifier: Apache-2.0
// The rpc plugin's ops. All but the tf/tflite/torch model ops travel as a
// Genop carrying exactly the argument layout vaccel_genop() unpacks
// (src/capi/genop.cpp), so the agent needs a single generic handler and
// runs the very same typed op on its side. The model ops use their own
// messages because their tensors and statuses do not fit the arg model.
#include "plugin.h"

#include "transport/codec.h"

#include "rpc/ext.pb.h"
#include "rpc/genop.pb.h"
#include "rpc/tf.pb.h"
#include "rpc/tflite.pb.h"
#include "rpc/torch.pb.h"

#include <vaccel/ext.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>
#include <new>
#include <optional>
#include <string>
#include <vector>

// The fpga, minmax and torch sgemm ops are deprecated upstream but still
// forwarded.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace vaccel::rpc_plugin
{
namespace
{

// ---- genop ----------------------------------------------------------

// Builds one Genop call and copies the reply's write args back into the
// caller's buffers. Args are kept as views of the caller's memory (valid
// for the call) until run() picks the data path: inline bytes in a Genop
// request (chunked when larger than a frame), or, for large calls to a
// local agent, the shared-memory plane, where the bytes are copied once
// into a mapped region instead of through the socket.
class Genop
{
public:
	Genop(const char *name, vaccel_op_type_t op) : name_(name)
	{
		read_value(static_cast<uint8_t>(op), VACCEL_ARG_UINT8);
	}

	// An input: its bytes travel.
	void read(const void *buf, size_t size, vaccel_arg_type_t type,
		  uint32_t custom_id = 0)
	{
		add(reads_, buf, size, type, custom_id);
	}
	template <class T> void read_value(T v, vaccel_arg_type_t type)
	{
		owned_.emplace_back(reinterpret_cast<const char *>(&v),
				    sizeof(v));
		read(owned_.back().data(), sizeof(v), type);
	}
	void read_string(const char *s, const char *what)
	{
		if (s == nullptr) {
			bad_ = bad_ ? bad_ : what;
			return;
		}
		read(s, std::strlen(s) + 1, VACCEL_ARG_STRING);
	}
	void read_args(const vaccel_arg *args, size_t n)
	{
		for (size_t i = 0; i < n; ++i)
			read(args[i].buf, args[i].size, args[i].type,
			     args[i].custom_type_id);
	}

	// An output of @p size bytes at @p buf. Its current bytes travel too:
	// an op may read its outputs (sgemm's C is scaled by beta) or leave
	// parts of them unwritten (vector add writes len_a of max(len_a,
	// len_b) floats), and the caller must see exactly what a local call
	// would leave there. Upstream's client does the same; the cost is at
	// most the size of the reply.
	void write(void *buf, size_t size, vaccel_arg_type_t type,
		   uint32_t custom_id = 0)
	{
		add(writes_, buf, size, type, custom_id);
	}
	void write_args(vaccel_arg *args, size_t n)
	{
		for (size_t i = 0; i < n; ++i)
			write(args[i].buf, args[i].size, args[i].type,
			      args[i].custom_type_id);
	}

	int run(vaccel_session *sess) { return run(sess, nullptr); }

	// @p res: for EXEC_WITH_RESOURCE, checked against the session.
	int run(vaccel_session *sess, const vaccel_resource *res)
	{
		if (bad_ != nullptr)
			return fail(name_, Status::error(VACCEL_EINVAL,
							 "%s is NULL or too "
							 "large",
							 bad_));
		auto remote = remote_session(sess);
		if (!remote)
			return fail(name_, remote.status());
		if (res != nullptr) {
			auto rres = remote_resource(res, remote->generation);
			if (!rres)
				return fail(name_, rres.status());
		}
		auto &client = plugin().client;
		const uint64_t big = region_bytes();
		if (big > 0 && total_ >= client.config().shm_threshold) {
			auto lease = client.lease_shm(remote->generation, big);
			if (lease)
				return run_shm(*remote, lease.value());
			if (lease.status().code() != VACCEL_ENOTSUP)
				vaccel_debug("[rpc] %s: no shared memory (%s); "
					     "using the socket",
					     name_,
					     lease.status().message().c_str());
		}
		return run_socket(*remote);
	}

private:
	struct View {
		const void *buf;
		size_t size;
		vaccel_arg_type_t type;
		uint32_t custom_id;
	};
	// Args smaller than this stay inline even on the shared-memory
	// path: copying them is cheaper than managing their room.
	static constexpr size_t kInlineMax = 4096;

	void add(std::vector<View> &to, const void *buf, size_t size,
		 vaccel_arg_type_t type, uint32_t custom_id)
	{
		if (size > std::numeric_limits<uint32_t>::max())
			bad_ = bad_ ? bad_ : "an argument";
		to.push_back({buf, size, type, custom_id});
		total_ += size;
	}

	static void fill(rpc::genop::Arg *a, const View &v)
	{
		a->set_size(static_cast<uint32_t>(v.size));
		a->set_arg_type(
		    static_cast<rpc::genop::ArgType>(core::enum_value(v.type)));
		a->set_custom_type_id(v.custom_id);
		if (v.buf != nullptr && v.size > 0)
			a->set_buf(v.buf, v.size);
	}

	static size_t align(size_t n) { return (n + 63) & ~size_t{63}; }

	// Room the region-backed args need (0: none is large enough).
	[[nodiscard]] uint64_t region_bytes() const
	{
		uint64_t n = 0;
		for (const auto *list : {&reads_, &writes_})
			for (const auto &v : *list)
				if (v.size > kInlineMax)
					n += align(v.size);
		return n;
	}

	int copy_back(const rpc::genop::Response &resp)
	{
		if (static_cast<size_t>(resp.write_args_size()) !=
		    writes_.size())
			return fail(name_,
				    Status::error(VACCEL_EREMOTEIO,
						  "the agent returned %d "
						  "write args, expected %zu",
						  resp.write_args_size(),
						  writes_.size()));
		return VACCEL_OK;
	}

	// A genop request encoded by hand as a list of pieces: small
	// headers, and the args' bytes where the caller keeps them, so a
	// large call is sent without being copied into a message first.
	// Field numbers: genop.proto (Request: session_id 1, read_args 2,
	// write_args 3; Arg: buf 1, size 2, arg_type 3, custom_type_id 4).
	int run_gathered(const Remote &remote)
	{
		std::vector<std::string> heads;
		heads.reserve(1 + reads_.size() + writes_.size());
		std::vector<std::span<const uint8_t>> pieces;
		auto span_of = [](const std::string &s) {
			return std::span(
			    reinterpret_cast<const uint8_t *>(s.data()),
			    s.size());
		};
		std::string &sid = heads.emplace_back();
		sid.push_back(0x08);
		transport::put_varint(&sid, static_cast<uint64_t>(remote.id));
		pieces.push_back(span_of(sid));
		auto add = [&](uint32_t field, const View &v) {
			std::string fields;
			fields.push_back(0x10);
			transport::put_varint(&fields, v.size);
			fields.push_back(0x18);
			transport::put_varint(
			    &fields,
			    static_cast<uint64_t>(core::enum_value(v.type)));
			fields.push_back(0x20);
			transport::put_varint(&fields, v.custom_id);
			const size_t n = v.buf != nullptr ? v.size : 0;
			std::string buf_head = transport::field_header(1, n);
			std::string &h =
			    heads.emplace_back(transport::field_header(
				field, fields.size() + buf_head.size() + n));
			h += fields;
			h += buf_head;
			pieces.push_back(span_of(h));
			if (n > 0)
				pieces.push_back(std::span(
				    static_cast<const uint8_t *>(v.buf), n));
		};
		for (const auto &v : reads_)
			add(2, v);
		for (const auto &v : writes_)
			add(3, v);

		bool unsupported = false;
		Status st = plugin().client.call_gather(
		    {.method = "Genop", .generation = remote.generation},
		    pieces,
		    [&](std::span<const uint8_t> payload) {
			    return copy_out(payload);
		    },
		    &unsupported);
		if (unsupported)
			return -1; // no chunked calls: the caller falls back
		return st.code();
	}

	// Copies the write args of a serialized genop.Response (where it
	// lies) back into the caller's buffers.
	Status copy_out(std::span<const uint8_t> payload)
	{
		std::vector<std::span<const uint8_t>> args;
		if (!transport::find_fields(payload, 1, &args))
			return Status(VACCEL_EREMOTEIO,
				      "malformed genop reply");
		if (args.size() != writes_.size())
			return Status::error(VACCEL_EREMOTEIO,
					     "the agent returned %zu write "
					     "args, expected %zu",
					     args.size(), writes_.size());
		for (size_t i = 0; i < args.size(); ++i) {
			std::span<const uint8_t> bytes;
			if (!transport::find_field(args[i], 1, &bytes))
				return Status(VACCEL_EREMOTEIO,
					      "malformed genop reply arg");
			const size_t n =
			    std::min(bytes.size(), writes_[i].size);
			if (n > 0 && writes_[i].buf != nullptr)
				std::memcpy(const_cast<void *>(writes_[i].buf),
					    bytes.data(), n);
		}
		return Status::ok();
	}

	int run_socket(const Remote &remote)
	{
		// Larger than a frame: gathered, without copies, when the
		// agent takes chunked calls.
		if (total_ > plugin().client.config().max_frame / 2) {
			const int rc = run_gathered(remote);
			if (rc != -1)
				return rc;
		}
		rpc::genop::Request req;
		req.set_session_id(remote.id);
		for (const auto &v : reads_)
			fill(req.add_read_args(), v);
		for (const auto &v : writes_)
			fill(req.add_write_args(), v);
		rpc::genop::Response resp;
		Status st = plugin().client.call(
		    {.method = "Genop", .generation = remote.generation}, req,
		    &resp);
		if (!st)
			return st.code();
		if (int rc = copy_back(resp); rc != VACCEL_OK)
			return rc;
		for (size_t i = 0; i < writes_.size(); ++i) {
			const std::string &bytes =
			    resp.write_args(static_cast<int>(i)).buf();
			const size_t n =
			    std::min(bytes.size(), writes_[i].size);
			if (n > 0 && writes_[i].buf != nullptr)
				std::memcpy(const_cast<void *>(writes_[i].buf),
					    bytes.data(), n);
		}
		return VACCEL_OK;
	}

	int run_shm(const Remote &remote, const ShmLease &lease)
	{
		rpc::ext::ShmGenopRequest req;
		req.set_session_id(remote.id);
		std::vector<size_t> where(writes_.size(), SIZE_MAX);
		size_t off = 0;
		auto place = [&](rpc::ext::ShmArg *a, const View &v) -> size_t {
			a->set_arg_type(
			    static_cast<uint32_t>(core::enum_value(v.type)));
			a->set_custom_type_id(v.custom_id);
			a->set_size(v.size);
			if (v.size <= kInlineMax) {
				if (v.buf != nullptr && v.size > 0)
					a->set_buf(v.buf, v.size);
				return SIZE_MAX;
			}
			const size_t at = off;
			if (v.buf != nullptr)
				std::memcpy(lease.data() + at, v.buf, v.size);
			else
				std::memset(lease.data() + at, 0, v.size);
			a->set_region(lease.region());
			a->set_offset(at);
			off += align(v.size);
			return at;
		};
		for (const auto &v : reads_)
			place(req.add_read_args(), v);
		for (size_t i = 0; i < writes_.size(); ++i)
			where[i] = place(req.add_write_args(), writes_[i]);

		rpc::genop::Response resp;
		Status st =
		    plugin().client.call({.method = "GenopShm",
					  .generation = remote.generation,
					  .service = transport::kServiceData},
					 req, &resp);
		if (!st)
			return st.code();
		if (int rc = copy_back(resp); rc != VACCEL_OK)
			return rc;
		for (size_t i = 0; i < writes_.size(); ++i) {
			auto *dst = const_cast<void *>(writes_[i].buf);
			if (dst == nullptr || writes_[i].size == 0)
				continue;
			if (where[i] != SIZE_MAX) {
				std::memcpy(dst, lease.data() + where[i],
					    writes_[i].size);
				continue;
			}
			const std::string &bytes =
			    resp.write_args(static_cast<int>(i)).buf();
			std::memcpy(dst, bytes.data(),
				    std::min(bytes.size(), writes_[i].size));
		}
		return VACCEL_OK;
	}

	const char *name_;
	const char *bad_ = nullptr; // first unusable argument
	std::vector<View> reads_, writes_;
	std::deque<std::string> owned_; // small values read_value() copied
	uint64_t total_ = 0;
};

int rpc_noop(vaccel_session *sess)
{
	return guarded("noop", [&]() -> int {
		return Genop("noop", VACCEL_OP_NOOP).run(sess);
	});
}

int rpc_exec(vaccel_session *sess, const char *library, const char *fn_symbol,
	     vaccel_arg *read, size_t nr_read, vaccel_arg *write,
	     size_t nr_write)
{
	return guarded("exec", [&]() -> int {
		if ((nr_read > 0 && read == nullptr) ||
		    (nr_write > 0 && write == nullptr))
			return fail("exec", Status(VACCEL_EINVAL,
						   "NULL argument array"));
		Genop g("exec", VACCEL_OP_EXEC);
		g.read_string(library, "library");
		g.read_string(fn_symbol, "fn_symbol");
		g.read_args(read, nr_read);
		g.write_args(write, nr_write);
		return g.run(sess);
	});
}

int rpc_exec_with_resource(vaccel_session *sess, vaccel_resource *resource,
			   const char *fn_symbol, vaccel_arg *read,
			   size_t nr_read, vaccel_arg *write, size_t nr_write)
{
	return guarded("exec_with_resource", [&]() -> int {
		const char *op = "exec_with_resource";
		if (resource == nullptr || (nr_read > 0 && read == nullptr) ||
		    (nr_write > 0 && write == nullptr))
			return fail(op, Status(VACCEL_EINVAL,
					       "NULL resource or argument "
					       "array"));
		Genop g(op, VACCEL_OP_EXEC_WITH_RESOURCE);
		// The agent's id: the layout names a resource of the host.
		g.read_value(static_cast<int64_t>(resource->remote_id),
			     VACCEL_ARG_INT64);
		g.read_string(fn_symbol, "fn_symbol");
		g.read_args(read, nr_read);
		g.write_args(write, nr_write);
		return g.run(sess, resource);
	});
}

int image_op(const char *name, vaccel_op_type_t op, vaccel_session *sess,
	     const void *img, size_t len_img, unsigned char *out_imgname,
	     size_t len_imgname, unsigned char *out_text = nullptr,
	     size_t len_text = 0)
{
	return guarded(name, [&]() -> int {
		if (img == nullptr)
			return fail(name,
				    Status(VACCEL_EINVAL, "image is NULL"));
		Genop g(name, op);
		g.read(img, len_img, VACCEL_ARG_BUFFER);
		g.write(out_imgname, len_imgname, VACCEL_ARG_UCHAR_ARRAY);
		if (op == VACCEL_OP_IMAGE_CLASSIFY)
			g.write(out_text, len_text, VACCEL_ARG_UCHAR_ARRAY);
		return g.run(sess);
	});
}

int rpc_image_classify(vaccel_session *sess, const void *img,
		       unsigned char *out_text, unsigned char *out_imgname,
		       size_t len_img, size_t len_out_text,
		       size_t len_out_imgname)
{
	return image_op("image_classify", VACCEL_OP_IMAGE_CLASSIFY, sess, img,
			len_img, out_imgname, len_out_imgname, out_text,
			len_out_text);
}

int rpc_image_detect(vaccel_session *sess, const void *img,
		     unsigned char *out_imgname, size_t len_img,
		     size_t len_out_imgname)
{
	return image_op("image_detect", VACCEL_OP_IMAGE_DETECT, sess, img,
			len_img, out_imgname, len_out_imgname);
}

int rpc_image_segment(vaccel_session *sess, const void *img,
		      unsigned char *out_imgname, size_t len_img,
		      size_t len_out_imgname)
{
	return image_op("image_segment", VACCEL_OP_IMAGE_SEGMENT, sess, img,
			len_img, out_imgname, len_out_imgname);
}

int rpc_image_pose(vaccel_session *sess, const void *img,
		   unsigned char *out_imgname, size_t len_img,
		   size_t len_out_imgname)
{
	return image_op("image_pose", VACCEL_OP_IMAGE_POSE, sess, img, len_img,
			out_imgname, len_out_imgname);
}

int rpc_image_depth(vaccel_session *sess, const void *img,
		    unsigned char *out_imgname, size_t len_img,
		    size_t len_out_imgname)
{
	return image_op("image_depth", VACCEL_OP_IMAGE_DEPTH, sess, img,
			len_img, out_imgname, len_out_imgname);
}

// Floats a row-major rows x cols matrix with leading dimension ld spans.
std::optional<size_t> matrix_floats(int64_t rows, int64_t cols, int64_t ld)
{
	int64_t n = 0;
	if (rows <= 0 || cols <= 0 || ld < cols ||
	    __builtin_mul_overflow(rows - 1, ld, &n) ||
	    __builtin_add_overflow(n, cols, &n))
		return std::nullopt;
	return static_cast<size_t>(n);
}

int rpc_sgemm(vaccel_session *sess, int64_t m, int64_t n, int64_t k,
	      float alpha, float *a, int64_t lda, float *b, int64_t ldb,
	      float beta, float *c, int64_t ldc)
{
	return guarded("sgemm", [&]() -> int {
		auto na = matrix_floats(m, k, lda);
		auto nb = matrix_floats(k, n, ldb);
		auto nc = matrix_floats(m, n, ldc);
		if (!na || !nb || !nc || a == nullptr || b == nullptr ||
		    c == nullptr)
			return fail(
			    "sgemm",
			    Status::error(VACCEL_EINVAL,
					  "m=%lld n=%lld k=%lld lda=%lld "
					  "ldb=%lld ldc=%lld or a matrix "
					  "pointer is invalid",
					  static_cast<long long>(m),
					  static_cast<long long>(n),
					  static_cast<long long>(k),
					  static_cast<long long>(lda),
					  static_cast<long long>(ldb),
					  static_cast<long long>(ldc)));
		Genop g("sgemm", VACCEL_OP_BLAS_SGEMM);
		g.read_value(m, VACCEL_ARG_INT64);
		g.read_value(n, VACCEL_ARG_INT64);
		g.read_value(k, VACCEL_ARG_INT64);
		g.read_value(alpha, VACCEL_ARG_FLOAT32);
		g.read(a, *na * sizeof(float), VACCEL_ARG_FLOAT32_ARRAY);
		g.read_value(lda, VACCEL_ARG_INT64);
		g.read(b, *nb * sizeof(float), VACCEL_ARG_FLOAT32_ARRAY);
		g.read_value(ldb, VACCEL_ARG_INT64);
		g.read_value(beta, VACCEL_ARG_FLOAT32);
		g.read_value(ldc, VACCEL_ARG_INT64);
		g.write(c, *nc * sizeof(float), VACCEL_ARG_FLOAT32_ARRAY);
		return g.run(sess);
	});
}

int rpc_minmax(vaccel_session *sess, const double *indata, int ndata,
	       int low_threshold, int high_threshold, double *outdata,
	       double *min, double *max)
{
	return guarded("minmax", [&]() -> int {
		if (indata == nullptr || outdata == nullptr || min == nullptr ||
		    max == nullptr || ndata <= 0)
			return fail("minmax",
				    Status::error(VACCEL_EINVAL,
						  "NULL buffer or ndata=%d",
						  ndata));
		const size_t bytes =
		    static_cast<size_t>(ndata) * sizeof(double);
		Genop g("minmax", VACCEL_OP_MINMAX);
		g.read(indata, bytes, VACCEL_ARG_FLOAT64_ARRAY);
		g.read_value(static_cast<int32_t>(ndata), VACCEL_ARG_INT32);
		g.read_value(static_cast<int32_t>(low_threshold),
			     VACCEL_ARG_INT32);
		g.read_value(static_cast<int32_t>(high_threshold),
			     VACCEL_ARG_INT32);
		g.write(outdata, bytes, VACCEL_ARG_FLOAT64_ARRAY);
		g.write(min, sizeof(double), VACCEL_ARG_FLOAT64);
		g.write(max, sizeof(double), VACCEL_ARG_FLOAT64);
		return g.run(sess);
	});
}

int rpc_fpga_arraycopy(vaccel_session *sess, int a[], int out_a[], size_t len_a)
{
	return guarded("fpga_arraycopy", [&]() -> int {
		Genop g("fpga_arraycopy", VACCEL_OP_FPGA_ARRAYCOPY);
		g.read(a, len_a * sizeof(int), VACCEL_ARG_INT32_ARRAY);
		g.write(out_a, len_a * sizeof(int), VACCEL_ARG_INT32_ARRAY);
		return g.run(sess);
	});
}

int rpc_fpga_mmult(vaccel_session *sess, float a[], float b[], float c[],
		   size_t len_a)
{
	return guarded("fpga_mmult", [&]() -> int {
		const size_t bytes = len_a * sizeof(float);
		Genop g("fpga_mmult", VACCEL_OP_FPGA_MMULT);
		g.read(a, bytes, VACCEL_ARG_FLOAT32_ARRAY);
		g.read(b, bytes, VACCEL_ARG_FLOAT32_ARRAY);
		g.write(c, bytes, VACCEL_ARG_FLOAT32_ARRAY);
		return g.run(sess);
	});
}

int rpc_fpga_parallel(vaccel_session *sess, float a[], float b[],
		      float add_output[], float mult_output[], size_t len_a)
{
	return guarded("fpga_parallel", [&]() -> int {
		const size_t bytes = len_a * sizeof(float);
		Genop g("fpga_parallel", VACCEL_OP_FPGA_PARALLEL);
		g.read(a, bytes, VACCEL_ARG_FLOAT32_ARRAY);
		g.read(b, bytes, VACCEL_ARG_FLOAT32_ARRAY);
		g.write(add_output, bytes, VACCEL_ARG_FLOAT32_ARRAY);
		g.write(mult_output, bytes, VACCEL_ARG_FLOAT32_ARRAY);
		return g.run(sess);
	});
}

int rpc_fpga_vadd(vaccel_session *sess, float a[], float b[], float c[],
		  size_t len_a, size_t len_b)
{
	return guarded("fpga_vectoradd", [&]() -> int {
		Genop g("fpga_vectoradd", VACCEL_OP_FPGA_VECTORADD);
		g.read(a, len_a * sizeof(float), VACCEL_ARG_FLOAT32_ARRAY);
		g.read(b, len_b * sizeof(float), VACCEL_ARG_FLOAT32_ARRAY);
		g.write(c, std::max(len_a, len_b) * sizeof(float),
			VACCEL_ARG_FLOAT32_ARRAY);
		return g.run(sess);
	});
}

int rpc_opencv(vaccel_session *sess, vaccel_arg *read, int nr_read,
	       vaccel_arg *write, int nr_write)
{
	return guarded("opencv", [&]() -> int {
		if (nr_read < 0 || nr_write < 0 ||
		    (nr_read > 0 && read == nullptr) ||
		    (nr_write > 0 && write == nullptr))
			return fail("opencv", Status(VACCEL_EINVAL,
						     "bad argument arrays"));
		Genop g("opencv", VACCEL_OP_OPENCV);
		g.read_args(read, static_cast<size_t>(nr_read));
		g.write_args(write, static_cast<size_t>(nr_write));
		return g.run(sess);
	});
}

// No message carries it and vaccel_genop() has no layout for it.
int rpc_torch_sgemm(vaccel_session *, vaccel_torch_tensor **,
		    vaccel_torch_tensor **, vaccel_torch_tensor **, int, int,
		    int, vaccel_torch_tensor **)
{
	vaccel_error("[rpc] torch_sgemm: not supported over rpc (no wire "
		     "message for it)");
	return VACCEL_ENOTSUP;
}

// ---- model ops ------------------------------------------------------

// The session and model of a model op, both on one agent connection.
struct Target {
	Remote sess;
	Remote model;
};

Result<Target> model_target(const vaccel_session *sess,
			    const vaccel_resource *model)
{
	auto s = remote_session(sess);
	if (!s)
		return s.status();
	auto m = remote_resource(model, s->generation);
	if (!m)
		return m.status();
	return Target{*s, *m};
}

template <class Req> void address(Req &req, const Target &t)
{
	req.set_session_id(t.sess.id);
	req.set_model_id(t.model.id);
}

void set_tf_status(vaccel_tf_status *out, const rpc::Status &st)
{
	if (out == nullptr)
		return;
	vaccel_tf_status_init(out, static_cast<uint8_t>(st.code()),
			      st.message().c_str());
}

// Load and unload share everything but the message names.
template <class Req, class Resp>
int tf_load_unload(const char *name, const char *method, vaccel_session *sess,
		   vaccel_resource *model, vaccel_tf_status *status)
{
	return guarded(name, [&]() -> int {
		auto t = model_target(sess, model);
		if (!t)
			return fail(name, t.status());
		Req req;
		address(req, *t);
		Resp resp;
		std::optional<rpc::Status> detail;
		Status st = plugin().client.call(
		    {.method = method, .generation = t->sess.generation}, req,
		    &resp, nullptr, &detail);
		if (!st) {
			if (detail)
				set_tf_status(status, *detail);
			return st.code();
		}
		if (resp.has_status())
			set_tf_status(status, resp.status());
		return VACCEL_OK;
	});
}

int rpc_tf_model_load(vaccel_session *sess, vaccel_resource *model,
		      vaccel_tf_status *status)
{
	return tf_load_unload<rpc::tf::ModelLoadRequest,
			      rpc::tf::ModelLoadResponse>(
	    "tf_model_load", "TensorflowModelLoad", sess, model, status);
}

int rpc_tf_model_unload(vaccel_session *sess, vaccel_resource *model,
			vaccel_tf_status *status)
{
	return tf_load_unload<rpc::tf::ModelUnloadRequest,
			      rpc::tf::ModelUnloadResponse>(
	    "tf_model_unload", "TensorflowModelUnload", sess, model, status);
}

// Fills a proto tensor from a vAccel tensor of any framework.
// @p with_data false: everything but the bytes (they travel elsewhere).
template <class Proto, class Tensor, class TypeEnum>
Status to_proto(const char *name, int i, const Tensor *t, Proto *out,
		bool with_data = true)
{
	if (t == nullptr)
		return Status::error(VACCEL_EINVAL, "input tensor %d is NULL",
				     i);
	if (t->size > 0 && t->data == nullptr)
		return Status::error(VACCEL_EINVAL,
				     "input tensor %d has no data", i);
	if (t->nr_dims > 0 && t->dims == nullptr)
		return Status::error(VACCEL_EINVAL,
				     "input tensor %d has no dims", i);
	if (t->size > 0 && with_data)
		out->set_data(t->data, t->size);
	for (decltype(t->nr_dims) d = 0; d < t->nr_dims; ++d)
		out->add_dims(t->dims[d]);
	out->set_type(static_cast<TypeEnum>(core::enum_value(t->data_type)));
	return Status::ok();
}

// Makes the caller's @p nr_out output tensors from the @p available ones of
// the reply: @p get(i, &dims, &type, &data) reads reply tensor i. @p Alloc
// is the framework's vaccel_*_tensor_allocate, @p Delete its delete.
template <class Tensor, class Dim, class Get, class Alloc, class Delete>
Status make_outputs(size_t available, Get get, Tensor **out, int nr_out,
		    Alloc alloc, Delete del)
{
	for (int i = 0; i < nr_out; ++i)
		out[i] = nullptr;
	if (available < static_cast<size_t>(nr_out))
		return Status::error(VACCEL_EREMOTEIO,
				     "the agent returned %zu output tensors, "
				     "expected %d",
				     available, nr_out);
	std::vector<Dim> dims;
	for (int i = 0; i < nr_out; ++i) {
		int type = 0;
		std::span<const uint8_t> data;
		get(i, &dims, &type, &data);
		if (dims.empty())
			continue; // the backend produced nothing here
		int rc = alloc(&out[i], static_cast<int>(dims.size()),
			       dims.data(), type, data.size());
		if (rc == VACCEL_OK && !data.empty())
			std::memcpy(out[i]->data, data.data(), data.size());
		if (rc != VACCEL_OK) {
			for (int j = 0; j < i; ++j) {
				if (out[j] != nullptr)
					del(out[j]);
				out[j] = nullptr;
			}
			return Status::error(rc,
					     "cannot allocate output tensor "
					     "%d",
					     i);
		}
	}
	return Status::ok();
}

// make_outputs() from the reply's proto tensors.
template <class Tensor, class Dim, class Proto, class Alloc, class Delete>
Status from_proto(const google::protobuf::RepeatedPtrField<Proto> &in,
		  Tensor **out, int nr_out, Alloc alloc, Delete del)
{
	auto get = [&in](int i, std::vector<Dim> *dims, int *type,
			 std::span<const uint8_t> *data) {
		const Proto &p = in.Get(i);
		dims->assign(p.dims().begin(), p.dims().end());
		*type = p.type();
		*data = {reinterpret_cast<const uint8_t *>(p.data().data()),
			 p.data().size()};
	};
	return make_outputs<Tensor, Dim>(static_cast<size_t>(in.size()), get,
					 out, nr_out, alloc, del);
}

int rpc_tf_model_run(vaccel_session *sess, vaccel_resource *model,
		     const vaccel_tf_buffer *run_options,
		     const vaccel_tf_node *in_nodes,
		     vaccel_tf_tensor *const *in_tensors, int nr_inputs,
		     const vaccel_tf_node *out_nodes,
		     vaccel_tf_tensor **out_tensors, int nr_outputs,
		     vaccel_tf_status *status)
{
	const char *name = "tf_model_run";
	return guarded(name, [&]() -> int {
		if (nr_inputs < 0 || nr_outputs < 0 ||
		    (nr_inputs > 0 &&
		     (in_nodes == nullptr || in_tensors == nullptr)) ||
		    (nr_outputs > 0 &&
		     (out_nodes == nullptr || out_tensors == nullptr)))
			return fail(name, Status(VACCEL_EINVAL,
						 "bad node or tensor arrays"));
		auto t = model_target(sess, model);
		if (!t)
			return fail(name, t.status());
		rpc::tf::ModelRunRequest req;
		address(req, *t);
		if (run_options != nullptr)
			req.set_run_options(run_options->data,
					    run_options->size);
		for (int i = 0; i < nr_inputs; ++i) {
			auto *n = req.add_in_nodes();
			n->set_name(in_nodes[i].name != nullptr
					? in_nodes[i].name
					: "");
			n->set_id(in_nodes[i].id);
			Status st = to_proto<rpc::tf::Tensor, vaccel_tf_tensor,
					     rpc::tf::DataType>(
			    name, i, in_tensors[i], req.add_in_tensors());
			if (!st)
				return fail(name, st);
		}
		for (int i = 0; i < nr_outputs; ++i) {
			auto *n = req.add_out_nodes();
			n->set_name(out_nodes[i].name != nullptr
					? out_nodes[i].name
					: "");
			n->set_id(out_nodes[i].id);
		}
		rpc::tf::ModelRunResponse resp;
		std::optional<rpc::Status> detail;
		Status st =
		    plugin().client.call({.method = "TensorflowModelRun",
					  .generation = t->sess.generation},
					 req, &resp, nullptr, &detail);
		if (!st) {
			if (detail)
				set_tf_status(status, *detail);
			return st.code();
		}
		auto alloc = [](vaccel_tf_tensor **o, int nd,
				const int64_t *dims, int type, size_t size) {
			return vaccel_tf_tensor_allocate(
			    o, nd, dims, static_cast<vaccel_tf_data_type>(type),
			    size);
		};
		st = from_proto<vaccel_tf_tensor, int64_t>(
		    resp.out_tensors(), out_tensors, nr_outputs, alloc,
		    vaccel_tf_tensor_delete);
		if (!st)
			return fail(name, st);
		if (resp.has_status())
			set_tf_status(status, resp.status());
		return VACCEL_OK;
	});
}

template <class Req>
int model_call(const char *name, const char *method, vaccel_session *sess,
	       vaccel_resource *model)
{
	return guarded(name, [&]() -> int {
		auto t = model_target(sess, model);
		if (!t)
			return fail(name, t.status());
		Req req;
		address(req, *t);
		return plugin()
		    .client
		    .call({.method = method, .generation = t->sess.generation},
			  req, nullptr)
		    .code();
	});
}

int rpc_tflite_model_load(vaccel_session *sess, vaccel_resource *model)
{
	return model_call<rpc::tflite::ModelLoadRequest>(
	    "tflite_model_load", "TensorflowLiteModelLoad", sess, model);
}

int rpc_tflite_model_unload(vaccel_session *sess, vaccel_resource *model)
{
	return model_call<rpc::tflite::ModelUnloadRequest>(
	    "tflite_model_unload", "TensorflowLiteModelUnload", sess, model);
}

int rpc_torch_model_load(vaccel_session *sess, vaccel_resource *model)
{
	return model_call<rpc::torch::ModelLoadRequest>(
	    "torch_model_load", "TorchModelLoad", sess, model);
}

// The tensors of tflite and torch runs travel alike. Data types go as
// vAccel's numbers, as the agent reads them.
template <class Req, class Resp, class ProtoTensor, class ProtoType,
	  class Tensor, class Dim, class Alloc, class Delete>
int tensor_run(const char *name, const char *method, vaccel_session *sess,
	       vaccel_resource *model, Tensor *const *in, int nr_in,
	       Tensor **out, int nr_out, Alloc alloc, Delete del, Req &req,
	       Resp &resp)
{
	if (nr_in < 0 || nr_out < 0 || (nr_in > 0 && in == nullptr) ||
	    (nr_out > 0 && out == nullptr))
		return fail(name, Status(VACCEL_EINVAL, "bad tensor arrays"));
	auto t = model_target(sess, model);
	if (!t)
		return fail(name, t.status());
	address(req, *t);
	for (int i = 0; i < nr_in; ++i) {
		Status st = to_proto<ProtoTensor, Tensor, ProtoType>(
		    name, i, in[i], req.add_in_tensors());
		if (!st)
			return fail(name, st);
	}
	req.set_nr_out_tensors(static_cast<uint64_t>(nr_out));
	Status st = plugin().client.call(
	    {.method = method, .generation = t->sess.generation}, req, &resp);
	if (!st)
		return st.code();
	st = from_proto<Tensor, Dim>(resp.out_tensors(), out, nr_out, alloc,
				     del);
	if (!st)
		return fail(name, st);
	return VACCEL_OK;
}

int rpc_tflite_model_run(vaccel_session *sess, vaccel_resource *model,
			 vaccel_tflite_tensor *const *inputs, int nr_inputs,
			 vaccel_tflite_tensor **outputs, int nr_outputs,
			 uint8_t *status)
{
	const char *name = "tflite_model_run";
	return guarded(name, [&]() -> int {
		auto alloc = [](vaccel_tflite_tensor **o, int nd,
				const int32_t *dims, int type, size_t size) {
			return vaccel_tflite_tensor_allocate(
			    o, nd, dims,
			    static_cast<vaccel_tflite_data_type>(type), size);
		};
		rpc::tflite::ModelRunRequest req;
		rpc::tflite::ModelRunResponse resp;
		int rc = tensor_run<rpc::tflite::ModelRunRequest,
				    rpc::tflite::ModelRunResponse,
				    rpc::tflite::Tensor, rpc::tflite::DataType,
				    vaccel_tflite_tensor, int32_t>(
		    name, "TensorflowLiteModelRun", sess, model, inputs,
		    nr_inputs, outputs, nr_outputs, alloc,
		    vaccel_tflite_tensor_delete, req, resp);
		if (rc == VACCEL_OK && status != nullptr)
			*status = static_cast<uint8_t>(resp.status().code());
		return rc;
	});
}

int torch_alloc(vaccel_torch_tensor **o, int nd, const int64_t *dims, int type,
		size_t size)
{
	return vaccel_torch_tensor_allocate(
	    o, nd, dims, static_cast<vaccel_torch_data_type>(type), size);
}

// ---- torch runs: the hot path of model serving, so their messages are
// written and read by hand (transport/codec.h), byte for byte as the
// generated classes would.

namespace codec = transport::codec;

// Appends the ModelRunRequest of a run to @p out. @p shm_inputs, when given,
// marks the inputs whose bytes travel in shared memory (left out here).
Status encode_torch_run(const Target &t, const vaccel_torch_buffer *opts,
			vaccel_torch_tensor *const *in, int nr_in, int nr_out,
			const std::vector<char> *shm_inputs, std::string *out)
{
	for (int i = 0; i < nr_in; ++i) {
		const vaccel_torch_tensor *x = in[i];
		if (x == nullptr)
			return Status::error(VACCEL_EINVAL,
					     "input tensor %d is NULL", i);
		if (x->size > 0 && x->data == nullptr)
			return Status::error(VACCEL_EINVAL,
					     "input tensor %d has no data", i);
		if (x->nr_dims < 0 || (x->nr_dims > 0 && x->dims == nullptr))
			return Status::error(VACCEL_EINVAL,
					     "input tensor %d has no dims", i);
	}
	transport::wire::Writer w(out);
	w.varint_nonzero(codec::kTorchRunSession,
			 static_cast<uint64_t>(t.sess.id));
	w.varint_nonzero(codec::kTorchRunModel,
			 static_cast<uint64_t>(t.model.id));
	if (opts != nullptr)
		w.bytes(
		    codec::kTorchRunOptions,
		    std::string_view(opts->data != nullptr ? opts->data : "",
				     opts->data != nullptr ? opts->size : 0));
	for (int i = 0; i < nr_in; ++i) {
		const vaccel_torch_tensor *x = in[i];
		const bool elsewhere =
		    shm_inputs != nullptr &&
		    (*shm_inputs)[static_cast<size_t>(i)] != 0;
		std::span<const uint8_t> data;
		if (!elsewhere && x->size > 0)
			data = {static_cast<const uint8_t *>(x->data), x->size};
		codec::put_torch_tensor(
		    w, codec::kTorchRunInputs, data,
		    {x->dims, static_cast<size_t>(x->nr_dims)},
		    core::enum_value(x->data_type));
	}
	w.varint_nonzero(codec::kTorchRunNrOut, static_cast<uint64_t>(nr_out));
	return Status::ok();
}

// The output tensors of a ModelRunResponse.
Status decode_torch_outputs(std::span<const uint8_t> payload,
			    vaccel_torch_tensor **out, int nr_out)
{
	for (int i = 0; i < nr_out; ++i)
		out[i] = nullptr;
	codec::Tensors ts;
	if (!codec::parse_torch_run_response(payload, &ts))
		return Status(VACCEL_EREMOTEIO, "malformed response payload");
	auto get = [&ts](int i, std::vector<int64_t> *dims, int *type,
			 std::span<const uint8_t> *data) {
		const auto &t = ts.tensors[static_cast<size_t>(i)];
		const auto d = ts.dims_of(t);
		dims->assign(d.begin(), d.end());
		*type = t.type;
		*data = t.data;
	};
	return make_outputs<vaccel_torch_tensor, int64_t>(
	    ts.tensors.size(), get, out, nr_out, torch_alloc,
	    vaccel_torch_tensor_delete);
}

// Sends a torch run's @p payload (@p method's message) and makes the
// output tensors from the reply.
int torch_call(const char *name, std::string_view method,
	       std::string_view service, const Target &t,
	       std::span<const uint8_t> payload, vaccel_torch_tensor **out,
	       int nr_out)
{
	Status outputs = Status::ok();
	auto on_reply = [&](std::span<const uint8_t> reply) {
		outputs = decode_torch_outputs(reply, out, nr_out);
		return Status::ok(); // failing here is logged below, once
	};
	Status st = plugin().client.call_bytes({.method = method,
						.generation = t.sess.generation,
						.service = service},
					       payload, on_reply);
	if (!st)
		return st.code();
	return outputs ? VACCEL_OK : fail(name, outputs);
}

// A torch run whose large input tensors go through shared memory instead of
// the socket: the agent runs the model on the shared bytes. An input whose
// data vAccel allocated in its shared tensor memory
// (vaccel_torch_tensor_allocate(); core/host_arena.h) is named where it
// lies, without a copy; any other is copied into a leased region. Returns
// false, having done nothing, when shared memory is not to be used: inputs
// below the threshold, or an agent or connection without it.
bool torch_run_shm(vaccel_session *sess, vaccel_resource *model,
		   const vaccel_torch_buffer *run_options,
		   vaccel_torch_tensor *const *in, int nr_in,
		   vaccel_torch_tensor **out, int nr_out, int *rc)
{
	constexpr const char *name = "torch_model_run";
	// Small tensors stay inline; big ones take 64-byte aligned slots.
	constexpr size_t kInlineMax = 4096;
	const auto slot = [](size_t n) { return (n + 63) & ~size_t{63}; };
	size_t region = 0;
	uint64_t total = 0;
	bool any_big = false;
	// Where each big input already lies in shared memory (block 0: it
	// does not).
	std::vector<vaccel_shared_memory_place> placed(
	    static_cast<size_t>(nr_in));
	for (int i = 0; i < nr_in; ++i) {
		if (in[i] == nullptr)
			return false; // the socket path reports it
		total += in[i]->size;
		if (in[i]->size <= kInlineMax)
			continue;
		any_big = true;
		auto &p = placed[static_cast<size_t>(i)];
		p.struct_size = sizeof(p);
		if (vaccel_shared_memory_find(in[i]->data, in[i]->size, &p) !=
		    VACCEL_OK)
			p.block = 0;
		if (p.block == 0)
			region += slot(in[i]->size);
	}
	auto &client = plugin().client;
	if (!any_big || total < client.config().shm_threshold)
		return false;
	auto t = model_target(sess, model);
	if (!t)
		return false;
	// No shared memory after all: the socket serves (logged unless the
	// plane is simply off or not offered).
	const auto use_socket = [name](const Status &why) {
		if (why.code() != VACCEL_ENOTSUP)
			vaccel_debug("[rpc] %s: no shared memory (%s); using "
				     "the socket",
				     name, why.message().c_str());
		return false;
	};
	// The shared blocks first: if one cannot be named on this
	// connection, neither can a leased region, so the socket serves.
	std::vector<uint32_t> ids(static_cast<size_t>(nr_in), 0);
	for (int i = 0; i < nr_in; ++i) {
		const auto &p = placed[static_cast<size_t>(i)];
		if (p.block == 0)
			continue;
		auto id = client.arena_region(t->sess.generation, p.block, p.fd,
					      p.block_size);
		if (!id)
			return use_socket(id.status());
		ids[static_cast<size_t>(i)] = *id;
	}
	std::optional<ShmLease> lease;
	if (region > 0) {
		auto l = client.lease_shm(t->sess.generation, region);
		if (!l)
			return use_socket(l.status());
		lease = std::move(l).value();
	}

	// The ShmTorchRunRequest: the run (its big inputs' bytes left out),
	// then one place per input.
	std::vector<char> shm_inputs(static_cast<size_t>(nr_in));
	for (int i = 0; i < nr_in; ++i)
		shm_inputs[static_cast<size_t>(i)] = in[i]->size > kInlineMax;
	std::string run;
	if (Status st = encode_torch_run(*t, run_options, in, nr_in, nr_out,
					 &shm_inputs, &run);
	    !st) {
		*rc = fail(name, st);
		return true;
	}
	std::string msg;
	msg.reserve(run.size() + 16 + 32 * static_cast<size_t>(nr_in));
	transport::wire::Writer w(&msg);
	w.bytes(codec::kShmTorchRun, run);
	size_t off = 0;
	for (int i = 0; i < nr_in; ++i) {
		codec::ShmPlace d;
		if (shm_inputs[static_cast<size_t>(i)] != 0) {
			const auto &p = placed[static_cast<size_t>(i)];
			d.size = in[i]->size;
			if (p.block != 0) {
				d.region = ids[static_cast<size_t>(i)];
				d.offset = p.offset;
			} else {
				std::memcpy(lease->data() + off, in[i]->data,
					    in[i]->size);
				d.region = lease->region();
				d.offset = off;
				off += slot(in[i]->size);
			}
		}
		const size_t len =
		    (d.region != 0 ? 1 + transport::wire::varint_size(d.region)
				   : 0) +
		    (d.offset != 0 ? 1 + transport::wire::varint_size(d.offset)
				   : 0) +
		    (d.size != 0 ? 1 + transport::wire::varint_size(d.size)
				 : 0);
		w.len_header(codec::kShmTorchData, len);
		w.varint_nonzero(codec::kShmArgRegion, d.region);
		w.varint_nonzero(codec::kShmArgOffset, d.offset);
		w.varint_nonzero(codec::kShmArgSize, d.size);
	}
	*rc = torch_call(
	    name, "TorchModelRunShm", transport::kServiceData, *t,
	    {reinterpret_cast<const uint8_t *>(msg.data()), msg.size()}, out,
	    nr_out);
	return true;
}

int rpc_torch_model_run(vaccel_session *sess, vaccel_resource *model,
			const vaccel_torch_buffer *run_options,
			vaccel_torch_tensor *const *inputs, int nr_inputs,
			vaccel_torch_tensor **outputs, int nr_outputs)
{
	const char *name = "torch_model_run";
	return guarded(name, [&]() -> int {
		if (nr_inputs > 0 && inputs != nullptr && nr_outputs >= 0 &&
		    (nr_outputs == 0 || outputs != nullptr)) {
			int rc = VACCEL_OK;
			if (torch_run_shm(sess, model, run_options, inputs,
					  nr_inputs, outputs, nr_outputs, &rc))
				return rc;
		}
		if (nr_inputs < 0 || nr_outputs < 0 ||
		    (nr_inputs > 0 && inputs == nullptr) ||
		    (nr_outputs > 0 && outputs == nullptr))
			return fail(name,
				    Status(VACCEL_EINVAL, "bad tensor arrays"));
		auto t = model_target(sess, model);
		if (!t)
			return fail(name, t.status());
		std::string msg;
		if (Status st =
			encode_torch_run(*t, run_options, inputs, nr_inputs,
					 nr_outputs, nullptr, &msg);
		    !st)
			return fail(name, st);
		return torch_call(
		    name, "TorchModelRun", transport::kServiceSync, *t,
		    {reinterpret_cast<const uint8_t *>(msg.data()), msg.size()},
		    outputs, nr_outputs);
	});
}

} // namespace

int register_ops()
{
	// One entry per op type, in enum order (VACCEL_OP_NOOP..OPENCV).
	static vaccel_op ops[] = {
	    VACCEL_OP_INIT(ops[0], VACCEL_OP_NOOP, rpc_noop),
	    VACCEL_OP_INIT(ops[1], VACCEL_OP_EXEC, rpc_exec),
	    VACCEL_OP_INIT(ops[2], VACCEL_OP_EXEC_WITH_RESOURCE,
			   rpc_exec_with_resource),
	    VACCEL_OP_INIT(ops[3], VACCEL_OP_IMAGE_CLASSIFY,
			   rpc_image_classify),
	    VACCEL_OP_INIT(ops[4], VACCEL_OP_IMAGE_DETECT, rpc_image_detect),
	    VACCEL_OP_INIT(ops[5], VACCEL_OP_IMAGE_SEGMENT, rpc_image_segment),
	    VACCEL_OP_INIT(ops[6], VACCEL_OP_IMAGE_POSE, rpc_image_pose),
	    VACCEL_OP_INIT(ops[7], VACCEL_OP_IMAGE_DEPTH, rpc_image_depth),
	    VACCEL_OP_INIT(ops[8], VACCEL_OP_TF_MODEL_LOAD, rpc_tf_model_load),
	    VACCEL_OP_INIT(ops[9], VACCEL_OP_TF_MODEL_UNLOAD,
			   rpc_tf_model_unload),
	    VACCEL_OP_INIT(ops[10], VACCEL_OP_TF_MODEL_RUN, rpc_tf_model_run),
	    VACCEL_OP_INIT(ops[11], VACCEL_OP_TFLITE_MODEL_LOAD,
			   rpc_tflite_model_load),
	    VACCEL_OP_INIT(ops[12], VACCEL_OP_TFLITE_MODEL_UNLOAD,
			   rpc_tflite_model_unload),
	    VACCEL_OP_INIT(ops[13], VACCEL_OP_TFLITE_MODEL_RUN,
			   rpc_tflite_model_run),
	    VACCEL_OP_INIT(ops[14], VACCEL_OP_TORCH_MODEL_LOAD,
			   rpc_torch_model_load),
	    VACCEL_OP_INIT(ops[15], VACCEL_OP_TORCH_MODEL_RUN,
			   rpc_torch_model_run),
	    VACCEL_OP_INIT(ops[16], VACCEL_OP_TORCH_SGEMM, rpc_torch_sgemm),
	    VACCEL_OP_INIT(ops[17], VACCEL_OP_BLAS_SGEMM, rpc_sgemm),
	    VACCEL_OP_INIT(ops[18], VACCEL_OP_FPGA_ARRAYCOPY,
			   rpc_fpga_arraycopy),
	    VACCEL_OP_INIT(ops[19], VACCEL_OP_FPGA_MMULT, rpc_fpga_mmult),
	    VACCEL_OP_INIT(ops[20], VACCEL_OP_FPGA_PARALLEL, rpc_fpga_parallel),
	    VACCEL_OP_INIT(ops[21], VACCEL_OP_FPGA_VECTORADD, rpc_fpga_vadd),
	    VACCEL_OP_INIT(ops[22], VACCEL_OP_MINMAX, rpc_minmax),
	    VACCEL_OP_INIT(ops[23], VACCEL_OP_OPENCV, rpc_opencv),
	};
	static_assert(std::size(ops) == VACCEL_OP_MAX,
		      "the rpc plugin forwards every op type");
	return vaccel_plugin_register_ops(ops, std::size(ops));
}

} // namespace vaccel::rpc_plugin
