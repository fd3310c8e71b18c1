// SPDX-License-Identifier: Apache-2.0
// The host model cache (agent/model_cache.h) on a real agent with the torch
// plugin: sandboxes are classify_batch processes (the main job's program,
// unchanged) whose rpc plugin reaches the agent through a socket a launcher
// attached for their tenant. Every result is checked against the same
// program run natively; the work the agent did is read from its Stats
// (uploads, lookups) and its log (each model load is one "[torch] loaded
// model" line).
#include "agent_process.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <map>

extern char **environ;

namespace
{

using namespace security_test;

// The program's "result <image> <label> <us>" lines as image -> label.
using Labels = std::map<std::string, std::string>;

// Runs @p argv with the test's environment minus VACCEL_* plus @p env;
// its exit status and what it printed (stdout and stderr).
std::pair<int, std::string> run(const std::vector<std::string> &argv,
				const std::vector<std::string> &env)
{
	int out[2];
	if (::pipe(out) != 0)
		return {-1, "pipe failed"};
	std::vector<std::string> envs = env;
	for (char **e = environ; *e != nullptr; ++e)
		if (std::strncmp(*e, "VACCEL_", 7) != 0)
			envs.emplace_back(*e);
	std::vector<char *> av, ev;
	for (const auto &a : argv)
		av.push_back(const_cast<char *>(a.c_str()));
	av.push_back(nullptr);
	for (const auto &v : envs)
		ev.push_back(const_cast<char *>(v.c_str()));
	ev.push_back(nullptr);
	const pid_t pid = ::fork();
	if (pid == 0) {
		::dup2(out[1], 1);
		::dup2(out[1], 2);
		::close(out[0]);
		::execve(av[0], av.data(), ev.data());
		::_exit(127);
	}
	::close(out[1]);
	std::string text;
	char buf[4096];
	for (ssize_t n; (n = ::read(out[0], buf, sizeof(buf))) != 0;) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		text.append(buf, static_cast<size_t>(n));
	}
	::close(out[0]);
	int status = 0;
	::waitpid(pid, &status, 0);
	return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

Labels parse(const std::string &text)
{
	static const std::regex line("result (\\S+) (.+) [0-9]+");
	Labels out;
	std::stringstream ss(text);
	for (std::string l; std::getline(ss, l);) {
		std::smatch m;
		if (std::regex_match(l, m, line))
			out[std::filesystem::path(m[1].str()).filename()] =
			    m[2].str();
	}
	return out;
}

size_t count(const std::string &text, const std::string &what)
{
	size_t n = 0;
	for (size_t at = text.find(what); at != std::string::npos;
	     at = text.find(what, at + what.size()))
		++n;
	return n;
}

class ModelCacheTest : public ::testing::Test
{
protected:
	// The Fashion-MNIST classifier as classify_batch registers it: the
	// model with its labels and preprocessing; @p variant changes a
	// comment of its settings, which makes it another model to the cache
	// with the same results.
	std::string model_dir(int variant)
	{
		const std::string dir =
		    dir_.file("model" + std::to_string(variant));
		std::filesystem::create_directories(dir);
		const std::string models = TEST_MODELS_DIR;
		std::filesystem::copy_file(models + "/fashion_mnist.pt",
					   dir + "/fashion_mnist.pt");
		std::filesystem::copy_file(models + "/fashion_mnist_labels.txt",
					   dir + "/labels.txt");
		write_text(dir + "/model.cfg",
			   slurp(models + "/fashion_mnist_torch.cfg") +
			       "# variant " + std::to_string(variant) + "\n");
		return dir;
	}

