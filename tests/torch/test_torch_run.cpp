// SPDX-License-Identifier: Apache-2.0
// The torch plugin's model load and run, through the public C API: the
// fixture models of make_fixtures.py against the outputs torch computed for
// them, the Fashion-MNIST model of models/, upstream's cnn_trace.pt, the
// model cache, concurrency, and the error paths.
#include "torch_test.h"

#include <atomic>
#include <thread>

using namespace torch_test;

namespace
{

class TorchRun : public TorchTest
{
protected:
	// Runs fixture model @p name on its stored inputs and compares every
	// output with the stored one.
	void check_fixture(const std::string &name,
			   const std::string &model = "")
	{
		const IoCase io = read_io(name + ".io");
		vaccel_resource res{};
		ASSERT_NO_FATAL_FAILURE(make_resource(
		    &res,
		    model.empty() ? kFixtures + "/" + name + ".pt" : model));
		std::vector<vaccel_torch_tensor *> out;
		ASSERT_EQ(run(&res, io.inputs, out,
			      static_cast<int>(io.outputs.size())),
			  VACCEL_OK);
		for (size_t i = 0; i < io.outputs.size(); i++)
			expect_tensor_eq(out[i], io.outputs[i],
					 name + " output " + std::to_string(i));
		free_outputs(out);
		release(&res);
	}
};

TEST_F(TorchRun, TwoInputsTwoOutputs)
{
	check_fixture("two_in_two_out");
}

TEST_F(TorchRun, EveryDataType)
{
	check_fixture("all_types");
}

TEST_F(TorchRun, ListResultBecomesOutputs)
{
	check_fixture("list_out");
}

TEST_F(TorchRun, NestedTupleResultIsFlattened)
{
	check_fixture("nested_out");
}

TEST_F(TorchRun, ScalarResultHasOneDimension)
{
	const IoCase io = read_io("scalar_out.io");
	ASSERT_EQ(io.outputs[0].dims, std::vector<int64_t>{1});
	check_fixture("scalar_out");
}

TEST_F(TorchRun, ModelWithoutInputs)
{
	check_fixture("no_input");
}

TEST_F(TorchRun, FashionModelMatchesTorch)
{
	check_fixture("fashion_ref", kFashionModel);
}

TEST_F(TorchRun, UpstreamCnnTraceMatchesTorch)
{
	// The input make_fixtures.py describes: element i is
	// ((i * 7) % 256) / 255.
	std::vector<float> x(3 * 224 * 224);
	for (size_t i = 0; i < x.size(); i++)
		x[i] = static_cast<float>((i * 7) % 256) / 255.0F;
	const IoCase io = read_io("cnn_trace_ref.io");
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&res, kSourceDir + "/examples/data/cnn_trace.pt"));
	ASSERT_EQ(vaccel_torch_model_load(&sess_, &res), VACCEL_OK);
	std::vector<vaccel_torch_tensor *> out;
	ASSERT_EQ(run(&res, {float_tensor({1, 3, 224, 224}, x)}, out, 1),
		  VACCEL_OK);
	expect_tensor_eq(out[0], io.outputs[0], "cnn_trace");
	free_outputs(out);
	release(&res);
}

TEST_F(TorchRun, FewerOutputsThanTheModelReturns)
{
	const IoCase io = read_io("list_out.io");
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&res, kFixtures + "/list_out.pt"));
	std::vector<vaccel_torch_tensor *> out;
	ASSERT_EQ(run(&res, io.inputs, out, 1), VACCEL_OK);
	expect_tensor_eq(out[0], io.outputs[0], "first output");
	free_outputs(out);
	ASSERT_EQ(run(&res, io.inputs, out, 0), VACCEL_OK);
	release(&res);
}

