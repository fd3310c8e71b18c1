// SPDX-License-Identifier: Apache-2.0
// Image classification through the opencv plugin against OpenCV's dnn module
// called directly, in the same run: one Fashion-MNIST sample PNG classified
// by models/fashion_mnist.onnx through vaccel_image_classification() (the
// plugin in this process), through a vaccel-agent child process on a unix
// socket (the rpc plugin in this process, the opencv plugin in the agent),
// and by cv::dnn with the plugin's decoding and preprocessing done by hand.
// The overhead of each vAccel path is printed at the end.
//
// Each path runs twice: asking for the label only (out_imgname NULL), and
// asking for the result image too, which the direct path then draws and
// writes as the plugin does. (The interleaved benchmark times the agent
// with the image.)
//
//   build/default/bin/bench_opencv
//
// Environment:
//   VACCEL_BENCH_OPENCV_IMAGE   the encoded image (default: a Fashion-MNIST
//                               sample of examples/data/fashion)
//   VACCEL_BENCH_OPENCV_REPS    repetitions of each benchmark; the medians
//                               are compared (default 3)
//   VACCEL_BENCH_OPENCV_WARMUP  untimed runs of each path first
//                               (default 50)
//   VACCEL_BENCH_OPENCV_PLUGIN  the opencv plugin (default: the build
//                               tree's)
//   VACCEL_BENCH_OPENCV_AGENT   0: skip the agent path
//   VACCEL_BENCH_AGENT          the vaccel-agent binary (default: next to
//                               this one)
//   VACCEL_BENCH_RPC_PLUGIN     the rpc plugin (default libvaccel-rpc.so,
//                               found next to libvaccel)
// The plugin is loaded from the build tree unless VACCEL_PLUGINS names it.
// VACCEL_OPENCV_* settings in the environment would change the plugin's
// preprocessing but not the direct path's, so none should be set.
#include "bench_net.h"