	// Starts the agent (torch plugin, info logs) with @p agent_table's
	// keys in the policy's [agent] table and @p args.
	void start(const std::string &agent_table = "",
		   std::vector<std::string> args = {})
	{
		write_text(dir_.file("policy.toml"), "[agent]\n" + agent_table);
		std::vector<std::string> all = {
		    "-a",
		    "unix://" + dir_.file("main.sock"),
		    "--admin-socket",
		    "unix://" + dir_.file("admin.sock"),
		    "--policy",
		    dir_.file("policy.toml")};
		all.insert(all.end(), args.begin(), args.end());
		agent_ = std::make_unique<AgentProcess>(
		    dir_.path(), all, TEST_TORCH_PLUGIN,
		    std::vector<std::string>{"VACCEL_LOG_LEVEL=3"});
		ASSERT_TRUE(agent_->start()) << agent_->err();
		admin_ = std::make_unique<Client>(
		    tr::parse_address("unix://" + dir_.file("admin.sock"))
			.value());
		ASSERT_TRUE(admin_->connected());
	}

	// A socket serving tenant @p tenant (TorchScript allowed), with
	// @p quotas as its [quotas] keys; its address.
	std::string attach(const std::string &tenant,
			   const std::string &quotas = "")
	{
		rpc::ext::AttachRequest req;
		req.set_address("unix://" + dir_.file(tenant + ".sock"));
		req.set_tenant(tenant);
		req.set_policy("ops = [\"image\", \"torch\"]\n[quotas]\n" +
			       quotas);
		Reply r = admin_->raw(tr::kServiceLauncher, "Attach",
				      req.SerializeAsString());
		EXPECT_EQ(r.code, RpcCode::Ok) << r.message;
		return req.address();
	}

	// One sandbox: classify_batch with @p model through @p address.
	Labels classify(const std::string &address, const std::string &model,
			std::vector<std::string> env = {})
	{
		env.push_back("VACCEL_PLUGINS=" TEST_RPC_PLUGIN);
		env.push_back("VACCEL_RPC_ADDRESS=" + address);
		auto [code, text] =
		    run({TEST_CLASSIFY_BIN, model, TEST_IMAGES_DIR}, env);
		EXPECT_EQ(code, 0) << text;
		return parse(text);
	}

	// The same program with the torch plugin in process: the reference.
	Labels native(const std::string &model)
	{
		auto [code, text] =
		    run({TEST_CLASSIFY_BIN, model, TEST_IMAGES_DIR},
			{"VACCEL_PLUGINS=" TEST_TORCH_PLUGIN});
		EXPECT_EQ(code, 0) << text;
		Labels l = parse(text);
		EXPECT_EQ(l.size(), 10U) << text;
		return l;
	}

	rpc::ext::AgentStats stats()
	{
		Client c(agent_->address());
		Reply r = c.raw(tr::kServiceAdmin, "Stats", "");
		EXPECT_EQ(r.code, RpcCode::Ok) << r.message;
		rpc::ext::AgentStats s;
		s.ParseFromString(r.payload);
		return s;
	}

	size_t loads() { return count(agent_->err(), "[torch] loaded model"); }