TEST_F(TorchRun, InMemoryModelResource)
{
	const std::vector<uint8_t> bytes = read_file(kFashionModel);
	const IoCase io = read_io("fashion_ref.io");
	for (bool mem_only : {true, false}) {
		vaccel_resource res{};
		ASSERT_EQ(vaccel_resource_init_from_buf(
			      &res, bytes.data(), bytes.size(),
			      VACCEL_RESOURCE_MODEL, "fashion.pt", mem_only),
			  VACCEL_OK);
		ASSERT_EQ(vaccel_resource_register(&res, &sess_), VACCEL_OK);
		std::vector<vaccel_torch_tensor *> out;
		ASSERT_EQ(run(&res, io.inputs, out, 1), VACCEL_OK);
		expect_tensor_eq(out[0], io.outputs[0],
				 mem_only ? "memory" : "rundir file");
		free_outputs(out);
		release(&res);
	}
}

TEST_F(TorchRun, MisalignedInputData)
{
	// Data at an odd address (as a transport's message buffer may give)
	// is copied, not handed to libtorch misaligned.
	const IoCase io = read_io("fashion_ref.io");
	const Tensor &x = io.inputs[0];
	std::vector<uint8_t> storage(x.data.size() + 1);
	std::memcpy(storage.data() + 1, x.data.data(), x.data.size());
	vaccel_torch_tensor *in = nullptr;
	ASSERT_EQ(
	    vaccel_torch_tensor_new(&in, 4, x.dims.data(), VACCEL_TORCH_FLOAT),
	    VACCEL_OK);
	ASSERT_EQ(
	    vaccel_torch_tensor_set_data(in, storage.data() + 1, x.data.size()),
	    VACCEL_OK);
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
	vaccel_torch_tensor *out = nullptr;
	ASSERT_EQ(
	    vaccel_torch_model_run(&sess_, &res, nullptr, &in, 1, &out, 1),
	    VACCEL_OK);
	expect_tensor_eq(out, io.outputs[0], "misaligned input");
	vaccel_torch_tensor_delete(out);
	vaccel_torch_tensor_delete(in);
	release(&res);
}

TEST_F(TorchRun, RunOptionsAreAccepted)
{
	const IoCase io = read_io("fashion_ref.io");
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
	vaccel_torch_buffer *opts = nullptr;
	char *bytes = static_cast<char *>(std::malloc(3));
	std::memcpy(bytes, "abc", 3);
	ASSERT_EQ(vaccel_torch_buffer_new(&opts, bytes, 3), VACCEL_OK);
	vaccel_torch_tensor *in = make_tensor(io.inputs[0]);
	vaccel_torch_tensor *out = nullptr;
	ASSERT_EQ(vaccel_torch_model_run(&sess_, &res, opts, &in, 1, &out, 1),
		  VACCEL_OK);
	expect_tensor_eq(out, io.outputs[0], "with run options");
	vaccel_torch_tensor_delete(out);
	vaccel_torch_tensor_delete(in);
	vaccel_torch_buffer_delete(opts);
	release(&res);
}

TEST_F(TorchRun, JitOptimizationGivesTheSameResults)
{
	setenv("VACCEL_TORCH_JIT_OPTIMIZE", "1", 1);
	const IoCase io = read_io("two_in_two_out.io");
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&res, kFixtures + "/two_in_two_out.pt"));
	// The profiling executor optimizes after a few runs: run past that.
	for (int i = 0; i < 4; i++) {
		std::vector<vaccel_torch_tensor *> out;
		ASSERT_EQ(run(&res, io.inputs, out, 2), VACCEL_OK);
		expect_tensor_eq(out[0], io.outputs[0], "a");
		expect_tensor_eq(out[1], io.outputs[1], "c");
		free_outputs(out);
	}
	release(&res);
}

/* ---- model cache ----------------------------------------------------------
 */

