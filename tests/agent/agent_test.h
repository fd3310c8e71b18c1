// SPDX-License-Identifier: Apache-2.0
// Shared by the agent tests: the runtime restarted with only the noop
// plugin, and typed calls into a Service.
#pragma once

#include "service.h"

#include "rpc/common.pb.h"
#include "rpc/ext.pb.h"
#include "rpc/genop.pb.h"
#include "rpc/image.pb.h"
#include "rpc/resource.pb.h"
#include "rpc/session.pb.h"
#include "rpc/tf.pb.h"
#include "rpc/tflite.pb.h"
#include "rpc/torch.pb.h"
#include "rpc/ttrpc.pb.h"

#include <gtest/gtest.h>
#include <vaccel.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

namespace agent_test
{

namespace rpc = vaccel::rpc;
using vaccel::agent::ConnId;
using vaccel::agent::Service;
using vaccel::transport::RpcCode;

// The handler tests exercise every op, exec included: a policy that allows
// it (the default refuses it; tests/security checks that).
inline vaccel::agent::Policy permissive_policy()
{
	vaccel::agent::Policy p;
	p.defaults.ops.set();
	p.defaults.exec = {{"*", "*"}};
	p.origin = "tests: permissive";
	return p;
}

inline void restart_runtime(const char *plugins = TEST_NOOP_PLUGIN,
			    bool profiling = false)
{
	ASSERT_EQ(vaccel_cleanup(), VACCEL_OK);
	struct vaccel_config cfg {
	};
	ASSERT_EQ(vaccel_config_init(&cfg, plugins, VACCEL_LOG_ERROR, nullptr,
				     profiling, false),
		  VACCEL_OK);
	int rc = vaccel_bootstrap_with_config(&cfg);
	vaccel_config_release(&cfg);
	ASSERT_EQ(rc, VACCEL_OK);
	// @p plugins: one path, or several separated by ':'.
	ASSERT_EQ(vaccel_plugin_count(),
		  1U +
		      std::count(plugins, plugins + std::strlen(plugins), ':'));
}

inline std::string read_file(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	return {std::istreambuf_iterator<char>(in), {}};
}

inline rpc::ttrpc::Request
envelope(std::string_view method, const std::string &payload,
	 std::string_view service = vaccel::transport::kServiceSync)
{
	rpc::ttrpc::Request req;
	req.set_service(std::string(service));
	req.set_method(std::string(method));
	req.set_payload(payload);
	return req;
}

// One typed call: returns the status code and parses the reply into @p out.
template <class Req, class Resp>
RpcCode call(Service &svc, ConnId conn, std::string_view method, const Req &req,
	     Resp *out,
	     std::string_view service = vaccel::transport::kServiceSync)
{
	auto resp = svc.handle(
	    conn, envelope(method, req.SerializeAsString(), service));
	const auto code = static_cast<RpcCode>(resp.status().code());
	if (code == RpcCode::Ok && out != nullptr) {
		EXPECT_TRUE(out->ParseFromString(resp.payload()));
	}
	return code;
}

template <class Req>
RpcCode call(Service &svc, ConnId conn, std::string_view method, const Req &req)
{
	rpc::Empty ignored;
	return call(svc, conn, method, req, &ignored);
}

// RegisterResource of a new resource made of (name, data) blobs; its id in
// *@p id.
inline RpcCode
register_blobs(Service &svc, vaccel::agent::ConnId conn, int64_t sess,
	       const std::vector<std::pair<std::string, std::string>> &blobs,
	       int64_t *id, rpc::resource::ResourceType type)
{
	rpc::resource::RegisterRequest req;
	req.set_session_id(sess);
	req.set_resource_type(type);
	for (const auto &[name, data] : blobs) {
		auto *b = req.add_blobs();
		b->set_name(name);
		b->set_data(data);
		b->set_size(static_cast<uint32_t>(data.size()));
	}
	rpc::resource::RegisterResponse resp;
	RpcCode code = call(svc, conn, "RegisterResource", req, &resp);
	*id = resp.resource_id();
	return code;
}

// The runtime's resource behind a connection's (wire) id; the table keeps
// it alive as long as a session holds it.
inline vaccel_resource *runtime_resource(vaccel::agent::Service &svc,
					 int64_t id,
					 vaccel::agent::ConnId conn = 1)
{
	std::shared_ptr<vaccel::agent::AgentResource> res;
	EXPECT_TRUE(svc.objects().resource(conn, id, &res).is_ok());
	return res ? res->get() : nullptr;
}

class ServiceTest : public ::testing::Test
{
protected:
	static constexpr ConnId kConn = 1;
	static constexpr ConnId kOther = 2;

	void SetUp() override
	{
		ASSERT_NO_FATAL_FAILURE(restart_runtime());
		svc_.open_connection(kConn);
		svc_.open_connection(kOther);
	}

	void TearDown() override
	{
		svc_.clear();
		EXPECT_EQ(vaccel_session_count(), 0U);
		EXPECT_EQ(vaccel_resource_count(), 0U);
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	}

	int64_t create_session(ConnId conn = kConn)
	{
		rpc::session::CreateRequest req;
		rpc::session::CreateResponse resp;
		EXPECT_EQ(call(svc_, conn, "CreateSession", req, &resp),
			  RpcCode::Ok);
		EXPECT_GT(resp.session_id(), 0);
		return resp.session_id();
	}

	// Registers a new resource made of (name, data) blobs.
	RpcCode register_blobs(
	    ConnId conn, int64_t sess,
	    std::initializer_list<std::pair<std::string, std::string>> blobs,
	    int64_t *id, rpc::resource::ResourceType type = rpc::resource::LIB)
	{
		return agent_test::register_blobs(
		    svc_, conn, sess,
		    std::vector<std::pair<std::string, std::string>>(blobs), id,
		    type);
	}

	Service svc_{vaccel::agent::Limits{}, permissive_policy()};
};

// Genop arg builders.
inline void add_arg(rpc::genop::Request *req, rpc::genop::ArgType type,
		    const void *data, size_t size)
{
	auto *a = req->add_read_args();
	a->set_arg_type(type);
	a->set_buf(std::string(static_cast<const char *>(data), size));
	a->set_size(static_cast<uint32_t>(size));
}

inline void add_op(rpc::genop::Request *req, vaccel_op_type_t op)
{
	const auto v = static_cast<uint8_t>(op);
	add_arg(req, rpc::genop::UINT8, &v, 1);
}

inline void add_string(rpc::genop::Request *req, const char *s)
{
	add_arg(req, rpc::genop::STRING, s, std::strlen(s) + 1);
}

inline void add_write(rpc::genop::Request *req, rpc::genop::ArgType type,
		      uint32_t size)
{
	auto *a = req->add_write_args();
	a->set_arg_type(type);
	a->set_size(size);
}

} // namespace agent_test
