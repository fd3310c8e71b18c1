// SPDX-License-Identifier: Apache-2.0
// The rpc plugin's ops that travel as a Genop carrying exactly the argument
// layout vaccel_genop() unpacks (src/capi/genop.cpp), so the agent needs a
// single generic handler and runs the very same typed op on its side.
#include "ops.h"
#include "plugin.h"

#include "transport/codec.h"

#include "rpc/ext.pb.h"
#include "rpc/genop.pb.h"
#include "rpc/image.pb.h"
#include "rpc/tf.pb.h"
#include "rpc/tflite.pb.h"
#include "rpc/torch.pb.h"

#include <vaccel/ext.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstring>
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

namespace codec = transport::codec;

// ---- genop ----------------------------------------------------------

// Builds one Genop call and copies the reply's write args back into the
// caller's buffers. Args are kept as views of the caller's memory (valid
// for the call) until run() picks the data path: inline bytes in a Genop
// request (chunked when larger than a frame), or, to a local agent, the
// shared-memory plane. There an arg that lies in vAccel's shared memory
// (vaccel_buffer_alloc(), tensors vAccel allocated) is named where it is,
// and the agent reads or writes it in place; the other large ones are
// copied once into a leased region instead of through the socket (calls
// of at least VACCEL_RPC_SHM_THRESHOLD bytes, or any call that has an arg
// in place).
class Genop
{
public:
	Genop(const char *name, vaccel_op_type_t op) : name_(name)
	{
		reads_.reserve(kUsualArgs);
		read_value(static_cast<uint8_t>(op), VACCEL_ARG_UINT8);
	}
	// Views point into owned_: the object stays where it was made.
	Genop(const Genop &) = delete;
	Genop &operator=(const Genop &) = delete;

	// An input: its bytes travel.
	void read(const void *buf, size_t size, vaccel_arg_type_t type,
		  uint32_t custom_id = 0)
	{
		add(reads_, buf, size, type, custom_id);
	}
	template <class T> void read_value(T v, vaccel_arg_type_t type)
	{
		static_assert(sizeof(T) <= sizeof(Value));
		if (n_owned_ == owned_.size()) {
			bad_ = bad_ ? bad_ : "too many scalar arguments";
			return;
		}
		Value &slot = owned_[n_owned_++];
		std::memcpy(slot.data(), &v, sizeof(v));
		read(slot.data(), sizeof(v), type);
		reads_.back().ours = true;
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

	// Whether the last run failed because the agent has no Genop method
	// (and so ran nothing): the op may take its dedicated method instead.
	[[nodiscard]] bool method_missing() const noexcept { return missing_; }
	// The generation of the connection the last run went to.
	[[nodiscard]] uint64_t generation() const noexcept
	{
		return generation_;
	}

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
		generation_ = remote->generation;
		if (res != nullptr) {
			auto rres = remote_resource(res, remote->generation);
			if (!rres)
				return fail(name_, rres.status());
		}
		auto &client = plugin().client;
		const bool in_place = name_in_place(remote->generation);
		const uint64_t staged = region_bytes();
		if (!in_place &&
		    (staged == 0 || total_ < client.config().shm_threshold))
			return run_socket(*remote);
		if (staged == 0)
			return run_shm(*remote, nullptr);
		plugin().copies.heads_up(largest_staged());
		auto lease = client.lease_shm(remote->generation, staged);
		if (lease)
			return run_shm(*remote, &lease.value());
		if (lease.status().code() != VACCEL_ENOTSUP)
			vaccel_debug("[rpc] %s: no shared memory (%s); using "
				     "the socket",
				     name_, lease.status().message().c_str());
		return run_socket(*remote);
	}

private:
	struct View {
		const void *buf;
		size_t size;
		vaccel_arg_type_t type;
		uint32_t custom_id;
		// Non-zero: the bytes lie at offset in this region of the
		// connection, where the agent uses them in place.
		uint32_t region = 0;
		uint64_t offset = 0;
		// A copy of a value made here (read_value()): never in
		// shared memory, so never looked up there.
		bool ours = false;
	};
	// Room reserved for read args at once: the op and a few more (most
	// ops), in one allocation.
	static constexpr size_t kUsualArgs = 8;
	// A message buffer larger than this is not kept for the thread's
	// next call (a call up to half a frame goes through it).
	static constexpr size_t kKeptMessage = 64 * 1024;
	// Args smaller than this stay inline even on the shared-memory
	// path: copying them is cheaper than managing their room.
	static constexpr size_t kInlineMax = 4096;