TEST_F(TorchRun, LoadTwiceLoadsOnce)
{
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
	EXPECT_EQ(loads(), 0U);
	ASSERT_EQ(vaccel_torch_model_load(&sess_, &res), VACCEL_OK);
	ASSERT_EQ(vaccel_torch_model_load(&sess_, &res), VACCEL_OK);
	const IoCase io = read_io("fashion_ref.io");
	std::vector<vaccel_torch_tensor *> out;
	ASSERT_EQ(run(&res, io.inputs, out, 1), VACCEL_OK);
	free_outputs(out);
	EXPECT_EQ(loads(), 1U);
	release(&res);
}

TEST_F(TorchRun, RunLoadsOnFirstUse)
{
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
	const IoCase io = read_io("fashion_ref.io");
	for (int i = 0; i < 3; i++) {
		std::vector<vaccel_torch_tensor *> out;
		ASSERT_EQ(run(&res, io.inputs, out, 1), VACCEL_OK);
		expect_tensor_eq(out[0], io.outputs[0], "run");
		free_outputs(out);
	}
	EXPECT_EQ(loads(), 1U);
	release(&res);
}

TEST_F(TorchRun, CachedModelSurvivesDeletingItsFile)
{
	// Runs after the load use the cached module: with the file gone, a
	// reload would fail.
	const std::string copy = dir_ + "/fashion_copy.pt";
	std::filesystem::copy_file(kFashionModel, copy);
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, copy));
	ASSERT_EQ(vaccel_torch_model_load(&sess_, &res), VACCEL_OK);
	EXPECT_EQ(log_count("[torch] loaded model " + copy), 1U);
	ASSERT_TRUE(std::filesystem::remove(copy));
	const IoCase io = read_io("fashion_ref.io");
	for (int i = 0; i < 3; i++) {
		std::vector<vaccel_torch_tensor *> out;
		ASSERT_EQ(run(&res, io.inputs, out, 1), VACCEL_OK);
		expect_tensor_eq(out[0], io.outputs[0], "after delete");
		free_outputs(out);
		ASSERT_EQ(vaccel_torch_model_load(&sess_, &res), VACCEL_OK);
	}
	EXPECT_EQ(loads(), 1U);
	release(&res);
}

TEST_F(TorchRun, EachResourceHasItsOwnCachedModel)
{
	// Two resources of the same file: one load each, then none.
	vaccel_resource a{};
	vaccel_resource b{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&a, kFashionModel));
	ASSERT_NO_FATAL_FAILURE(make_resource(&b, kFashionModel));
	const IoCase io = read_io("fashion_ref.io");
	for (int i = 0; i < 3; i++)
		for (vaccel_resource *res : {&a, &b}) {
			std::vector<vaccel_torch_tensor *> out;
			ASSERT_EQ(run(res, io.inputs, out, 1), VACCEL_OK);
			expect_tensor_eq(out[0], io.outputs[0], "run");
			free_outputs(out);
		}
	EXPECT_EQ(loads(), 2U);
	release(&a);
	release(&b);
}

TEST_F(TorchRun, ModelIsFreedWithItsLastRegistration)
{
	vaccel_session other{};
	ASSERT_EQ(vaccel_session_init(&other, 0), VACCEL_OK);
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
	ASSERT_EQ(vaccel_resource_register(&res, &other), VACCEL_OK);
	ASSERT_EQ(vaccel_torch_model_load(&sess_, &res), VACCEL_OK);

	// Still registered with `other`: stays loaded.
	ASSERT_EQ(vaccel_resource_unregister(&res, &sess_), VACCEL_OK);
	EXPECT_EQ(log_count("freed the model"), 0U);
	ASSERT_EQ(vaccel_torch_model_load(&other, &res), VACCEL_OK);
	EXPECT_EQ(loads(), 1U);

	// The last registration goes: the model is freed, and a new
	// resource of the same file is loaded again.
	release(&res, &other);
	EXPECT_EQ(log_count("freed the model"), 1U);
	vaccel_resource again{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&again, kFashionModel));
	ASSERT_EQ(vaccel_torch_model_load(&sess_, &again), VACCEL_OK);
	EXPECT_EQ(loads(), 2U);
	release(&again);
	EXPECT_EQ(vaccel_session_release(&other), VACCEL_OK);
}

