// SPDX-License-Identifier: Apache-2.0
// Generic-op argument unpacking, three ways in:
//  - vaccel_genop() (src/capi/genop.cpp) directly, on a noop-plugin session,
//    with arg arrays built from the input: types, sizes and bytes, each
//    buffer its own heap block of exactly its size, so that any read or
//    write past an arg is an ASan report;
//  - the agent's Genop handler (agent/handlers/genop.cpp), through Service;
//  - its GenopShm handler (agent/handlers/data.cpp), with args placed in a
//    region mapped from a sealed memfd (MapRegion with the descriptor in
//    CallInfo.fds, as the server passes it), whose bytes the input fills.
// The first input byte picks the way and the policy.
#include "fuzz_agent.h"

#include "rpc/common.pb.h"
#include "rpc/ext.pb.h"
#include "rpc/genop.pb.h"
#include "rpc/resource.pb.h"
#include "rpc/session.pb.h"

#include <vaccel/op.h>

#include <sys/mman.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace
{

namespace rpc = vaccel::rpc;
using fuzz::agent::CallInfo;
using fuzz::agent::RegionTable;
using fuzz::agent::Service;

constexpr size_t kRegion = 1 << 16;
constexpr uint32_t kRegionId = 5;

// Sizes the unpackers compare against: element sizes and small counts.
size_t arg_size(FuzzedDataProvider &in)
{
	static constexpr size_t kSizes[] = {0, 1, 2, 4, 8, 12, 16, 24, 32, 64};
	const auto b = in.ConsumeIntegral<uint8_t>();
	if (b < 200)
		return kSizes[b % std::size(kSizes)];
	return in.ConsumeIntegralInRange<size_t>(0, 4096);
}

uint8_t op_byte(FuzzedDataProvider &in)
{
	return in.ConsumeIntegral<uint8_t>() % (VACCEL_OP_MAX + 2);
}

// vaccel_genop() itself.
struct OwnedArgs {
	std::vector<std::unique_ptr<uint8_t[]>> bufs;
	std::vector<vaccel_arg> args;

	void add(FuzzedDataProvider &in, uint8_t type, size_t size, bool fill)
	{
		vaccel_arg a{};
		a.type = static_cast<vaccel_arg_type_t>(type);
		a.size = size;
		a.custom_type_id = in.ConsumeIntegralInRange<uint32_t>(0, 3);
		if (size > 0) {
			bufs.emplace_back(new uint8_t[size]);
			std::memset(bufs.back().get(), 0, size);
			if (fill) {
				auto b = in.ConsumeBytes<uint8_t>(size);
				if (!b.empty())
					std::memcpy(bufs.back().get(), b.data(),
						    b.size());
			}
			a.buf = bufs.back().get();
		}
		args.push_back(a);
	}
};

void direct(FuzzedDataProvider &in, vaccel_session *sess)
{
	OwnedArgs read, write;
	const int nr = in.ConsumeIntegralInRange<int>(0, 10);
	const int nw = in.ConsumeIntegralInRange<int>(0, 8);
	for (int i = 0; i < nr; ++i) {
		if (i == 0 && in.ConsumeIntegralInRange<int>(0, 7) != 0) {
			read.add(in, VACCEL_ARG_UINT8, 1, false);
			*read.bufs.back().get() = op_byte(in);
			continue;
		}
		const auto type = static_cast<uint8_t>(
		    in.ConsumeIntegralInRange<int>(0, VACCEL_ARG_MAX + 1));
		read.add(in, type, arg_size(in), true);
	}
	for (int i = 0; i < nw; ++i) {
		const auto type = static_cast<uint8_t>(
		    in.ConsumeIntegralInRange<int>(0, VACCEL_ARG_MAX + 1));
		write.add(in, type, arg_size(in), in.ConsumeBool());
	}
	(void)vaccel_genop(sess, read.args.empty() ? nullptr : read.args.data(),
			   nr, write.args.empty() ? nullptr : write.args.data(),
			   nw);
}

// The agent's Genop handler.
void via_genop(FuzzedDataProvider &in, Service &svc, int64_t sess)
{
	rpc::genop::Request r;
	r.set_session_id(in.ConsumeIntegralInRange<int>(0, 31) == 0
			     ? in.ConsumeIntegral<int64_t>()
			     : sess);
	const int nr = in.ConsumeIntegralInRange<int>(0, 10);
	const int nw = in.ConsumeIntegralInRange<int>(0, 8);
	for (int i = 0; i < nr; ++i) {
		auto *a = r.add_read_args();
		if (i == 0 && in.ConsumeIntegralInRange<int>(0, 7) != 0) {
			const uint8_t op = op_byte(in);
			a->set_arg_type(rpc::genop::UINT8);
			a->set_buf(std::string(1, static_cast<char>(op)));
			a->set_size(1);
			continue;
		}
		a->set_arg_type(static_cast<rpc::genop::ArgType>(
		    in.ConsumeIntegralInRange<int>(0, 30)));
		std::string b = in.ConsumeBytesAsString(arg_size(in));
		a->set_size(static_cast<uint32_t>(b.size()));
		a->set_buf(std::move(b));
	}
	for (int i = 0; i < nw; ++i) {
		auto *a = r.add_write_args();
		a->set_arg_type(static_cast<rpc::genop::ArgType>(
		    in.ConsumeIntegralInRange<int>(0, 30)));
		const size_t n = arg_size(in);
		if (in.ConsumeBool())
			a->set_size(static_cast<uint32_t>(n));
		else
			a->set_buf(std::string(n, '\0'));
	}
	const std::string body = r.SerializeAsString();
	CallInfo info;
	(void)svc.handle(
	    1, vaccel::transport::kServiceSync, "Genop",
	    {reinterpret_cast<const uint8_t *>(body.data()), body.size()},
	    info);
}

// The agent's GenopShm handler: args in region kRegionId (or inline).
void via_shm(FuzzedDataProvider &in, Service &svc, RegionTable &regions,
	     int64_t sess)
{
	// The region's bytes: what the input has left for them, placed.
	std::shared_ptr<fuzz::agent::ShmRegion> region;
	if (regions.find(kRegionId, &region).is_ok()) {
		const auto at = in.ConsumeIntegralInRange<size_t>(0, 256);
		auto b = in.ConsumeBytes<uint8_t>(
		    in.ConsumeIntegralInRange<size_t>(0, 512));
		if (!b.empty())
			std::memcpy(region->data() + at, b.data(), b.size());
	}
	rpc::ext::ShmGenopRequest r;
	r.set_session_id(sess);
	const int nr = in.ConsumeIntegralInRange<int>(0, 10);
	const int nw = in.ConsumeIntegralInRange<int>(0, 8);
	auto place = [&](rpc::ext::ShmArg *a) {
		a->set_arg_type(in.ConsumeIntegralInRange<uint32_t>(0, 31));
		const auto where = in.ConsumeIntegralInRange<int>(0, 15);
		if (where == 0) { // inline
			a->set_buf(in.ConsumeBytesAsString(arg_size(in)));
			a->set_size(a->buf().size());
			return;
		}
		a->set_region(where == 1 ? in.ConsumeIntegral<uint32_t>()
					 : kRegionId);
		if (where == 2) { // anywhere, mostly outside
			a->set_offset(in.ConsumeIntegral<uint64_t>());
			a->set_size(in.ConsumeIntegral<uint64_t>());
			return;
		}
		const size_t size = arg_size(in);
		a->set_size(size);
		a->set_offset(
		    where == 3   ? kRegion - size + 1
		    : where == 4 ? kRegion - size
				 : in.ConsumeIntegralInRange<uint64_t>(0, 256));
	};
	for (int i = 0; i < nr; ++i) {
		auto *a = r.add_read_args();
		if (i == 0 && in.ConsumeIntegralInRange<int>(0, 7) != 0) {
			a->set_arg_type(VACCEL_ARG_UINT8);
			a->set_buf(
			    std::string(1, static_cast<char>(op_byte(in))));
			a->set_size(1);
			continue;
		}
		place(a);
	}
	for (int i = 0; i < nw; ++i)
		place(r.add_write_args());
	const std::string body = r.SerializeAsString();
	CallInfo info;
	info.regions = &regions;
	(void)svc.handle(
	    1, vaccel::transport::kServiceData, "GenopShm",
	    {reinterpret_cast<const uint8_t *>(body.data()), body.size()},
	    info);
}

template <class Req, class Resp>
bool call(Service &svc, std::string_view service, std::string_view method,
	  const Req &req, Resp *out, CallInfo info = {})
{
	const std::string body = req.SerializeAsString();
	auto resp = svc.handle(
	    1, service, method,
	    {reinterpret_cast<const uint8_t *>(body.data()), body.size()},
	    info);
	return resp.status().code() == 0 &&
	       (out == nullptr || out->ParseFromString(resp.payload()));
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
	fuzz::bootstrap_noop();
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzedDataProvider in(data, size);
	const auto way = in.ConsumeIntegralInRange<int>(0, 2);
	if (way == 0) {
		vaccel_session sess{};
		if (vaccel_session_init(&sess, 0) != VACCEL_OK)
			fuzz::fail("vaccel_session_init");
		while (in.remaining_bytes() > 0)
			direct(in, &sess);
		if (vaccel_session_release(&sess) != VACCEL_OK)
			fuzz::fail("vaccel_session_release");
		if (vaccel_session_count() != 0)
			fuzz::fail("session left");
		return 0;
	}

	Service svc({}, fuzz::pick_policy(in));
	{
		RegionTable regions(&svc.regions_mapped());
		svc.open_connection(1);
		rpc::session::CreateResponse created;
		if (!call(svc, vaccel::transport::kServiceSync, "CreateSession",
			  rpc::session::CreateRequest{}, &created))
			fuzz::fail("CreateSession");
		if (way == 2) {
			rpc::ext::MapRegion m;
			m.set_region(kRegionId);
			m.set_size(kRegion);
			std::vector<vaccel::transport::UniqueFd> fds;
			fds.push_back(fuzz::memfd(kRegion, true));
			CallInfo info;
			info.regions = &regions;
			info.local = true;
			info.fds = &fds;
			rpc::Empty ignored;
			if (!call(svc, vaccel::transport::kServiceData,
				  "MapRegion", m, &ignored, info))
				fuzz::fail("MapRegion of a sealed memfd");
		}
		for (int n = 0; n < 16 && in.remaining_bytes() > 0; ++n) {
			if (way == 1)
				via_genop(in, svc, created.session_id());
			else
				via_shm(in, svc, regions, created.session_id());
		}
		svc.close_connection(1);
	}
	fuzz::check_released(svc);
	return 0;
}