	void add(std::vector<View> &to, const void *buf, size_t size,
		 vaccel_arg_type_t type, uint32_t custom_id)
	{
		if (size > std::numeric_limits<uint32_t>::max())
			bad_ = bad_ ? bad_ : "an argument";
		to.push_back({buf, size, type, custom_id, 0, 0, false});
		total_ += size;
	}

	static size_t align(size_t n) { return (n + 63) & ~size_t{63}; }

	// The code of a failed call, noting whether the method was missing.
	int failed(const Status &st)
	{
		missing_ = st.cause() == transport::Cause::Unimplemented;
		return st.code();
	}

	// Room the args copied into a leased region need (0: none is large
	// enough, or all large ones are in place).
	[[nodiscard]] uint64_t region_bytes() const
	{
		uint64_t n = 0;
		for (const auto *list : {&reads_, &writes_})
			for (const auto &v : *list)
				if (v.region == 0 && v.size > kInlineMax)
					n += align(v.size);
		return n;
	}

	// The largest arg copied into the region (or back out of it).
	[[nodiscard]] size_t largest_staged() const
	{
		size_t n = 0;
		for (const auto *list : {&reads_, &writes_})
			for (const auto &v : *list)
				if (v.region == 0 && v.size > kInlineMax)
					n = std::max(n, v.size);
		return n;
	}