TEST_F(TorchRun, ConcurrentFirstRunsLoadOnce)
{
	const IoCase io = read_io("fashion_ref.io");
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
	constexpr int kThreads = 8;
	constexpr int kRuns = 5;
	std::atomic<int> failures{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; t++)
		threads.emplace_back([&] {
			vaccel_torch_tensor *in = make_tensor(io.inputs[0]);
			for (int i = 0; i < kRuns; i++) {
				vaccel_torch_tensor *out = nullptr;
				if (vaccel_torch_model_run(
					&sess_, &res, nullptr, &in, 1, &out,
					1) != VACCEL_OK ||
				    out == nullptr ||
				    out->size != io.outputs[0].data.size()) {
					failures++;
				} else {
					std::vector<float> want(out->size /
								sizeof(float));
					std::memcpy(want.data(),
						    io.outputs[0].data.data(),
						    out->size);
					const std::vector<float> got =
					    floats(out);
					for (size_t k = 0; k < got.size(); k++)
						if (std::fabs(got[k] -
							      want[k]) > 1e-3F)
							failures++;
				}
				vaccel_torch_tensor_delete(out);
			}
			vaccel_torch_tensor_delete(in);
		});
	for (auto &t : threads)
		t.join();
	EXPECT_EQ(failures.load(), 0);
	EXPECT_EQ(loads(), 1U);
	release(&res);
}

TEST_F(TorchRun, ExitWithALoadedModelIsClean)
{
	// A program that exits without releasing anything: the plugin frees
	// its models before libtorch goes away.
	EXPECT_EXIT(
	    {
		    vaccel_resource res{};
		    vaccel_resource_init(&res, kFashionModel.c_str(),
					 VACCEL_RESOURCE_MODEL);
		    vaccel_resource_register(&res, &sess_);
		    const int rc = vaccel_torch_model_load(&sess_, &res);
		    std::exit(rc == VACCEL_OK ? 0 : 3);
	    },
	    ::testing::ExitedWithCode(0), "");
}

/* ---- errors ---------------------------------------------------------------
 */

// Upstream's code for a missing model path (it was VACCEL_ENOENT here).
TEST_F(TorchRun, MissingModelFile)
{
	vaccel_resource res{};
	EXPECT_EQ(vaccel_resource_init(&res, (dir_ + "/missing.pt").c_str(),
				       VACCEL_RESOURCE_MODEL),
		  VACCEL_EINVAL);
}

TEST_F(TorchRun, NotATorchScriptModel)
{
	for (const char *file :
	     {"/examples/data/example.jpg", "/examples/data/lstm2.tflite",
	      "/models/fashion_mnist.onnx"}) {
		vaccel_resource res{};
		ASSERT_NO_FATAL_FAILURE(make_resource(&res, kSourceDir + file));
		EXPECT_EQ(vaccel_torch_model_load(&sess_, &res), VACCEL_EINVAL)
		    << file;
		std::vector<vaccel_torch_tensor *> out;
		EXPECT_EQ(run(&res, {float_tensor({1}, {1.0F})}, out, 1),
			  VACCEL_EINVAL)
		    << file;
		EXPECT_EQ(out[0], nullptr);
		release(&res);
	}
	EXPECT_EQ(loads(), 0U);
	EXPECT_GE(log_count("is not a TorchScript model"), 6U);

	// Garbage in memory.
	const std::vector<uint8_t> junk(1000, 0x5a);
	vaccel_resource res{};
	ASSERT_EQ(vaccel_resource_init_from_buf(&res, junk.data(), junk.size(),
						VACCEL_RESOURCE_MODEL,
						"junk.pt", true),
		  VACCEL_OK);
	ASSERT_EQ(vaccel_resource_register(&res, &sess_), VACCEL_OK);
	EXPECT_EQ(vaccel_torch_model_load(&sess_, &res), VACCEL_EINVAL);
	release(&res);
}