	TempDir dir_;
	std::unique_ptr<AgentProcess> agent_;
	std::unique_ptr<Client> admin_;
};

TEST_F(ModelCacheTest, NextSandboxOfATenantNeitherUploadsNorReloads)
{
	ASSERT_NO_FATAL_FAILURE(start());
	const std::string a = attach("a");
	const std::string model = model_dir(1);
	const Labels want = native(model);

	EXPECT_EQ(classify(a, model), want);
	auto s = stats();
	EXPECT_EQ(s.model_uploads(), 1U);
	EXPECT_EQ(s.cache_misses(), 1U);
	EXPECT_EQ(s.cache_hits(), 0U);
	EXPECT_EQ(s.cached_models(), 1U);
	EXPECT_EQ(loads(), 1U);

	// A new sandbox (process, connection, session): found by digest.
	EXPECT_EQ(classify(a, model), want);
	s = stats();
	EXPECT_EQ(s.model_uploads(), 1U);
	EXPECT_EQ(s.cache_hits(), 1U);
	EXPECT_EQ(loads(), 1U);
	// Nothing of the sandboxes is left but the cached model.
	EXPECT_EQ(s.sessions(), 0U);
	EXPECT_EQ(s.resources(), 0U);
}

// A client that does not ask by digest (an upstream rpc plugin, or ours
// with VACCEL_RPC_MODEL_CACHE=0) still uploads, but the agent answers with
// the copy it has: no second load.
TEST_F(ModelCacheTest, UploadOfACachedModelIsNotLoadedAgain)
{
	ASSERT_NO_FATAL_FAILURE(start());
	const std::string a = attach("a");
	const std::string model = model_dir(1);
	const Labels want = native(model);
	EXPECT_EQ(classify(a, model), want);
	EXPECT_EQ(classify(a, model, {"VACCEL_RPC_MODEL_CACHE=0"}), want);
	const auto s = stats();
	EXPECT_EQ(s.model_uploads(), 1U);
	EXPECT_EQ(s.cache_dedups(), 1U);
	EXPECT_EQ(s.cache_misses(), 1U); // the first sandbox only
	EXPECT_EQ(loads(), 1U);
}

// The isolation rule: tenant b asking for a's model gets the answer an
// unknown model gets, and the agent does the same work for both.
TEST_F(ModelCacheTest, AnotherTenantsModelIsAnsweredLikeAnUnknownOne)
{
	ASSERT_NO_FATAL_FAILURE(start());
	const std::string a = attach("a");
	const std::string b = attach("b");
	const std::string shared = model_dir(1);
	const std::string unknown = model_dir(2);
	const Labels want = native(shared);
	EXPECT_EQ(classify(a, shared), want);

	auto before = stats();
	size_t loads_before = loads();
	EXPECT_EQ(classify(b, shared), want); // a's model
	auto probed = stats();
	const size_t probed_loads = loads();
	EXPECT_EQ(classify(b, unknown), want); // nobody's
	auto after = stats();

	auto work = [](const rpc::ext::AgentStats &from,
		       const rpc::ext::AgentStats &to) {
		return std::vector<uint64_t>{
		    to.cache_hits() - from.cache_hits(),
		    to.cache_misses() - from.cache_misses(),
		    to.model_uploads() - from.model_uploads(),
		    to.cache_dedups() - from.cache_dedups()};
	};
	EXPECT_EQ(work(before, probed), (std::vector<uint64_t>{0, 1, 1, 0}));
	EXPECT_EQ(work(probed, after), work(before, probed));
	EXPECT_EQ(probed_loads - loads_before, 1U);
	EXPECT_EQ(loads() - probed_loads, 1U);
}

// Several sandboxes of one tenant at once, on two models, under a budget
// that holds one of them: every result right, the budget kept, and the
// tenant's own older model evicted for the newer one.
TEST_F(ModelCacheTest, ConcurrentSandboxesUnderASmallBudget)
{
	ASSERT_NO_FATAL_FAILURE(start());
	const std::string m1 = model_dir(1);
	const std::string m2 = model_dir(2);
	uint64_t one = 0;
	for (const auto &f : std::filesystem::directory_iterator(m1))
		one += std::filesystem::file_size(f.path());
	const std::string a =
	    attach("a", "model_cache_bytes = " + std::to_string(one + one / 2));
	const Labels want = native(m1);

	std::vector<std::future<Labels>> runs;
	for (int i = 0; i < 6; ++i)
		runs.push_back(std::async(std::launch::async, [&, i] {
			return classify(a, i % 2 == 0 ? m1 : m2);
		}));
	for (auto &r : runs)
		EXPECT_EQ(r.get(), want);
	// And once more each, one after the other.
	EXPECT_EQ(classify(a, m1), want);
	EXPECT_EQ(classify(a, m2), want);

	const auto s = stats();
	EXPECT_LE(s.cached_bytes(), one + one / 2);
	EXPECT_EQ(s.cached_models(), 1U);
	EXPECT_GE(s.cache_evictions(), 1U);
	EXPECT_EQ(s.sessions(), 0U);
	EXPECT_EQ(s.resources(), 0U);
}

// A tenant that keeps uploading new models evicts only its own: another
// tenant's cached model is still found afterwards.
TEST_F(ModelCacheTest, OneTenantCannotEvictAnothers)
{
	ASSERT_NO_FATAL_FAILURE(start());
	const std::string m1 = model_dir(1);
	uint64_t one = 0;
	for (const auto &f : std::filesystem::directory_iterator(m1))
		one += std::filesystem::file_size(f.path());
	const std::string a = attach("a");
	const std::string b =
	    attach("b", "model_cache_bytes = " + std::to_string(one + one / 2));
	const Labels want = native(m1);
	EXPECT_EQ(classify(a, m1), want);
	for (int v = 2; v <= 4; ++v)
		EXPECT_EQ(classify(b, model_dir(v)), want);
	const auto mid = stats();
	EXPECT_EQ(mid.cache_evictions(), 2U); // b's own, twice
	EXPECT_EQ(mid.cached_models(), 2U);   // a's, and b's last

	EXPECT_EQ(classify(a, m1), want);
	const auto s = stats();
	EXPECT_EQ(s.cache_hits() - mid.cache_hits(), 1U);
	EXPECT_EQ(s.model_uploads(), mid.model_uploads());
}

// The operator's model (--preload): loaded before any sandbox, found by
// every tenant without an upload.
TEST_F(ModelCacheTest, PreloadedModelIsPublic)
{
	const std::string m = model_dir(1);
	const std::string files =
	    m + "/fashion_mnist.pt," + m + "/labels.txt," + m + "/model.cfg";
	ASSERT_NO_FATAL_FAILURE(start("", {"--preload", files}));
	EXPECT_EQ(loads(), 1U);
	const Labels want = native(m);
	EXPECT_EQ(classify(attach("a"), m), want);
	EXPECT_EQ(classify(attach("b"), m), want);
	const auto s = stats();
	EXPECT_EQ(s.cache_hits(), 2U);
	EXPECT_EQ(s.model_uploads(), 0U);
	EXPECT_EQ(loads(), 1U);

	// The digest the operator can list, as clients compute it.
	auto [code, text] = run({TEST_AGENT_BIN, "--digest", files}, {});
	EXPECT_EQ(code, 0) << text;
	ASSERT_EQ(text.size(), 65U) << text;

	// Knowing it lets a tenant run the model, not copy its files.
	Client c(tr::parse_address(attach("c")).value());
	rpc::ext::CachedResource ask;
	ask.set_session_id(c.session());
	ask.set_resource_type(VACCEL_RESOURCE_MODEL);
	ask.set_digest(text.substr(0, 64));
	Reply r = c.raw(tr::kServiceData, "RegisterCachedResource",
			ask.SerializeAsString());
	ASSERT_EQ(r.code, RpcCode::Ok) << r.message;
	rpc::resource::RegisterResponse reg;
	reg.ParseFromString(r.payload);
	ASSERT_NE(reg.resource_id(), 0);
	rpc::resource::SyncRequest sync;
	sync.set_resource_id(reg.resource_id());
	r = c.call("SyncResource", sync);
	EXPECT_EQ(r.code, RpcCode::PermissionDenied) << r.message;
	EXPECT_EQ(r.payload, "");
}

// Without a cache ([agent] model_cache_bytes = 0) every sandbox uploads and
// loads, and --preload is refused.
TEST_F(ModelCacheTest, NoCacheWhenTheOperatorSaysSo)
{
	ASSERT_NO_FATAL_FAILURE(start("model_cache_bytes = 0\n"));
	const std::string a = attach("a");
	const std::string m = model_dir(1);
	const Labels want = native(m);
	EXPECT_EQ(classify(a, m), want);
	EXPECT_EQ(classify(a, m), want);
	const auto s = stats();
	EXPECT_EQ(s.model_uploads(), 2U);
	EXPECT_EQ(s.cache_hits() + s.cache_misses(), 0U); // never asked
	EXPECT_EQ(s.cached_models(), 0U);
	EXPECT_EQ(loads(), 2U);

	AgentProcess refused(dir_.path(),
			     {"-a", "unix://" + dir_.file("other.sock"),
			      "--policy", dir_.file("policy.toml"), "--preload",
			      m + "/fashion_mnist.pt"},
			     TEST_TORCH_PLUGIN);
	EXPECT_FALSE(refused.start());
}

// A model listed in a digest index (vaccel digest --index, built with the
// function's image) is asked for by its digest without the sandbox reading
// its files: shown by a file changed behind the index's back with its size
// and modification time kept, which the next sandbox does not notice (the
// agent serves the cached copy). Once the modification time differs, the
// entry is stale: the files are read and hashed again, the change is seen,
// and the model uploaded.
TEST_F(ModelCacheTest, AnIndexedDigestNamesTheModelWithoutReadingIt)
{
	ASSERT_NO_FATAL_FAILURE(start());
	const std::string a = attach("a");
	const std::string model = model_dir(1);
	const Labels want = native(model);
	const std::string index = dir_.file("models.digests");
	auto [code, text] =
	    run({TEST_VACCEL_CLI, "digest", "--index", index, model}, {});
	ASSERT_EQ(code, 0) << text;
	const std::vector<std::string> env = {"VACCEL_RPC_MODEL_DIGESTS=" +
					      index};

	EXPECT_EQ(classify(a, model, env), want); // a miss: uploaded
	auto s = stats();
	EXPECT_EQ(s.cache_misses(), 1U); // asked once, by the index's digest
	EXPECT_EQ(s.model_uploads(), 1U);

	// Same size, same modification time, other bytes (a comment).
	const std::string cfg = model + "/model.cfg";
	struct stat before {
	};
	ASSERT_EQ(::stat(cfg.c_str(), &before), 0);
	std::string bytes = slurp(cfg);
	bytes[bytes.size() - 2] = bytes[bytes.size() - 2] == '1' ? '9' : '1';
	write_text(cfg, bytes);
	const timespec times[2] = {before.st_atim, before.st_mtim};
	ASSERT_EQ(::utimensat(AT_FDCWD, cfg.c_str(), times, 0), 0);

	EXPECT_EQ(classify(a, model, env), want);
	s = stats();
	EXPECT_EQ(s.cache_hits(), 1U);
	EXPECT_EQ(s.model_uploads(), 1U); // the files were not read

	// A new modification time: the entry no longer holds.
	const timespec later[2] = {before.st_atim,
				   {before.st_mtim.tv_sec + 10, 0}};
	ASSERT_EQ(::utimensat(AT_FDCWD, cfg.c_str(), later, 0), 0);
	EXPECT_EQ(classify(a, model, env), want);
	s = stats();
	EXPECT_EQ(s.cache_hits(), 1U);
	EXPECT_EQ(s.model_uploads(), 2U); // read, hashed, seen as new
	EXPECT_EQ(loads(), 2U);
}

// A function pointed at an index it cannot use does not start: a typo must
// not silently cost every sandbox the hashing the index was for.
TEST_F(ModelCacheTest, AMalformedIndexStopsTheFunction)
{
	ASSERT_NO_FATAL_FAILURE(start());
	const std::string a = attach("a");
	const std::string index = dir_.file("bad.digests");
	write_text(index, "vaccel-digests 1\nnot a digest\n");
	for (const std::string &path : {index, dir_.file("none.digests")}) {
		auto [code, text] =
		    run({TEST_CLASSIFY_BIN, model_dir(1), TEST_IMAGES_DIR},
			{"VACCEL_PLUGINS=" TEST_RPC_PLUGIN,
			 "VACCEL_RPC_ADDRESS=" + a,
			 "VACCEL_RPC_MODEL_DIGESTS=" + path});
		EXPECT_NE(code, 0) << text;
		EXPECT_NE(text.find("VACCEL_RPC_MODEL_DIGESTS"),
			  std::string::npos)
		    << text;
		std::filesystem::remove_all(dir_.file("model1"));
	}
}

} // namespace