	// Names every arg that lies inside one allocation of vAccel's
	// shared memory by its region on the connection of @p generation
	// (the block is mapped on the agent at first use). Whether any is.
	// An arg whose block cannot be named stays an ordinary one.
	bool name_in_place(uint64_t generation)
	{
		bool any = false;
		for (auto *list : {&reads_, &writes_})
			for (auto &v : *list) {
				if (v.ours || v.buf == nullptr || v.size == 0)
					continue;
				vaccel_shared_memory_place p{};
				p.struct_size = sizeof(p);
				if (vaccel_shared_memory_find(v.buf, v.size,
							      &p) != VACCEL_OK)
					continue;
				auto id = plugin().client.arena_region(
				    generation, p.block, p.fd, p.block_size);
				if (!id) {
					if (id.status().code() ==
					    VACCEL_ENOTSUP)
						return false; // no plane here
					vaccel_debug(
					    "[rpc] %s: an arg is "
					    "copied: %s",
					    name_,
					    id.status().message().c_str());
					continue;
				}
				v.region = *id;
				v.offset = p.offset;
				any = true;
			}
		return any;
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

	// A genop request encoded by hand (transport/codec.h) as a list of
	// pieces: small headers, and the args' bytes where the caller keeps
	// them, so a large call is sent without being copied into a message
	// first.
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
		transport::wire::Writer(&sid).varint_nonzero(
		    codec::kGenopSession, static_cast<uint64_t>(remote.id));
		pieces.push_back(span_of(sid));
		auto add = [&](uint32_t field, const View &v) {
			const codec::GenopArg a = arg_of(v);
			std::string &h = heads.emplace_back();
			transport::wire::Writer w(&h);
			codec::put_genop_arg_head(w, field, a);
			pieces.push_back(span_of(h));
			if (!a.buf.empty())
				pieces.push_back(a.buf);
		};
		for (const auto &v : reads_)
			add(codec::kGenopReadArgs, v);
		for (const auto &v : writes_)
			add(codec::kGenopWriteArgs, v);

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
		return failed(st);
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
		// Every arg is read before any is copied: a malformed reply
		// leaves the caller's buffers as they were.
		for (auto &arg : args) {
			std::span<const uint8_t> bytes;
			if (!transport::find_field(arg, 1, &bytes))
				return Status(VACCEL_EREMOTEIO,
					      "malformed genop reply arg");
			arg = bytes;
		}
		for (size_t i = 0; i < args.size(); ++i) {
			const size_t n =
			    std::min(args[i].size(), writes_[i].size);
			if (n > 0 && writes_[i].buf != nullptr)
				plugin().copies.copy(
				    const_cast<void *>(writes_[i].buf),
				    args[i].data(), n);
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
		// Written by hand (transport/codec.h) into a buffer the thread
		// keeps, and the reply read where it lies: no message objects,
		// and no allocation for the request.
		thread_local std::string msg;
		msg.clear();
		transport::wire::Writer w(&msg);
		w.varint_nonzero(codec::kGenopSession,
				 static_cast<uint64_t>(remote.id));
		for (const auto &v : reads_)
			codec::put_genop_arg(w, codec::kGenopReadArgs,
					     arg_of(v));
		for (const auto &v : writes_)
			codec::put_genop_arg(w, codec::kGenopWriteArgs,
					     arg_of(v));
		const Status st = plugin().client.call_bytes(
		    {.method = "Genop", .generation = remote.generation},
		    std::span(reinterpret_cast<const uint8_t *>(msg.data()),
			      msg.size()),
		    [&](std::span<const uint8_t> payload) {
			    return copy_out(payload);
		    });
		if (msg.capacity() > kKeptMessage)
			std::string().swap(msg);
		return failed(st);
	}

	static codec::GenopArg arg_of(const View &v)
	{
		const size_t n = v.buf != nullptr ? v.size : 0;
		return {{static_cast<const uint8_t *>(v.buf), n},
			static_cast<uint32_t>(v.size),
			static_cast<int32_t>(core::enum_value(v.type)),
			v.custom_id};
	}

	// @p lease: the region for the large args not in place; null when
	// there is none.
	int run_shm(const Remote &remote, const ShmLease *lease)
	{
		// Where each write arg comes back: at an offset of the lease,
		// in the reply, or already in the caller's buffer.
		constexpr size_t kInline = SIZE_MAX;
		constexpr size_t kInPlace = SIZE_MAX - 1;
		rpc::ext::ShmGenopRequest req;
		req.set_session_id(remote.id);
		std::vector<size_t> where(writes_.size(), kInline);
		size_t off = 0;
		auto place = [&](rpc::ext::ShmArg *a, const View &v) -> size_t {
			a->set_arg_type(
			    static_cast<uint32_t>(core::enum_value(v.type)));
			a->set_custom_type_id(v.custom_id);
			a->set_size(v.size);
			if (v.region != 0) {
				a->set_region(v.region);
				a->set_offset(v.offset);
				return kInPlace;
			}
			// region_bytes() made room for every larger one.
			if (v.size <= kInlineMax || lease == nullptr) {
				if (v.buf != nullptr && v.size > 0)
					a->set_buf(v.buf, v.size);
				return kInline;
			}
			const size_t at = off;
			if (v.buf != nullptr)
				plugin().copies.copy(lease->data() + at, v.buf,
						     v.size);
			else
				std::memset(lease->data() + at, 0, v.size);
			a->set_region(lease->region());
			a->set_offset(lease->offset() + at);
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
			return failed(st);
		if (int rc = copy_back(resp); rc != VACCEL_OK)
			return rc;
		for (size_t i = 0; i < writes_.size(); ++i) {
			auto *dst = const_cast<void *>(writes_[i].buf);
			if (dst == nullptr || writes_[i].size == 0 ||
			    where[i] == kInPlace)
				continue;
			if (where[i] != kInline) {
				plugin().copies.copy(dst,
						     lease->data() + where[i],
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
	// Scalars read_value() copied: the op type and at most sgemm's eight
	// (kept in place, not allocated, as each call makes a Genop).
	using Value = std::array<unsigned char, 8>;
	std::array<Value, 12> owned_{};
	size_t n_owned_ = 0;
	uint64_t total_ = 0;
	bool missing_ = false;
	uint64_t generation_ = 0;
};

} // namespace

int rpc_noop(vaccel_session *sess)
{
	return session_op(
	    "noop", sess, replay_of(VACCEL_OP_NOOP),
	    [&]() -> int { return Genop("noop", VACCEL_OP_NOOP).run(sess); });
}

int rpc_exec(vaccel_session *sess, const char *library, const char *fn_symbol,
	     vaccel_arg *read, size_t nr_read, vaccel_arg *write,
	     size_t nr_write)
{
	return session_op(
	    "exec", sess, replay_of(VACCEL_OP_EXEC), [&]() -> int {
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
	return session_op(
	    "exec_with_resource", sess, replay_of(VACCEL_OP_EXEC_WITH_RESOURCE),
	    [&]() -> int {
		    const char *op = "exec_with_resource";
		    if (resource == nullptr ||
			(nr_read > 0 && read == nullptr) ||
			(nr_write > 0 && write == nullptr))
			    return fail(op, Status(VACCEL_EINVAL,
						   "NULL resource or argument "
						   "array"));
		    auto remote = remote_session(sess);
		    if (!remote)
			    return fail(op, remote.status());
		    auto rres = remote_resource(resource, remote->generation);
		    if (!rres)
			    return fail(op, rres.status());
		    Genop g(op, VACCEL_OP_EXEC_WITH_RESOURCE);
		    // The agent's id: the layout names a resource of the host.
		    g.read_value(rres->id, VACCEL_ARG_INT64);
		    g.read_string(fn_symbol, "fn_symbol");
		    g.read_args(read, nr_read);
		    g.write_args(write, nr_write);
		    return g.run(sess, resource);
	    });
}

namespace
{

// Detection, segmentation, pose, depth: an image in, an image name out.
// They have no method of their own upstream (Genop only).
int image_op(const char *name, vaccel_op_type_t op, vaccel_session *sess,
	     const void *img, size_t len_img, unsigned char *out_imgname,
	     size_t len_imgname)
{
	return session_op(name, sess, replay_of(op), [&]() -> int {
		if (img == nullptr)
			return fail(name,
				    Status(VACCEL_EINVAL, "image is NULL"));
		Genop g(name, op);
		g.read(img, len_img, VACCEL_ARG_BUFFER);
		g.write(out_imgname, len_imgname, VACCEL_ARG_UCHAR_ARRAY);
		return g.run(sess);
	});
}

// The connection generation whose agent answered that it has no Genop (0:
// none yet). Classification goes straight to ImageClassification there; a
// new connection (another agent, perhaps) is asked again.
std::atomic<uint64_t> g_no_genop_generation{0};

// Classification through upstream's dedicated ImageClassification method,
// for an agent without Genop. It returns the tags only: the caller's
// out_imgname is left as it was, as upstream's own client leaves it.
int classify_dedicated(vaccel_session *sess, const void *img, size_t len_img,
		       unsigned char *out_text, size_t len_out_text)
{
	const char *name = "image_classify";
	auto remote = remote_session(sess);
	if (!remote)
		return fail(name, remote.status());
	rpc::image::Request req;
	req.set_session_id(remote->id);
	req.set_image(img, len_img);
	rpc::image::Response resp;
	Status st = plugin().client.call(
	    {.method = "ImageClassification", .generation = remote->generation},
	    req, &resp);
	if (!st)
		return st.code();
	// Truncated and terminated like a local backend's text.
	if (out_text != nullptr && len_out_text > 0) {
		const size_t n = std::min(resp.tags().size(), len_out_text - 1);
		std::memcpy(out_text, resp.tags().data(), n);
		out_text[n] = '\0';
	}
	return VACCEL_OK;
}

} // namespace

int rpc_image_classify(vaccel_session *sess, const void *img,
		       unsigned char *out_text, unsigned char *out_imgname,
		       size_t len_img, size_t len_out_text,
		       size_t len_out_imgname)
{
	const char *name = "image_classify";
	return session_op(
	    name, sess, replay_of(VACCEL_OP_IMAGE_CLASSIFY), [&]() -> int {
		    if (img == nullptr)
			    return fail(name,
					Status(VACCEL_EINVAL, "image is NULL"));
		    if (auto remote = remote_session(sess);
			remote &&
			remote->generation == g_no_genop_generation.load(
						  std::memory_order_relaxed))
			    return classify_dedicated(sess, img, len_img,
						      out_text, len_out_text);
		    Genop g(name, VACCEL_OP_IMAGE_CLASSIFY);
		    g.read(img, len_img, VACCEL_ARG_BUFFER);
		    g.write(out_imgname, len_out_imgname,
			    VACCEL_ARG_UCHAR_ARRAY);
		    g.write(out_text, len_out_text, VACCEL_ARG_UCHAR_ARRAY);
		    const int rc = g.run(sess);
		    if (rc == VACCEL_OK || !g.method_missing())
			    return rc;
		    vaccel_info(
			"[rpc] the agent has no Genop; classifying with "
			"ImageClassification on this connection");
		    g_no_genop_generation.store(g.generation(),
						std::memory_order_relaxed);
		    return classify_dedicated(sess, img, len_img, out_text,
					      len_out_text);
	    });
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

namespace
{

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

} // namespace

int rpc_sgemm(vaccel_session *sess, int64_t m, int64_t n, int64_t k,
	      float alpha, float *a, int64_t lda, float *b, int64_t ldb,
	      float beta, float *c, int64_t ldc)
{
	return session_op(
	    "sgemm", sess, replay_of(VACCEL_OP_BLAS_SGEMM), [&]() -> int {
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
	return session_op(
	    "minmax", sess, replay_of(VACCEL_OP_MINMAX), [&]() -> int {
		    if (indata == nullptr || outdata == nullptr ||
			min == nullptr || max == nullptr || ndata <= 0)
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
	return session_op(
	    "fpga_arraycopy", sess, replay_of(VACCEL_OP_FPGA_ARRAYCOPY),
	    [&]() -> int {
		    Genop g("fpga_arraycopy", VACCEL_OP_FPGA_ARRAYCOPY);
		    g.read(a, len_a * sizeof(int), VACCEL_ARG_INT32_ARRAY);
		    g.write(out_a, len_a * sizeof(int), VACCEL_ARG_INT32_ARRAY);
		    return g.run(sess);
	    });
}

int rpc_fpga_mmult(vaccel_session *sess, float a[], float b[], float c[],
		   size_t len_a)
{
	return session_op("fpga_mmult", sess, replay_of(VACCEL_OP_FPGA_MMULT),
			  [&]() -> int {
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
	return session_op(
	    "fpga_parallel", sess, replay_of(VACCEL_OP_FPGA_PARALLEL),
	    [&]() -> int {
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
	return session_op(
	    "fpga_vectoradd", sess, replay_of(VACCEL_OP_FPGA_VECTORADD),
	    [&]() -> int {
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
	return session_op(
	    "opencv", sess, replay_of(VACCEL_OP_OPENCV), [&]() -> int {
		    if (nr_read < 0 || nr_write < 0 ||
			(nr_read > 0 && read == nullptr) ||
			(nr_write > 0 && write == nullptr))
			    return fail(
				"opencv",
				Status(VACCEL_EINVAL, "bad argument arrays"));
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

} // namespace vaccel::rpc_plugin