TEST_F(TorchRun, ResourceWithoutAModelFile)
{
	// Only a labels file: nothing to load.
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionLabels));
	EXPECT_EQ(vaccel_torch_model_load(&sess_, &res), VACCEL_EINVAL);
	EXPECT_EQ(log_count("has no model file"), 1U);
	// The op's message names the op, the plugin and the resource.
	EXPECT_EQ(std::string(vaccel_last_error()),
		  "torch_model_load: plugin torch: resource " +
		      std::to_string(res.id) +
		      ": has no model file (only labels *.txt or settings "
		      "*.cfg)");
	release(&res);
}

TEST_F(TorchRun, UnregisteredResourceIsRefused)
{
	vaccel_resource res{};
	ASSERT_EQ(vaccel_resource_init(&res, kFashionModel.c_str(),
				       VACCEL_RESOURCE_MODEL),
		  VACCEL_OK);
	EXPECT_EQ(vaccel_torch_model_load(&sess_, &res), VACCEL_EPERM);
	EXPECT_EQ(vaccel_resource_release(&res), VACCEL_OK);
}

TEST_F(TorchRun, WrongInputShapeOrType)
{
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
	std::vector<vaccel_torch_tensor *> out;

	// Three channels instead of one.
	EXPECT_EQ(run(&res,
		      {float_tensor({1, 3, 28, 28},
				    std::vector<float>(3 * 28 * 28, 0.1F))},
		      out, 1),
		  VACCEL_EINVAL);
	EXPECT_EQ(out[0], nullptr);

	// int32 pixels.
	Tensor ints;
	ints.type = VACCEL_TORCH_INT;
	ints.dims = {1, 1, 28, 28};
	ints.data.assign(28 * 28 * 4, 0);
	EXPECT_EQ(run(&res, {ints}, out, 1), VACCEL_EINVAL);
	EXPECT_EQ(out[0], nullptr);

	// Two inputs to a one-input model.
	const Tensor x =
	    float_tensor({1, 1, 28, 28}, std::vector<float>(28 * 28, 0.0F));
	EXPECT_EQ(run(&res, {x, x}, out, 1), VACCEL_EINVAL);
	EXPECT_EQ(run(&res, {}, out, 1), VACCEL_EINVAL);
	EXPECT_EQ(log_count("rejected its inputs"), 4U);
	// The op's message names the op, the plugin and the model's file.
	EXPECT_EQ(std::string(vaccel_last_error())
		      .rfind("torch_model_run: plugin torch: model " +
				 kFashionModel + ": rejected its inputs: ",
			     0),
		  0U)
	    << vaccel_last_error();

	// The model still works after all that.
	ASSERT_EQ(run(&res, {x}, out, 1), VACCEL_OK);
	EXPECT_NE(out[0], nullptr);
	free_outputs(out);
	release(&res);
}

