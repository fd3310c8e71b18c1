// SPDX-License-Identifier: Apache-2.0
// Errors travel: an op that fails in a real agent's plugin reaches the
// client with that plugin's reason. vaccel_last_error() then names the op
// and plugin on both sides, the file and the cause:
//   "<op>: plugin rpc: agent <address>: <op>: plugin <name>: <reason>".
// An upstream-style client (a raw ttrpc connection) still reads the vAccel
// code where upstream's agent puts it, the message beside it.
#include "rpc_test.h"

#include <vaccel.hpp>

#include "rpc/genop.pb.h"
#include "rpc/session.pb.h"

#include <cstring>
#include <memory>
#include <string>

namespace rpc_test
{
namespace
{

std::string last_error()
{
	return vaccel_last_error();
}

bool starts_with(const std::string &s, const std::string &prefix)
{
	return s.rfind(prefix, 0) == 0;
}

bool has(const std::string &s, const std::string &part)
{
	return s.find(part) != std::string::npos;
}

// A real agent with @p plugins and a remote session on it.
class RemoteErrors : public ::testing::Test
{
protected:
	void start(const std::string &plugins)
	{
		agent_ = std::make_unique<Agent>(dir_.path(), "errors");
		ASSERT_TRUE(agent_->start(plugins)) << agent_->log();
		ASSERT_NO_FATAL_FAILURE(
		    restart_runtime(TEST_RPC_PLUGIN, agent_->address()));
		ASSERT_EQ(vaccel_session_init(&sess_, VACCEL_PLUGIN_REMOTE),
			  VACCEL_OK);
	}
	void TearDown() override
	{
		if (sess_.id > 0) {
			EXPECT_EQ(vaccel_session_release(&sess_), VACCEL_OK);
		}
		EXPECT_EQ(vaccel_cleanup(), VACCEL_OK);
	}
	// What every remote failure's message starts with.
	[[nodiscard]] std::string client_prefix(const char *op) const
	{
		return std::string(op) + ": plugin rpc: agent " +
		       agent_->address() + ": ";
	}

	TempDir dir_;
	std::unique_ptr<Agent> agent_;
	vaccel_session sess_{};
};

class RemoteExecErrors : public RemoteErrors
{
protected:
	void SetUp() override
	{
		if (std::string(TEST_MYTESTLIB).empty())
			GTEST_SKIP() << "libmytestlib.so is not built";
		ASSERT_NO_FATAL_FAILURE(start(TEST_EXEC_PLUGIN));
	}

	// exec of @p sym in @p lib on one int32 (1); its result in out_.
	int exec(const char *lib, const char *sym)
	{
		int32_t in = 1;
		vaccel_arg r{&in, 4, VACCEL_ARG_INT32, 0, false};
		vaccel_arg w{&out_, 4, VACCEL_ARG_INT32, 0, false};
		return vaccel_exec(&sess_, lib, sym, &r, 1, &w, 1);
	}