#include <benchmark/benchmark.h>
#include <vaccel.h>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace
{

// The model's preprocessing (models/README.md, and the .cfg file the
// vAccel paths register with it): 28x28 gray, (pixel / 255 - 0.5) / 0.5.
constexpr int kSide = 28;
constexpr double kScale = 1.0 / 255.0;
constexpr double kMean = 0.5;
constexpr double kStd = 0.5;

std::string env_or(const char *name, const std::string &fallback)
{
	const char *v = std::getenv(name);
	return v != nullptr && *v != '\0' ? v : fallback;
}

int env_int(const char *name, int fallback)
{
	const char *v = std::getenv(name);
	if (v == nullptr || *v == '\0')
		return fallback;
	char *end = nullptr;
	const long n = std::strtol(v, &end, 10);
	return end != v && *end == '\0' && n >= 0 ? static_cast<int>(n)
						  : fallback;
}

std::vector<unsigned char> read_bytes(const std::string &path)
{
	std::ifstream is(path, std::ios::binary);
	return {std::istreambuf_iterator<char>(is),
		std::istreambuf_iterator<char>()};
}

std::vector<std::string> read_lines(const std::string &path)
{
	std::vector<std::string> out;
	std::ifstream is(path);
	for (std::string line; std::getline(is, line);) {
		if (!line.empty() && line.back() == '\r')
			line.pop_back();
		out.push_back(line);
	}
	// The plugin ignores a trailing empty line the same way.
	while (!out.empty() && out.back().empty())
		out.pop_back();
	return out;
}

struct Env {
	std::vector<unsigned char> png;
	std::vector<std::string> labels;
	cv::dnn::Net net;
	vaccel_session sess{};
	vaccel_resource res{};
	bool ok = false;
	// The agent path: its own session and resource (the model travels
	// to the agent when registered), routed to the rpc plugin by the
	// REMOTE hint.
	std::unique_ptr<bench_net::AgentProcess> agent;
	vaccel_session remote_sess{};
	vaccel_resource remote_res{};
	bool remote_ok = false;
	// Empty when the three paths gave the same label at startup.
	std::string mismatch;
	// Where the direct path writes its result images.
	std::string outdir;
	uint64_t seq = 0;

	Env()
	{
		const std::string image =
		    env_or("VACCEL_BENCH_OPENCV_IMAGE", BENCH_OPENCV_IMAGE);
		png = read_bytes(image);
		labels = read_lines(BENCH_OPENCV_LABELS);
		if (png.empty() || labels.empty()) {
			std::fprintf(stderr,
				     "bench_opencv: cannot read %s or %s\n",
				     image.c_str(), BENCH_OPENCV_LABELS);
			return;
		}
		net = cv::dnn::readNetFromONNX(BENCH_OPENCV_MODEL);
		char tmpl[] = "/tmp/vaccel-bench-opencv-XXXXXX";
		if (mkdtemp(tmpl) == nullptr)
			return;
		outdir = tmpl;

		const std::string plugin =
		    env_or("VACCEL_BENCH_OPENCV_PLUGIN", BENCH_OPENCV_PLUGIN);
		if (vaccel_plugin_count() == 0 &&
		    vaccel_plugin_load(plugin.c_str()) != VACCEL_OK)
			return;
		if (!open_model(sess, res, 0))
			return;
		if (env_or("VACCEL_BENCH_OPENCV_AGENT", "1") != "0")
			start_agent(plugin);
		check_labels(image);
		warm_up();
		ok = true;
	}
	~Env()
	{
		close_model(remote_sess, remote_res);
		close_model(sess, res);
		if (!outdir.empty()) {
			std::error_code ec;
			std::filesystem::remove_all(outdir, ec);
		}
	}
	Env(const Env &) = delete;
	Env &operator=(const Env &) = delete;

	// A session with @p hint and the model, its labels and its settings
	// as one resource, which is how the plugin finds all three.
	static bool open_model(vaccel_session &s, vaccel_resource &r,
			       uint32_t hint)
	{
		const char *files[] = {BENCH_OPENCV_MODEL, BENCH_OPENCV_LABELS,
				       BENCH_OPENCV_CFG};
		return vaccel_session_init(&s, hint) == VACCEL_OK &&
		       vaccel_resource_init_multi(
			   &r, files, 3, VACCEL_RESOURCE_MODEL) == VACCEL_OK &&
		       vaccel_resource_register(&r, &s) == VACCEL_OK;
	}
	static void close_model(vaccel_session &s, vaccel_resource &r)
	{
		if (r.id > 0) {
			vaccel_resource_unregister(&r, &s);
			vaccel_resource_release(&r);
		}
		if (s.id > 0)
			vaccel_session_release(&s);
	}

	// The agent serves the same opencv plugin; this process reaches it
	// through the rpc plugin, whose address is read when it loads.
	void start_agent(const std::string &plugin)
	{
		agent = std::make_unique<bench_net::AgentProcess>(plugin);
		if (!agent->ok()) {
			std::fprintf(stderr, "bench_opencv: the agent did not "
					     "start; no agent path\n");
			return;
		}
		setenv("VACCEL_RPC_ADDRESS", agent->address().c_str(), 1);
		const std::string rpc =
		    env_or("VACCEL_BENCH_RPC_PLUGIN", "libvaccel-rpc.so");
		if (vaccel_plugin_load(rpc.c_str()) != VACCEL_OK) {
			std::fprintf(stderr,
				     "bench_opencv: %s did not load; no "
				     "agent path\n",
				     rpc.c_str());
			return;
		}
		remote_ok =
		    open_model(remote_sess, remote_res, VACCEL_PLUGIN_REMOTE);
	}

	// The benchmarks are only worth comparing if every path does the
	// same work, so their answers must agree before any is timed.
	void check_labels(const std::string &image)
	{
		std::string local;
		std::string remote;
		const std::string direct = classify_direct(*this, false);
		if (!classify(sess, local, false))
			local = "(failed)";
		if (remote_ok && !classify(remote_sess, remote, false))
			remote = "(failed)";
		std::printf("image %s: direct '%s', vaccel '%s', agent '%s'\n",
			    image.c_str(), direct.c_str(), local.c_str(),
			    remote_ok ? remote.c_str() : "(no agent)");
		if (local != direct || (remote_ok && remote != direct))
			mismatch = "the paths disagree: direct '" + direct +
				   "', vaccel '" + local + "', agent '" +
				   remote + "'";
	}

	// The first runs allocate the Nets' buffers and start OpenCV's
	// worker threads, in this process and in the agent.
	void warm_up()
	{
		const int runs = env_int("VACCEL_BENCH_OPENCV_WARMUP", 50);
		std::string label;
		for (int i = 0; i < runs; i++) {
			benchmark::DoNotOptimize(classify_direct(*this, true));
			classify(sess, label, true);
			if (remote_ok)
				classify(remote_sess, label, true);
		}
	}

	// Through vAccel, with or without the result image (classification
	// is the only op whose image is optional).
	bool classify(vaccel_session &s, std::string &label, bool image)
	{
		unsigned char text[64] = {0};
		unsigned char name[512] = {0};
		if (vaccel_image_classification(
			&s, png.data(), text, image ? name : nullptr,
			png.size(), sizeof(text),
			image ? sizeof(name) : 0) != VACCEL_OK)
			return false;
		label = reinterpret_cast<const char *>(text);
		return true;
	}

	// cv::dnn directly, doing what the plugin does for one call
	// (plugins/opencv/vision.cpp): decode to BGR, to gray for the
	// model's one channel (the sample is already 28x28, so no resize),
	// scale and normalise into an NCHW float blob, forward, argmax, the
	// label; with @p image also the plugin's result image (the label on
	// a black box in the top-left corner, written as a new PNG). Only the
	// plugin's own bookkeeping is left out: the model cache and Net pool,
	// the settings lookup, the copy of the output.
	static std::string classify_direct(Env &e, bool image)
	{
		const cv::Mat buf(1, static_cast<int>(e.png.size()), CV_8U,
				  e.png.data());
		const cv::Mat bgr = cv::imdecode(buf, cv::IMREAD_COLOR);
		cv::Mat gray;
		cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
		if (gray.size() != cv::Size(kSide, kSide))
			cv::resize(gray, gray, cv::Size(kSide, kSide), 0, 0,
				   cv::INTER_LINEAR);
		const int dims[] = {1, 1, kSide, kSide};
		cv::Mat blob(4, dims, CV_32F);
		cv::Mat plane(kSide, kSide, CV_32F, blob.ptr<float>(0, 0));
		gray.convertTo(plane, CV_32F, kScale / kStd, -kMean / kStd);
		e.net.setInput(blob);
		const cv::Mat out = e.net.forward();
		const auto *p = out.ptr<float>();
		size_t best = 0;
		for (size_t i = 1; i < out.total(); i++)
			if (p[i] > p[best])
				best = i;
		std::string label = best < e.labels.size()
					? e.labels[best]
					: "class" + std::to_string(best);
		if (image)
			write_result(e, bgr, label);
		return label;
	}

	// What the plugin's draw_label() and save_image() do
	// (plugins/opencv/vision.cpp, opencv.cpp).
	static void write_result(Env &e, const cv::Mat &bgr,
				 const std::string &label)
	{
		cv::Mat img = bgr.clone();
		const double fs =
		    std::max(0.35, std::min(img.cols, img.rows) / 800.0);
		int base = 0;
		const cv::Size ts = cv::getTextSize(
		    label, cv::FONT_HERSHEY_SIMPLEX, fs, 1, &base);
		// The box at the top-left corner, as the plugin places it.
		const int h = ts.height + base + 2;
		cv::rectangle(img, cv::Rect(0, 0, ts.width + 2, h),
			      cv::Scalar(0, 0, 0), cv::FILLED);
		// White text: the plugin's choice on a black box.
		cv::putText(img, label, cv::Point(1, ts.height + 1),
			    cv::FONT_HERSHEY_SIMPLEX, fs,
			    cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
		const std::string path =
		    e.outdir + "/classify-" + std::to_string(++e.seq) + ".png";
		cv::imwrite(path, img);
	}
};

// Made on first use, destroyed by main() before exit: the sessions must be
// released and the agent stopped while the runtime is still alive.
std::unique_ptr<Env> g_env;

Env &env()
{
	if (!g_env)
		g_env = std::make_unique<Env>();
	return *g_env;
}

// Whether @p state may run; skips it with the reason otherwise.
bool ready(benchmark::State &state, bool need_agent)
{
	Env &e = env();
	if (!e.ok) {
		state.SkipWithError("setup failed");
		return false;
	}
	if (!e.mismatch.empty()) {
		state.SkipWithError(e.mismatch.c_str());
		return false;
	}
	if (need_agent && !e.remote_ok) {
		state.SkipWithError("no agent path");
		return false;
	}
	return true;
}

void BM_classify_direct(benchmark::State &state)
{
	if (!ready(state, false))
		return;
	Env &e = env();
	const bool image = state.range(0) != 0;
	for (auto _ : state)
		benchmark::DoNotOptimize(Env::classify_direct(e, image));
}

void run_vaccel(benchmark::State &state, vaccel_session &sess, bool image)
{
	Env &e = env();
	std::string label;
	for (auto _ : state) {
		if (!e.classify(sess, label, image)) {
			state.SkipWithError(
			    "vaccel_image_classification failed");
			break;
		}
		benchmark::DoNotOptimize(label);
	}
}

void BM_classify_vaccel(benchmark::State &state)
{
	if (!ready(state, false))
		return;
	run_vaccel(state, env().sess, state.range(0) != 0);
}

// Through the agent: the rpc plugin sends the PNG over the unix socket, the
// agent's opencv plugin classifies it (and writes the result image), the
// label (and the image's path) come back.
void BM_classify_agent(benchmark::State &state)
{
	if (!ready(state, true))
		return;
	run_vaccel(state, env().remote_sess, state.range(0) != 0);
}

// The paths one after the other in every iteration, each timed on its own:
// slow drifts of the machine (other processes, clocks) hit them alike, so
// their ratio is steadier than that of separate runs. The medians over the
// iterations are kept for the summary.
struct Interleaved {
	double direct_us = 0, vaccel_us = 0;
	double direct_img_us = 0, vaccel_img_us = 0, agent_us = 0;
};
Interleaved g_interleaved;

double median(std::vector<double> v)
{
	if (v.empty())
		return 0;
	std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
	return v[v.size() / 2];
}

void BM_classify_interleaved(benchmark::State &state)
{
	if (!ready(state, false))
		return;
	Env &e = env();
	std::vector<double> t[5];
	using clock = std::chrono::steady_clock;
	std::string label;
	// Direct, vaccel, direct + image, vaccel + image, agent (+ image).
	const auto step = [&](int k) {
		switch (k) {
		case 0:
		case 2:
			benchmark::DoNotOptimize(
			    Env::classify_direct(e, k == 2));
			return true;
		case 1:
		case 3:
			return e.classify(e.sess, label, k == 3);
		default:
			return e.classify(e.remote_sess, label, true);
		}
	};
	const int steps = e.remote_ok ? 5 : 4;
	for (auto _ : state) {
		for (int k = 0; k < steps; k++) {
			const auto t0 = clock::now();
			if (!step(k)) {
				state.SkipWithError("a vAccel call failed");
				break;
			}
			t[k].push_back(
			    std::chrono::duration<double, std::micro>(
				clock::now() - t0)
				.count());
		}
	}
	Interleaved &r = g_interleaved;
	r.direct_us = median(t[0]);
	r.vaccel_us = median(t[1]);
	r.direct_img_us = median(t[2]);
	r.vaccel_img_us = median(t[3]);
	r.agent_us = median(t[4]);
	state.counters["direct_us"] = r.direct_us;
	state.counters["vaccel_us"] = r.vaccel_us;
	state.counters["direct_img_us"] = r.direct_img_us;
	state.counters["vaccel_img_us"] = r.vaccel_img_us;
	if (e.remote_ok)
		state.counters["agent_us"] = r.agent_us;
}

int repetitions()
{
	const int n = env_int("VACCEL_BENCH_OPENCV_REPS", 3);
	return n < 1 ? 1 : n;
}

// Each vAccel benchmark right after its baseline, all repeated and their
// medians compared: on a busy machine a single measurement of each cannot
// tell a few percent apart. The argument: 1 writes the result image.
void register_benchmarks()
{
	const int reps = repetitions();
	const auto common = [reps](benchmark::internal::Benchmark *b) {
		b->UseRealTime()
		    ->Unit(benchmark::kMicrosecond)
		    ->Repetitions(reps)
		    ->ReportAggregatesOnly(reps > 1);
	};
	for (int64_t image : {0, 1}) {
		common(benchmark::RegisterBenchmark("BM_classify_direct",
						    BM_classify_direct)
			   ->Arg(image));
		common(benchmark::RegisterBenchmark("BM_classify_vaccel",
						    BM_classify_vaccel)
			   ->Arg(image));
		common(benchmark::RegisterBenchmark("BM_classify_agent",
						    BM_classify_agent)
			   ->Arg(image));
	}
	// One run: its medians are over every iteration.
	benchmark::RegisterBenchmark("BM_classify_interleaved",
				     BM_classify_interleaved)
	    ->UseRealTime()
	    ->Unit(benchmark::kMicrosecond);
}

double pct(double a, double b)
{
	return 100.0 * (a - b) / b;
}

// Collects per-benchmark times so that the overheads can be printed at the
// end.
class OverheadReporter : public benchmark::ConsoleReporter
{
public:
	void ReportRuns(const std::vector<Run> &runs) override
	{
		ConsoleReporter::ReportRuns(runs);
		// The median of the repetitions, or the single run.
		for (const auto &r : runs) {
			const bool median = r.run_type == Run::RT_Aggregate &&
					    r.aggregate_name == "median";
			if (bench_net::run_skipped(r) ||
			    (!median && r.run_type != Run::RT_Iteration))
				continue;
			// "BM_classify_vaccel/1": without the repetition and
			// time-type parts of the name.
			const std::string key =
			    r.run_name.function_name +
			    (r.run_name.args.empty() ? ""
						     : "/" + r.run_name.args);
			us_[key] =
			    r.GetAdjustedRealTime() /
			    benchmark::GetTimeUnitMultiplier(r.time_unit) * 1e6;
		}
	}
	void Finalize() override
	{
		ConsoleReporter::Finalize();
		std::printf("\nvAccel overhead over cv::dnn (same run, "
			    "medians of %d):\n",
			    repetitions());
		overhead("label only, in process", "BM_classify_vaccel/0",
			 "BM_classify_direct/0");
		overhead("label only, through the agent", "BM_classify_agent/0",
			 "BM_classify_direct/0");
		overhead("with image, in process", "BM_classify_vaccel/1",
			 "BM_classify_direct/1");
		overhead("with image, through the agent", "BM_classify_agent/1",
			 "BM_classify_direct/1");
		const Interleaved &r = g_interleaved;
		if (r.direct_us <= 0 || r.direct_img_us <= 0)
			return;
		std::printf("\nInterleaved (every path in every iteration; "
			    "medians):\n");
		std::printf("  label only  direct %8.1f us  vaccel %8.1f us "
			    "(%+6.2f%%)\n",
			    r.direct_us, r.vaccel_us,
			    pct(r.vaccel_us, r.direct_us));
		std::printf("  with image  direct %8.1f us  vaccel %8.1f us "
			    "(%+6.2f%%)",
			    r.direct_img_us, r.vaccel_img_us,
			    pct(r.vaccel_img_us, r.direct_img_us));
		if (r.agent_us > 0)
			std::printf("  agent %8.1f us (%+6.2f%%)", r.agent_us,
				    pct(r.agent_us, r.direct_img_us));
		std::printf("\n");
	}

private:
	void overhead(const std::string &what, const std::string &a,
		      const std::string &b)
	{
		if (!us_.count(a) || !us_.count(b) || us_[b] <= 0)
			return;
		std::printf("  %-30s vaccel %8.1f us  direct %8.1f us  "
			    "overhead %+7.1f%% (%+.1f us)\n",
			    what.c_str(), us_[a], us_[b], pct(us_[a], us_[b]),
			    us_[a] - us_[b]);
	}
	std::map<std::string, double> us_;
};

} // namespace

int main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	register_benchmarks();
	OverheadReporter reporter;
	benchmark::RunSpecifiedBenchmarks(&reporter);
	benchmark::Shutdown();
	// Releases the sessions (here and in the agent) and stops the agent
	// while the runtime is still alive.
	g_env.reset();
	return 0;
}