TEST_F(TorchRun, MalformedInputTensors)
{
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
	const int64_t dims[] = {1, 1, 28, 28};
	std::vector<float> data(28 * 28, 0.0F);
	vaccel_torch_tensor t{};
	t.data = data.data();
	t.size = data.size() * sizeof(float);
	t.nr_dims = 4;
	t.dims = const_cast<int64_t *>(dims);
	t.data_type = VACCEL_TORCH_FLOAT;
	vaccel_torch_tensor *in = &t;
	vaccel_torch_tensor *out = nullptr;
	const auto run_one = [&] {
		out = nullptr;
		const int rc = vaccel_torch_model_run(&sess_, &res, nullptr,
						      &in, 1, &out, 1);
		if (rc == VACCEL_OK)
			vaccel_torch_tensor_delete(out);
		else
			EXPECT_EQ(out, nullptr);
		return rc;
	};
	ASSERT_EQ(run_one(), VACCEL_OK);

	// Types that are not vaccel_torch_data_type values, stored as a C
	// caller would: an int in the enum's place.
	for (int type : {0, 8, 42, -1}) {
		std::memcpy(&t.data_type, &type, sizeof(type));
		EXPECT_EQ(run_one(), VACCEL_EINVAL) << type;
	}
	t.data_type = VACCEL_TORCH_FLOAT;

	t.size -= 4; // one float short
	EXPECT_EQ(run_one(), VACCEL_EINVAL);
	t.size += 8; // one float too many
	EXPECT_EQ(run_one(), VACCEL_EINVAL);
	t.size -= 4;

	t.data = nullptr;
	EXPECT_EQ(run_one(), VACCEL_EINVAL);
	t.data = data.data();

	t.nr_dims = 0;
	EXPECT_EQ(run_one(), VACCEL_EINVAL);
	t.nr_dims = 4;
	t.dims = nullptr;
	EXPECT_EQ(run_one(), VACCEL_EINVAL);
	const int64_t negative[] = {1, -1, 28, 28};
	t.dims = const_cast<int64_t *>(negative);
	EXPECT_EQ(run_one(), VACCEL_EINVAL);
	const int64_t huge[] = {INT64_MAX, INT64_MAX, 2, 2};
	t.dims = const_cast<int64_t *>(huge);
	EXPECT_EQ(run_one(), VACCEL_EINVAL);
	t.dims = const_cast<int64_t *>(dims);

	vaccel_torch_tensor *null_in = nullptr;
	EXPECT_EQ(
	    vaccel_torch_model_run(&sess_, &res, nullptr, &null_in, 1, &out, 1),
	    VACCEL_EINVAL);
	ASSERT_EQ(run_one(), VACCEL_OK);
	release(&res);
}

TEST_F(TorchRun, BadTensorArrays)
{
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
	vaccel_torch_tensor *in = make_tensor(
	    float_tensor({1, 1, 28, 28}, std::vector<float>(28 * 28, 0.0F)));
	vaccel_torch_tensor *out = nullptr;
	EXPECT_EQ(
	    vaccel_torch_model_run(&sess_, &res, nullptr, &in, -1, &out, 1),
	    VACCEL_EINVAL);
	EXPECT_EQ(
	    vaccel_torch_model_run(&sess_, &res, nullptr, &in, 1, &out, -1),
	    VACCEL_EINVAL);
	EXPECT_EQ(
	    vaccel_torch_model_run(&sess_, &res, nullptr, nullptr, 1, &out, 1),
	    VACCEL_EINVAL);
	EXPECT_EQ(
	    vaccel_torch_model_run(&sess_, &res, nullptr, &in, 1, nullptr, 1),
	    VACCEL_EINVAL);
	EXPECT_EQ(vaccel_torch_model_load(&sess_, nullptr), VACCEL_EINVAL);
	vaccel_torch_tensor_delete(in);
	release(&res);
}

TEST_F(TorchRun, MoreOutputsThanTheModelReturns)
{
	const IoCase io = read_io("two_in_two_out.io");
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(
	    make_resource(&res, kFixtures + "/two_in_two_out.pt"));
	std::vector<vaccel_torch_tensor *> out;
	EXPECT_EQ(run(&res, io.inputs, out, 3), VACCEL_EINVAL);
	for (vaccel_torch_tensor *t : out)
		EXPECT_EQ(t, nullptr);
	release(&res);
}

TEST_F(TorchRun, UnsupportedOutputs)
{
	const Tensor x = float_tensor({2, 3}, {1, 2, 3, 4, 5, 6});
	for (const char *model : {"double_out.pt", "dict_out.pt"}) {
		vaccel_resource res{};
		ASSERT_NO_FATAL_FAILURE(
		    make_resource(&res, kFixtures + "/" + model));
		std::vector<vaccel_torch_tensor *> out;
		EXPECT_EQ(run(&res, {x}, out, 1), VACCEL_ENOTSUP) << model;
		EXPECT_EQ(out[0], nullptr);
		release(&res);
	}
	EXPECT_EQ(log_count("which has no vaccel_torch_data_type"), 1U);
	EXPECT_EQ(log_count("only tensors and tuples/lists"), 1U);
}