	int32_t out_ = 0;
};

TEST_F(RemoteExecErrors, MissingSymbolNamesOpPluginFileAndCause)
{
	ASSERT_EQ(exec(TEST_MYTESTLIB, "no_such_fn"), VACCEL_ENOSYS);
	const std::string e = last_error();
	EXPECT_TRUE(starts_with(e, client_prefix("exec"))) << e;
	// The agent's exec plugin's own words, after its op and name.
	EXPECT_TRUE(
	    has(e, ": exec: plugin exec: " + std::string(TEST_MYTESTLIB) +
		       ": symbol no_such_fn not found"))
	    << e;
}

TEST_F(RemoteExecErrors, MissingLibraryNamesTheFile)
{
	ASSERT_EQ(exec("/nonexistent/libnothing.so", "f"), VACCEL_EINVAL);
	const std::string e = last_error();
	EXPECT_TRUE(starts_with(e, client_prefix("exec"))) << e;
	EXPECT_TRUE(has(e, ": exec: plugin exec: cannot load "
			   "/nonexistent/libnothing.so: "))
	    << e;
}

// The C++ API's exception carries the same message.
TEST_F(RemoteExecErrors, CxxExceptionCarriesTheAgentsReason)
{
	vaccel::Session s(VACCEL_PLUGIN_REMOTE);
	int32_t in = 1;
	int32_t out = 0;
	vaccel_arg r{&in, 4, VACCEL_ARG_INT32, 0, false};
	vaccel_arg w{&out, 4, VACCEL_ARG_INT32, 0, false};
	try {
		s.exec(TEST_MYTESTLIB, "no_such_fn", {&r, 1}, {&w, 1});
		ADD_FAILURE() << "exec of a missing symbol succeeded";
	} catch (const vaccel::Error &e) {
		EXPECT_EQ(e.code(), VACCEL_ENOSYS);
		const std::string what = e.what();
		EXPECT_TRUE(has(what, client_prefix("exec"))) << what;
		EXPECT_TRUE(
		    has(what, "plugin exec: " + std::string(TEST_MYTESTLIB) +
				  ": symbol no_such_fn not found"))
		    << what;
	}
}

// A later failure never shows an earlier one's reason: a call that fails
// on the client (no plugin involved) has its own message.
TEST_F(RemoteExecErrors, MessageIsTheLatestFailuresOwn)
{
	ASSERT_EQ(exec(TEST_MYTESTLIB, "no_such_fn"), VACCEL_ENOSYS);
	ASSERT_EQ(exec(TEST_MYTESTLIB, "mytestfunc"), VACCEL_OK);
	EXPECT_EQ(out_, 2);
	ASSERT_EQ(exec(TEST_MYTESTLIB, "no_such_other"), VACCEL_ENOSYS);
	const std::string e = last_error();
	EXPECT_TRUE(has(e, "symbol no_such_other not found")) << e;
	EXPECT_FALSE(has(e, "no_such_fn")) << e;
}

// A raw ttrpc client, as upstream's: CreateSession, then a Genop exec of a
// missing symbol. The code is where upstream's agent puts it (INTERNAL,
// details[0] a vaccel.Error of type FFI); the reason is the status message.
TEST_F(RemoteExecErrors, UpstreamClientGetsTheCodeAndTheMessage)
{
	RawConn c;
	ASSERT_TRUE(c.connect(agent_->address()));
	const std::string svc(vaccel::transport::kServiceSync);
	vaccel::rpc::session::CreateRequest create;
	auto resp = c.call(svc, "CreateSession", create.SerializeAsString());
	ASSERT_TRUE(resp);
	ASSERT_EQ(resp->status().code(), 0) << resp->status().message();
	vaccel::rpc::session::CreateResponse created;
	ASSERT_TRUE(created.ParseFromString(resp->payload()));

	vaccel::rpc::genop::Request g;
	g.set_session_id(created.session_id());
	auto add = [&g](vaccel::rpc::genop::ArgType type, const void *p,
			size_t n) {
		auto *a = g.add_read_args();
		a->set_arg_type(type);
		a->set_buf(std::string(static_cast<const char *>(p), n));
		a->set_size(static_cast<uint32_t>(n));
	};
	const auto op = static_cast<uint8_t>(VACCEL_OP_EXEC);
	add(vaccel::rpc::genop::UINT8, &op, 1);
	add(vaccel::rpc::genop::STRING, TEST_MYTESTLIB,
	    std::strlen(TEST_MYTESTLIB) + 1);
	add(vaccel::rpc::genop::STRING, "no_such_fn", sizeof("no_such_fn"));
	resp = c.call(svc, "Genop", g.SerializeAsString());
	ASSERT_TRUE(resp);

	const auto &st = resp->status();
	EXPECT_EQ(st.code(),
		  static_cast<int>(vaccel::transport::RpcCode::Internal));
	ASSERT_EQ(st.details_size(), 1);
	EXPECT_EQ(st.details(0).type_url(),
		  vaccel::transport::kVaccelErrorTypeUrl);
	vaccel::rpc::Error err;
	ASSERT_TRUE(err.ParseFromString(st.details(0).value()));
	EXPECT_EQ(err.type(), vaccel::rpc::FFI);
	ASSERT_TRUE(err.has_ffi_error());
	EXPECT_EQ(err.ffi_error(), static_cast<uint32_t>(VACCEL_ENOSYS));
	EXPECT_TRUE(starts_with(
	    st.message(), "exec: plugin exec: " + std::string(TEST_MYTESTLIB) +
			      ": symbol no_such_fn"))
	    << st.message();

	vaccel::rpc::session::DestroyRequest destroy;
	destroy.set_session_id(created.session_id());
	resp = c.call(svc, "DestroySession", destroy.SerializeAsString());
	ASSERT_TRUE(resp);
	EXPECT_EQ(resp->status().code(), 0) << resp->status().message();
}

#ifdef TEST_TORCH_PLUGIN

// The torch plugin in the agent (Debian's libtorch): a model that takes two
// inputs and returns two outputs.
class RemoteTorchErrors : public RemoteErrors
{
protected:
	void SetUp() override
	{
		ASSERT_NO_FATAL_FAILURE(start(TEST_TORCH_PLUGIN));
		ASSERT_EQ(vaccel_resource_init(
			      &model_, TEST_TORCH_FIXTURES "/two_in_two_out.pt",
			      VACCEL_RESOURCE_MODEL),
			  VACCEL_OK);
		ASSERT_EQ(vaccel_resource_register(&model_, &sess_), VACCEL_OK)
		    << last_error();
		ASSERT_EQ(
		    vaccel_torch_tensor_new(&x_, 3, kXDims, VACCEL_TORCH_FLOAT),
		    VACCEL_OK);
		ASSERT_EQ(
		    vaccel_torch_tensor_set_data(x_, x_data_, sizeof(x_data_)),
		    VACCEL_OK);
		ASSERT_EQ(
		    vaccel_torch_tensor_new(&y_, 1, kYDims, VACCEL_TORCH_INT),
		    VACCEL_OK);
		ASSERT_EQ(
		    vaccel_torch_tensor_set_data(y_, y_data_, sizeof(y_data_)),
		    VACCEL_OK);
	}
	void TearDown() override
	{
		if (y_ != nullptr)
			vaccel_torch_tensor_delete(y_);
		if (x_ != nullptr)
			vaccel_torch_tensor_delete(x_);
		if (model_.id > 0) {
			EXPECT_EQ(vaccel_resource_unregister(&model_, &sess_),
				  VACCEL_OK);
			EXPECT_EQ(vaccel_resource_release(&model_), VACCEL_OK);
		}
		RemoteErrors::TearDown();
	}

