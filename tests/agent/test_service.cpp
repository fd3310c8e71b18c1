// SPDX-License-Identifier: Apache-2.0
// The agent's request handlers, driven in-process through Service::handle()
// with the noop plugin loaded.
#include "agent_test.h"

#include <dlfcn.h>

#include <filesystem>

namespace fs = std::filesystem;

namespace agent_test
{
namespace
{

using Sessions = ServiceTest;
using Resources = ServiceTest;
using Genop = ServiceTest;
using Ownership = ServiceTest;
using Errors = ServiceTest;
using Models = ServiceTest;

rpc::ext::AgentStats stats(Service &svc)
{
	rpc::ext::AgentStats s;
	EXPECT_EQ(call(svc, 1, "Stats", rpc::Empty(), &s,
		       vaccel::agent::kServiceAdmin),
		  RpcCode::Ok);
	return s;
}

// ---- sessions
// ------------------------------------------------------------------

TEST_F(Sessions, CreateAndDestroy)
{
	const int64_t id = create_session();
	EXPECT_EQ(vaccel_session_count(), 1U);
	std::shared_ptr<vaccel::agent::AgentSession> sess;
	ASSERT_TRUE(svc_.objects().session(kConn, id, &sess).is_ok());
	vaccel_session *raw = nullptr;
	ASSERT_EQ(vaccel_session_get_by_id(&raw, sess->id()), VACCEL_OK);
	EXPECT_EQ(stats(svc_).sessions(), 1U);
	sess.reset();

	rpc::session::DestroyRequest req;
	req.set_session_id(id);
	EXPECT_EQ(call(svc_, kConn, "DestroySession", req), RpcCode::Ok);
	EXPECT_EQ(vaccel_session_count(), 0U);
	EXPECT_EQ(call(svc_, kConn, "DestroySession", req), RpcCode::NotFound);
}

TEST_F(Sessions, BothServiceNamesAnswer)
{
	rpc::session::CreateResponse resp;
	EXPECT_EQ(call(svc_, kConn, "CreateSession",
		       rpc::session::CreateRequest(), &resp,
		       vaccel::transport::kServiceAsync),
		  RpcCode::Ok);
	EXPECT_GT(resp.session_id(), 0);
}

TEST_F(Sessions, Update)
{
	rpc::session::UpdateRequest req;
	req.set_session_id(create_session());
	req.set_flags(VACCEL_PLUGIN_GENERIC);
	EXPECT_EQ(call(svc_, kConn, "UpdateSession", req), RpcCode::Ok);
	req.set_session_id(9999);
	EXPECT_EQ(call(svc_, kConn, "UpdateSession", req), RpcCode::NotFound);
}

TEST_F(Sessions, CloseConnectionReleasesEverything)
{
	const int64_t s1 = create_session();
	const int64_t s2 = create_session();
	int64_t r1 = 0;
	int64_t r2 = 0;
	ASSERT_EQ(register_blobs(kConn, s1, {{"a.bin", "aaa"}}, &r1),
		  RpcCode::Ok);
	ASSERT_EQ(register_blobs(kConn, s2, {{"b.bin", "bbb"}}, &r2),
		  RpcCode::Ok);
	// r1 is shared by both sessions.
	rpc::resource::RegisterRequest again;
	again.set_session_id(s2);
	again.set_resource_id(r1);
	ASSERT_EQ(call(svc_, kConn, "RegisterResource", again), RpcCode::Ok);
	const std::string dir =
	    fs::path(runtime_resource(svc_, r1)->paths[0]).parent_path();
	const int64_t theirs = create_session(kOther);

	EXPECT_EQ(vaccel_session_count(), 3U);
	EXPECT_EQ(vaccel_resource_count(), 2U);
	svc_.close_connection(kConn);
	EXPECT_EQ(vaccel_session_count(), 1U);
	EXPECT_EQ(vaccel_resource_count(), 0U);
	EXPECT_FALSE(fs::exists(dir));
	auto s = stats(svc_);
	EXPECT_EQ(s.sessions(), 1U);
	EXPECT_EQ(s.resources(), 0U);
	EXPECT_EQ(s.connections(), 1U);

	// A request still in a worker after its connection closed must not
	// leave a session behind.
	rpc::session::CreateResponse resp;
	EXPECT_NE(call(svc_, kConn, "CreateSession",
		       rpc::session::CreateRequest(), &resp),
		  RpcCode::Ok);
	EXPECT_EQ(vaccel_session_count(), 1U);

	svc_.close_connection(kOther);
	EXPECT_EQ(vaccel_session_count(), 0U);
	(void)theirs;
}

// ---- resources
// -----------------------------------------------------------------

TEST_F(Resources, FromBlobsWritesFilesWithSafeUniqueNames)
{
	const int64_t sess = create_session();
	int64_t id = 0;
	ASSERT_EQ(register_blobs(kConn, sess,
				 {{"libfoo.so", "one"},
				  {"../../evil", "two"},
				  {"libfoo.so", "three"},
				  {"..", "four"},
				  {"", "five"}},
				 &id),
		  RpcCode::Ok);
	ASSERT_GT(id, 0);
	vaccel_resource *res = runtime_resource(svc_, id);
	ASSERT_NE(res, nullptr);
	ASSERT_EQ(res->nr_paths, 5U);
	const fs::path dir = fs::path(res->paths[0]).parent_path();
	EXPECT_EQ(dir.parent_path(), fs::path(vaccel_rundir()));
	const char *want[] = {"libfoo.so", ".._.._evil", "libfoo-1.so", "blob3",
			      "blob4"};
	const char *data[] = {"one", "two", "three", "four", "five"};
	for (size_t i = 0; i < 5; ++i) {
		const fs::path p(res->paths[i]);
		EXPECT_EQ(p.parent_path(), dir);
		EXPECT_EQ(p.filename(), want[i]);
		EXPECT_EQ(read_file(p), data[i]);
	}
	EXPECT_EQ(vaccel_resource_refcount(res), 1);
	EXPECT_EQ(stats(svc_).resources(), 1U);

	rpc::resource::UnregisterRequest un;
	un.set_resource_id(id);
	un.set_session_id(sess);
	EXPECT_EQ(call(svc_, kConn, "UnregisterResource", un), RpcCode::Ok);
	// Refcount 0: released, files gone.
	EXPECT_EQ(vaccel_resource_count(), 0U);
	EXPECT_FALSE(fs::exists(dir));
	EXPECT_EQ(call(svc_, kConn, "UnregisterResource", un),
		  RpcCode::NotFound);
}

TEST_F(Resources, LibraryKeepsItsNameAndLoads)
{
	const int64_t sess = create_session();
	int64_t id = 0;
	ASSERT_EQ(register_blobs(kConn, sess,
				 {{"libagentfixture.so",
				   read_file(TEST_AGENT_FIXTURE_LIB)}},
				 &id),
		  RpcCode::Ok);
	const std::string path = runtime_resource(svc_, id)->paths[0];
	EXPECT_EQ(fs::path(path).filename(), "libagentfixture.so");
	void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
	ASSERT_NE(h, nullptr) << dlerror();
	auto *fn =
	    reinterpret_cast<int (*)()>(dlsym(h, "agent_fixture_answer"));
	ASSERT_NE(fn, nullptr);
	EXPECT_EQ(fn(), 42);
	dlclose(h);
}

TEST_F(Resources, SharedResourceLivesUntilLastUnregister)
{
	const int64_t s1 = create_session();
	const int64_t s2 = create_session();
	int64_t id = 0;
	ASSERT_EQ(register_blobs(kConn, s1, {{"m", "x"}}, &id), RpcCode::Ok);
	rpc::resource::RegisterRequest again;
	again.set_session_id(s2);
	again.set_resource_id(id);
	rpc::resource::RegisterResponse resp;
	ASSERT_EQ(call(svc_, kConn, "RegisterResource", again, &resp),
		  RpcCode::Ok);
	EXPECT_EQ(resp.resource_id(), id);
	EXPECT_EQ(vaccel_resource_refcount(runtime_resource(svc_, id)), 2);

	rpc::resource::UnregisterRequest un;
	un.set_resource_id(id);
	un.set_session_id(s1);
	ASSERT_EQ(call(svc_, kConn, "UnregisterResource", un), RpcCode::Ok);
	EXPECT_EQ(vaccel_resource_count(), 1U);

	// Destroying the other session unregisters and releases it.
	rpc::session::DestroyRequest d;
	d.set_session_id(s2);
	ASSERT_EQ(call(svc_, kConn, "DestroySession", d), RpcCode::Ok);
	EXPECT_EQ(vaccel_resource_count(), 0U);
	EXPECT_EQ(vaccel_session_count(), 1U);
}

TEST_F(Resources, Sync)
{
	const int64_t sess = create_session();
	int64_t id = 0;
	ASSERT_EQ(register_blobs(kConn, sess, {{"a", "hello"}, {"b", ""}}, &id),
		  RpcCode::Ok);
	rpc::resource::SyncRequest req;
	req.set_resource_id(id);
	rpc::resource::SyncResponse resp;
	ASSERT_EQ(call(svc_, kConn, "SyncResource", req, &resp), RpcCode::Ok);
	ASSERT_EQ(resp.blobs_size(), 2);
	EXPECT_EQ(resp.blobs(0).name(), "a");
	EXPECT_EQ(resp.blobs(0).data(), "hello");
	EXPECT_EQ(resp.blobs(0).size(), 5U);
	EXPECT_EQ(resp.blobs(1).data(), "");
}

TEST_F(Resources, RefusesLocalPathsAndBadRequests)
{
	const int64_t sess = create_session();
	rpc::resource::RegisterRequest req;
	req.set_session_id(sess);
	req.add_paths("/etc/passwd");
	EXPECT_EQ(call(svc_, kConn, "RegisterResource", req),
		  RpcCode::InvalidArgument);

	rpc::resource::RegisterRequest empty;
	empty.set_session_id(sess);
	EXPECT_EQ(call(svc_, kConn, "RegisterResource", empty),
		  RpcCode::InvalidArgument);

	int64_t id = 0;
	EXPECT_EQ(register_blobs(kConn, sess, {{"x", "y"}}, &id,
				 static_cast<rpc::resource::ResourceType>(7)),
		  RpcCode::InvalidArgument);
	EXPECT_EQ(
	    register_blobs(kConn, sess, {{std::string(300, 'n'), "y"}}, &id),
	    RpcCode::InvalidArgument);
	EXPECT_EQ(register_blobs(kConn, 4242, {{"x", "y"}}, &id),
		  RpcCode::NotFound);
	EXPECT_EQ(vaccel_resource_count(), 0U);
}

// ---- genop
// -----------------------------------------------------------------------

TEST_F(Genop, Noop)
{
	rpc::genop::Request req;
	req.set_session_id(create_session());
	add_op(&req, VACCEL_OP_NOOP);
	rpc::genop::Response resp;
	EXPECT_EQ(call(svc_, kConn, "Genop", req, &resp), RpcCode::Ok);
	EXPECT_EQ(resp.write_args_size(), 0);
}

TEST_F(Genop, ExecReturnsWriteArgs)
{
	rpc::genop::Request req;
	req.set_session_id(create_session());
	add_op(&req, VACCEL_OP_EXEC);
	add_string(&req, "libmytestlib.so");
	add_string(&req, "mytestfunc");
	const int32_t in = 10;
	add_arg(&req, rpc::genop::INT32, &in, sizeof(in));
	add_write(&req, rpc::genop::INT32, sizeof(int32_t));
	rpc::genop::Response resp;
	ASSERT_EQ(call(svc_, kConn, "Genop", req, &resp), RpcCode::Ok);
	ASSERT_EQ(resp.write_args_size(), 1);
	const auto &w = resp.write_args(0);
	EXPECT_EQ(w.size(), sizeof(int32_t));
	EXPECT_EQ(w.arg_type(), rpc::genop::INT32);
	ASSERT_EQ(w.buf().size(), sizeof(int32_t));
	int32_t out = 0;
	std::memcpy(&out, w.buf().data(), sizeof(out));
	EXPECT_EQ(out, 10); // noop's exec copies the input
}

TEST_F(Genop, Sgemm)
{
	rpc::genop::Request req;
	req.set_session_id(create_session());
	add_op(&req, VACCEL_OP_BLAS_SGEMM);
	const int64_t m = 2, n = 2, k = 2;
	const float alpha = 1, beta = 0;
	const float a[4] = {1, 2, 3, 4};
	const float b[4] = {1, 0, 0, 1};
	add_arg(&req, rpc::genop::INT64, &m, 8);
	add_arg(&req, rpc::genop::INT64, &n, 8);
	add_arg(&req, rpc::genop::INT64, &k, 8);
	add_arg(&req, rpc::genop::FLOAT32, &alpha, 4);
	add_arg(&req, rpc::genop::FLOAT32_ARRAY, a, sizeof(a));
	add_arg(&req, rpc::genop::INT64, &k, 8); // lda
	add_arg(&req, rpc::genop::FLOAT32_ARRAY, b, sizeof(b));
	add_arg(&req, rpc::genop::INT64, &n, 8); // ldb
	add_arg(&req, rpc::genop::FLOAT32, &beta, 4);
	add_arg(&req, rpc::genop::INT64, &n, 8); // ldc
	add_write(&req, rpc::genop::FLOAT32_ARRAY, 4 * sizeof(float));
	rpc::genop::Response resp;
	ASSERT_EQ(call(svc_, kConn, "Genop", req, &resp), RpcCode::Ok);
	ASSERT_EQ(resp.write_args_size(), 1);
	EXPECT_EQ(resp.write_args(0).buf().size(), 4 * sizeof(float));

	// A c too small for m x n is refused by vaccel_genop().
	req.mutable_write_args(0)->set_size(2 * sizeof(float));
	rpc::ttrpc::Response raw =
	    svc_.handle(kConn, envelope("Genop", req.SerializeAsString()));
	EXPECT_EQ(raw.status().code(), static_cast<int>(RpcCode::Internal));
}

TEST_F(Genop, ExecWithResourceChecksOwnership)
{
	const int64_t sess = create_session();
	int64_t mine = 0;
	ASSERT_EQ(register_blobs(kConn, sess, {{"libx.so", "x"}}, &mine),
		  RpcCode::Ok);
	const int64_t other_sess = create_session(kOther);
	int64_t theirs = 0;
	ASSERT_EQ(
	    register_blobs(kOther, other_sess, {{"liby.so", "y"}}, &theirs),
	    RpcCode::Ok);

	auto request = [&](int64_t res_id) {
		rpc::genop::Request req;
		req.set_session_id(sess);
		add_op(&req, VACCEL_OP_EXEC_WITH_RESOURCE);
		add_arg(&req, rpc::genop::INT64, &res_id, sizeof(res_id));
		add_string(&req, "mytestfunc");
		return req;
	};
	rpc::genop::Response resp;
	EXPECT_EQ(call(svc_, kConn, "Genop", request(mine), &resp),
		  RpcCode::Ok);
	EXPECT_EQ(call(svc_, kConn, "Genop", request(theirs), &resp),
		  RpcCode::NotFound);
	EXPECT_EQ(call(svc_, kConn, "Genop", request(777777), &resp),
		  RpcCode::NotFound);
}

TEST_F(Genop, RefusesOversizedAndMalformedArgs)
{
	rpc::genop::Request req;
	req.set_session_id(create_session());
	add_op(&req, VACCEL_OP_NOOP);
	add_write(&req, rpc::genop::RAW, 0xFFFFFFFFu);
	EXPECT_EQ(call(svc_, kConn, "Genop", req), RpcCode::InvalidArgument);

	rpc::genop::Request bad_type;
	bad_type.set_session_id(req.session_id());
	add_op(&bad_type, VACCEL_OP_NOOP);
	bad_type.mutable_read_args(0)->set_arg_type(
	    static_cast<rpc::genop::ArgType>(99));
	EXPECT_EQ(call(svc_, kConn, "Genop", bad_type),
		  RpcCode::InvalidArgument);

	rpc::genop::Request bad_size;
	bad_size.set_session_id(req.session_id());
	add_op(&bad_size, VACCEL_OP_NOOP);
	bad_size.mutable_read_args(0)->set_size(100);
	EXPECT_EQ(call(svc_, kConn, "Genop", bad_size),
		  RpcCode::InvalidArgument);

	rpc::genop::Request many;
	many.set_session_id(req.session_id());
	for (int i = 0; i < 2000; ++i)
		add_op(&many, VACCEL_OP_NOOP);
	EXPECT_EQ(call(svc_, kConn, "Genop", many), RpcCode::InvalidArgument);
}

TEST_F(Genop, ImageClassification)
{
	rpc::image::Request req;
	req.set_session_id(create_session());
	req.set_image("not really a jpeg");
	rpc::image::Response resp;
	ASSERT_EQ(call(svc_, kConn, "ImageClassification", req, &resp),
		  RpcCode::Ok);
	EXPECT_EQ(resp.tags(), "This is a dummy classification tag!");
}

// ---- ownership and errors
// -------------------------------------------------------

TEST_F(Ownership, AnotherConnectionsIdsAnswerLikeUnknownOnes)
{
	const int64_t theirs = create_session(kOther);
	int64_t res = 0;
	ASSERT_EQ(register_blobs(kOther, theirs, {{"f", "d"}}, &res),
		  RpcCode::Ok);

	rpc::genop::Request g;
	g.set_session_id(theirs);
	add_op(&g, VACCEL_OP_NOOP);
	EXPECT_EQ(call(svc_, kConn, "Genop", g), RpcCode::NotFound);

	rpc::session::DestroyRequest d;
	d.set_session_id(theirs);
	EXPECT_EQ(call(svc_, kConn, "DestroySession", d), RpcCode::NotFound);

	const int64_t mine = create_session();
	rpc::resource::RegisterRequest r;
	r.set_session_id(mine);
	r.set_resource_id(res);
	EXPECT_EQ(call(svc_, kConn, "RegisterResource", r), RpcCode::NotFound);
	rpc::resource::SyncRequest s;
	s.set_resource_id(res);
	EXPECT_EQ(call(svc_, kConn, "SyncResource", s), RpcCode::NotFound);
	EXPECT_EQ(vaccel_session_count(), 2U); // nothing was destroyed
}

// A method's message that does not parse gets containerd ttrpc's code for
// a handler that cannot unmarshal its payload: INTERNAL, with no vAccel
// error in its details (no vAccel call ran).
TEST_F(Errors, MalformedPayloadIsInternal)
{
	auto resp =
	    svc_.handle(kConn, envelope("CreateSession", "\xff\xff\xff"));
	EXPECT_EQ(resp.status().code(), static_cast<int>(RpcCode::Internal));
	EXPECT_EQ(resp.status().details_size(), 0);
	EXPECT_EQ(vaccel_session_count(), 0U);
	// A string that is not UTF-8 (Hello.features, field 2) does not
	// parse either.
	resp = svc_.handle(kConn, envelope("Hello", std::string("\x12\x01\xff"),
					   vaccel::agent::kServiceAdmin));
	EXPECT_EQ(resp.status().code(), static_cast<int>(RpcCode::Internal));
}

TEST_F(Errors, UnknownServiceOrMethodIsUnimplemented)
{
	auto a = svc_.handle(kConn, envelope("NoSuchMethod", ""));
	EXPECT_EQ(a.status().code(), static_cast<int>(RpcCode::Unimplemented));
	auto b = svc_.handle(kConn, envelope("CreateSession", "", "x.Y"));
	EXPECT_EQ(b.status().code(), static_cast<int>(RpcCode::Unimplemented));
}

TEST_F(Errors, VaccelFailureCarriesItsCode)
{
	rpc::genop::Request req;
	req.set_session_id(create_session());
	const uint8_t op = 200; // not an op
	add_arg(&req, rpc::genop::UINT8, &op, 1);
	auto resp =
	    svc_.handle(kConn, envelope("Genop", req.SerializeAsString()));
	EXPECT_EQ(resp.status().code(), static_cast<int>(RpcCode::Internal));
	ASSERT_EQ(resp.status().details_size(), 1);
	const auto &any = resp.status().details(0);
	EXPECT_EQ(any.type_url(), vaccel::transport::kVaccelErrorTypeUrl);
	rpc::Error err;
	ASSERT_TRUE(err.ParseFromString(any.value()));
	EXPECT_EQ(err.type(), rpc::FFI);
	EXPECT_EQ(err.ffi_error(), static_cast<uint32_t>(VACCEL_EINVAL));
}

TEST_F(Errors, StatsCountRequests)
{
	const uint64_t before = stats(svc_).requests();
	create_session();
	EXPECT_EQ(stats(svc_).requests(), before + 2); // create + stats
}

// ---- model ops
// -------------------------------------------------------------------

TEST_F(Models, TorchRunCopiesTensorsThroughNoop)
{
	const int64_t sess = create_session();
	int64_t model = 0;
	ASSERT_EQ(register_blobs(kConn, sess, {{"model.pt", "m"}}, &model,
				 rpc::resource::MODEL),
		  RpcCode::Ok);
	rpc::torch::ModelLoadRequest load;
	load.set_session_id(sess);
	load.set_model_id(model);
	EXPECT_EQ(call(svc_, kConn, "TorchModelLoad", load), RpcCode::Ok);

	rpc::torch::ModelRunRequest run;
	run.set_session_id(sess);
	run.set_model_id(model);
	run.set_nr_out_tensors(1);
	auto *t = run.add_in_tensors();
	const float data[2] = {1.5f, 2.5f};
	t->set_data(
	    std::string(reinterpret_cast<const char *>(data), sizeof(data)));
	t->add_dims(2);
	t->set_type(rpc::torch::FLOAT);
	rpc::torch::ModelRunResponse resp;
	ASSERT_EQ(call(svc_, kConn, "TorchModelRun", run, &resp), RpcCode::Ok);
	ASSERT_EQ(resp.out_tensors_size(), 1);
	EXPECT_EQ(resp.out_tensors(0).data(), t->data());
	EXPECT_EQ(resp.out_tensors(0).type(), rpc::torch::FLOAT);
	ASSERT_EQ(resp.out_tensors(0).dims_size(), 1);
	EXPECT_EQ(resp.out_tensors(0).dims(0), 2);

	// A shape larger than the data is refused before the backend.
	t->set_dims(0, 1000);
	EXPECT_EQ(call(svc_, kConn, "TorchModelRun", run),
		  RpcCode::InvalidArgument);
	t->set_dims(0, 2);
	t->set_type(rpc::torch::UNUSED);
	EXPECT_EQ(call(svc_, kConn, "TorchModelRun", run),
		  RpcCode::InvalidArgument);
}

// The torch runs are decoded by hand (transport/codec.h): damaged requests
// and requests beyond the limits are refused before anything runs, and
// what reaches the backend is what was sent.
TEST_F(Models, TorchRunRefusesDamagedAndOversizedRequests)
{
	const int64_t sess = create_session();
	int64_t model = 0;
	ASSERT_EQ(register_blobs(kConn, sess, {{"model.pt", "m"}}, &model,
				 rpc::resource::MODEL),
		  RpcCode::Ok);
	rpc::torch::ModelRunRequest run;
	run.set_session_id(sess);
	run.set_model_id(model);
	run.set_nr_out_tensors(2);
	run.set_run_options(""); // present though empty
	for (int i = 0; i < 2; ++i) {
		auto *t = run.add_in_tensors();
		const int32_t data[3] = {i, 2 * i, -7};
		t->set_data(std::string(reinterpret_cast<const char *>(data),
					sizeof(data)));
		t->add_dims(1);
		t->add_dims(3);
		t->set_type(rpc::torch::INT);
	}
	rpc::torch::ModelRunResponse resp;
	ASSERT_EQ(call(svc_, kConn, "TorchModelRun", run, &resp), RpcCode::Ok);
	ASSERT_EQ(resp.out_tensors_size(), 2);
	for (int i = 0; i < 2; ++i) {
		EXPECT_EQ(resp.out_tensors(i).data(), run.in_tensors(i).data());
		ASSERT_EQ(resp.out_tensors(i).dims_size(), 2);
		EXPECT_EQ(resp.out_tensors(i).dims(1), 3);
		EXPECT_EQ(resp.out_tensors(i).type(), rpc::torch::INT);
	}

	auto raw = [&](const std::string &payload) {
		return static_cast<RpcCode>(
		    svc_.handle(kConn, envelope("TorchModelRun", payload))
			.status()
			.code());
	};
	// Every cut of the message inside a field is malformed; no cut
	// crashes or runs a tensor past its bytes.
	const std::string whole = run.SerializeAsString();
	size_t refused = 0;
	for (size_t cut = 1; cut < whole.size(); ++cut) {
		rpc::torch::ModelRunRequest p;
		const std::string part = whole.substr(0, cut);
		const RpcCode code = raw(part);
		if (!p.ParseFromString(part)) {
			EXPECT_EQ(code, RpcCode::Internal) << cut;
			++refused;
		}
	}
	EXPECT_GT(refused, whole.size() / 2);

	auto with = [&](auto change) {
		rpc::torch::ModelRunRequest r = run;
		change(r);
		return call(svc_, kConn, "TorchModelRun", r);
	};
	EXPECT_EQ(with([](auto &r) {
			  for (int d = 0; d < 70; ++d)
				  r.mutable_in_tensors(0)->add_dims(1);
		  }),
		  RpcCode::InvalidArgument); // more dims than the limit
	EXPECT_EQ(with([](auto &r) { r.set_nr_out_tensors(1u << 20); }),
		  RpcCode::InvalidArgument);
	EXPECT_EQ(
	    with([](auto &r) { r.mutable_in_tensors(1)->set_dims(0, -1); }),
	    RpcCode::InvalidArgument);
	EXPECT_EQ(with([](auto &r) {
			  r.mutable_in_tensors(1)->set_dims(0,
							    int64_t{1} << 62);
		  }),
		  RpcCode::InvalidArgument); // the shape overflows
	EXPECT_EQ(with([](auto &r) { r.mutable_in_tensors(0)->clear_dims(); }),
		  RpcCode::InvalidArgument);
	EXPECT_EQ(with([](auto &r) {
			  r.mutable_in_tensors(0)->set_type(
			      static_cast<rpc::torch::DataType>(-3));
		  }),
		  RpcCode::InvalidArgument);
	EXPECT_EQ(with([](auto &r) { r.set_model_id(r.model_id() + 100); }),
		  RpcCode::NotFound);

	// The shared-memory run needs a connection that has regions.
	rpc::ext::ShmTorchRunRequest shm;
	run.SerializeToString(shm.mutable_run());
	shm.add_data();
	shm.add_data();
	EXPECT_EQ(call(svc_, kConn, "TorchModelRunShm", shm,
		       static_cast<rpc::torch::ModelRunResponse *>(nullptr),
		       vaccel::transport::kServiceData),
		  RpcCode::Unimplemented);
}

TEST_F(Models, TfLoadRunUnload)
{
	const int64_t sess = create_session();
	int64_t model = 0;
	ASSERT_EQ(register_blobs(kConn, sess, {{"saved_model.pb", "m"}}, &model,
				 rpc::resource::MODEL),
		  RpcCode::Ok);
	rpc::tf::ModelLoadRequest load;
	load.set_session_id(sess);
	load.set_model_id(model);
	rpc::tf::ModelLoadResponse lresp;
	ASSERT_EQ(call(svc_, kConn, "TensorflowModelLoad", load, &lresp),
		  RpcCode::Ok);
	EXPECT_EQ(lresp.status().code(), 0U);

	rpc::tf::ModelRunRequest run;
	run.set_session_id(sess);
	run.set_model_id(model);
	run.add_in_nodes()->set_name("in");
	run.add_out_nodes()->set_name("out");
	auto *t = run.add_in_tensors();
	const int32_t v[3] = {1, 2, 3};
	t->set_data(std::string(reinterpret_cast<const char *>(v), sizeof(v)));
	t->add_dims(1);
	t->add_dims(3);
	t->set_type(rpc::tf::INT32);
	rpc::tf::ModelRunResponse resp;
	ASSERT_EQ(call(svc_, kConn, "TensorflowModelRun", run, &resp),
		  RpcCode::Ok);
	ASSERT_EQ(resp.out_tensors_size(), 1);
	EXPECT_EQ(resp.out_tensors(0).data(), t->data());
	EXPECT_EQ(resp.out_tensors(0).type(), rpc::tf::INT32);

	rpc::tf::ModelUnloadRequest unload;
	unload.set_session_id(sess);
	unload.set_model_id(model);
	rpc::tf::ModelUnloadResponse uresp;
	EXPECT_EQ(call(svc_, kConn, "TensorflowModelUnload", unload, &uresp),
		  RpcCode::Ok);
}

TEST_F(Models, TfliteTypesTravelAsCValues)
{
	const int64_t sess = create_session();
	int64_t model = 0;
	ASSERT_EQ(register_blobs(kConn, sess, {{"m.tflite", "m"}}, &model,
				 rpc::resource::MODEL),
		  RpcCode::Ok);
	rpc::tflite::ModelRunRequest run;
	run.set_session_id(sess);
	run.set_model_id(model);
	run.set_nr_out_tensors(1);
	auto *t = run.add_in_tensors();
	const float v[2] = {1, 2};
	t->set_data(std::string(reinterpret_cast<const char *>(v), sizeof(v)));
	t->add_dims(2);
	// As upstream's client sends it: the C enum value,
	// VACCEL_TFLITE_FLOAT32.
	t->set_type(static_cast<rpc::tflite::DataType>(VACCEL_TFLITE_FLOAT32));
	rpc::tflite::ModelRunResponse resp;
	ASSERT_EQ(call(svc_, kConn, "TensorflowLiteModelRun", run, &resp),
		  RpcCode::Ok);
	ASSERT_EQ(resp.out_tensors_size(), 1);
	EXPECT_EQ(static_cast<int>(resp.out_tensors(0).type()),
		  VACCEL_TFLITE_FLOAT32);
	EXPECT_EQ(resp.out_tensors(0).data(), t->data());
}

TEST_F(Models, ModelOfAnotherConnectionIsRefused)
{
	const int64_t theirs = create_session(kOther);
	int64_t model = 0;
	ASSERT_EQ(register_blobs(kOther, theirs, {{"m.pt", "m"}}, &model,
				 rpc::resource::MODEL),
		  RpcCode::Ok);
	rpc::torch::ModelLoadRequest load;
	load.set_session_id(create_session());
	load.set_model_id(model);
	EXPECT_EQ(call(svc_, kConn, "TorchModelLoad", load), RpcCode::NotFound);
}

} // namespace
} // namespace agent_test