TEST_F(TorchRun, DeviceSelection)
{
	vaccel_resource res{};
	ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
	// No machine has a 100th GPU; on CPU-only ones every CUDA device is
	// missing alike.
	setenv("VACCEL_TORCH_DEVICE", "cuda:99", 1);
	EXPECT_EQ(vaccel_torch_model_load(&sess_, &res), VACCEL_ENODEV);
	setenv("VACCEL_TORCH_DEVICE", "tpu", 1);
	EXPECT_EQ(vaccel_torch_model_load(&sess_, &res), VACCEL_EINVAL);
	EXPECT_EQ(loads(), 0U);

	// A failed load is not cached.
	setenv("VACCEL_TORCH_DEVICE", "cpu", 1);
	ASSERT_EQ(vaccel_torch_model_load(&sess_, &res), VACCEL_OK);
	EXPECT_EQ(log_count("on cpu in"), 1U);
	release(&res);
}

TEST_F(TorchRun, CudaDeviceRunsOrIsAClearError)
{
	// "cuda" (and its alias "gpu") without an index: device 0 where
	// libtorch sees a GPU, otherwise VACCEL_ENODEV with the reason logged
	// and nothing cached. Where it loads, the results match torch's.
	const IoCase io = read_io("fashion_ref.io");
	for (const char *dev : {"cuda", "gpu"}) {
		SCOPED_TRACE(dev);
		setenv("VACCEL_TORCH_DEVICE", dev, 1);
		vaccel_resource res{};
		ASSERT_NO_FATAL_FAILURE(make_resource(&res, kFashionModel));
		const size_t before = loads();
		const size_t on_cuda = log_count("on cuda:0 in");
		const int rc = vaccel_torch_model_load(&sess_, &res);
		if (rc == VACCEL_OK) {
			EXPECT_EQ(log_count("on cuda:0 in"), on_cuda + 1);
			std::vector<vaccel_torch_tensor *> out;
			ASSERT_EQ(run(&res, io.inputs, out, 1), VACCEL_OK);
			// cuDNN may use TF32 for the convolutions: a looser
			// tolerance than on the CPU.
			ASSERT_NE(out[0], nullptr);
			ASSERT_EQ(out[0]->size, io.outputs[0].data.size());
			const std::vector<float> got = floats(out[0]);
			std::vector<float> want(got.size());
			std::memcpy(want.data(), io.outputs[0].data.data(),
				    io.outputs[0].data.size());
			for (size_t i = 0; i < got.size(); i++)
				EXPECT_NEAR(got[i], want[i],
					    2e-2 * (1 + std::fabs(want[i])))
				    << i;
			free_outputs(out);
		} else {
			EXPECT_EQ(rc, VACCEL_ENODEV);
			EXPECT_EQ(loads(), before);
			EXPECT_GE(
			    log_count("VACCEL_TORCH_DEVICE asks for CUDA, "
				      "but this libtorch"),
			    1U);
			// A run loads on first use: the same error, no crash.
			std::vector<vaccel_torch_tensor *> out;
			EXPECT_EQ(run(&res, io.inputs, out, 1), VACCEL_ENODEV);
			EXPECT_EQ(out[0], nullptr);
			// The CPU still works for the same resource.
			setenv("VACCEL_TORCH_DEVICE", "cpu", 1);
			ASSERT_EQ(run(&res, io.inputs, out, 1), VACCEL_OK);
			expect_tensor_eq(out[0], io.outputs[0], "on cpu");
			free_outputs(out);
		}
		release(&res);
	}
}

} // namespace