	static constexpr int64_t kXDims[3] = {3, 5, 7};
	static constexpr int64_t kYDims[1] = {7};
	vaccel_resource model_{};
	float x_data_[3 * 5 * 7] = {};
	int32_t y_data_[7] = {};
	vaccel_torch_tensor *x_ = nullptr;
	vaccel_torch_tensor *y_ = nullptr;
};

TEST_F(RemoteTorchErrors, MissingInputNamesTheModelFile)
{
	vaccel_torch_tensor *out[2] = {};
	ASSERT_EQ(
	    vaccel_torch_model_run(&sess_, &model_, nullptr, &x_, 1, out, 2),
	    VACCEL_EINVAL);
	const std::string e = last_error();
	EXPECT_TRUE(starts_with(e, client_prefix("torch_model_run"))) << e;
	// On the agent the model is the file the client's bytes became.
	EXPECT_TRUE(has(e, ": torch_model_run: plugin torch: model /")) << e;
	EXPECT_TRUE(has(e, "/two_in_two_out.pt: rejected its inputs: ")) << e;
}

TEST_F(RemoteTorchErrors, TooManyOutputsSaysHowMany)
{
	vaccel_torch_tensor *in[2] = {x_, y_};
	vaccel_torch_tensor *out[3] = {};
	ASSERT_EQ(
	    vaccel_torch_model_run(&sess_, &model_, nullptr, in, 2, out, 3),
	    VACCEL_EINVAL);
	const std::string e = last_error();
	EXPECT_TRUE(starts_with(e, client_prefix("torch_model_run"))) << e;
	EXPECT_TRUE(has(e, "/two_in_two_out.pt: 3 outputs requested but the "
			   "model returned 2 tensors"))
	    << e;
	for (auto *t : out)
		EXPECT_EQ(t, nullptr);
}

TEST_F(RemoteTorchErrors, NotAModelSaysWhyOnLoad)
{
	const std::string bogus = dir_.file("bogus.pt");
	write_file(bogus, "not a TorchScript archive");
	vaccel_resource res{};
	ASSERT_EQ(
	    vaccel_resource_init(&res, bogus.c_str(), VACCEL_RESOURCE_MODEL),
	    VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&res, &sess_), VACCEL_OK);
	EXPECT_EQ(vaccel_torch_model_load(&sess_, &res), VACCEL_EINVAL);
	const std::string e = last_error();
	EXPECT_TRUE(starts_with(e, client_prefix("torch_model_load"))) << e;
	EXPECT_TRUE(has(e, ": torch_model_load: plugin torch: resource ")) << e;
	EXPECT_TRUE(has(e, "/bogus.pt is not a TorchScript model")) << e;
	EXPECT_EQ(vaccel_resource_unregister(&res, &sess_), VACCEL_OK);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

#endif // TEST_TORCH_PLUGIN

} // namespace
} // namespace rpc_test
