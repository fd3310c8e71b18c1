// SPDX-License-Identifier: Apache-2.0
// `vaccel run torch MODEL INPUT`: one TorchScript forward on one input
// (torch_input.h), printing the first output tensor, or, when it is one
// row of class scores ([K] or [1, K]), its top-k with softmax
// probabilities and labels (docs/cli.md).
#include "session_runner.h"
#include "torch_input.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>

namespace vaccel_cli
{

namespace
{

struct TensorDeleter {
	void operator()(vaccel_torch_tensor *t) const
	{
		vaccel_torch_tensor_delete(t);
	}
};
using Tensor = std::unique_ptr<vaccel_torch_tensor, TensorDeleter>;

// IEEE half to float (for HALF outputs).
float half_to_float(uint16_t h)
{
	const uint32_t sign = (h >> 15) & 1U;
	const int exp = (h >> 10) & 0x1f;
	const uint32_t frac = h & 0x3ffU;
	float v = 0;
	if (exp == 0)
		v = std::ldexp(static_cast<float>(frac), -24);
	else if (exp == 31)
		v = frac != 0 ? NAN : INFINITY;
	else
		v = std::ldexp(static_cast<float>(frac | 0x400U), exp - 25);
	return sign != 0 ? -v : v;
}

template <class T> std::vector<double> widen(const void *data, size_t n)
{
	std::vector<double> out(n);
	const auto *p = static_cast<const unsigned char *>(data);
	for (size_t i = 0; i < n; i++) {
		T v;
		std::memcpy(&v, p + i * sizeof(T), sizeof(T));
		out[i] = static_cast<double>(v);
	}
	return out;
}

std::pair<const char *, std::vector<double>>
values_of(const vaccel_torch_tensor &t)
{
	switch (t.data_type) {
	case VACCEL_TORCH_BYTE:
		return {"uint8", widen<uint8_t>(t.data, t.size)};
	case VACCEL_TORCH_CHAR:
		return {"int8", widen<int8_t>(t.data, t.size)};
	case VACCEL_TORCH_SHORT:
		return {"int16", widen<int16_t>(t.data, t.size / 2)};
	case VACCEL_TORCH_INT:
		return {"int32", widen<int32_t>(t.data, t.size / 4)};
	case VACCEL_TORCH_LONG:
		return {"int64", widen<int64_t>(t.data, t.size / 8)};
	case VACCEL_TORCH_HALF: {
		auto raw = widen<uint16_t>(t.data, t.size / 2);
		for (double &v : raw)
			v = half_to_float(static_cast<uint16_t>(v));
		return {"float16", raw};
	}
	case VACCEL_TORCH_FLOAT:
		return {"float32", widen<float>(t.data, t.size / 4)};
	}
	return {"unknown", {}};
}

// Values `run torch` prints as text.
constexpr size_t kShown = 64;

struct Top {
	size_t index;
	double score;
	double prob; // softmax over every score
};

// The @p k best of @p scores, best first.
std::vector<Top> top_k(const std::vector<double> &scores, size_t k)
{
	std::vector<size_t> idx(scores.size());
	std::iota(idx.begin(), idx.end(), 0);
	k = std::min(k, idx.size());
	std::partial_sort(
	    idx.begin(), idx.begin() + static_cast<long>(k), idx.end(),
	    [&](size_t a, size_t b) { return scores[a] > scores[b]; });
	const double max = scores[idx.front()];
	double sum = 0;
	for (double s : scores)
		sum += std::exp(s - max);
	std::vector<Top> out;
	for (size_t i = 0; i < k; i++)
		out.push_back({idx[i], scores[idx[i]],
			       std::exp(scores[idx[i]] - max) / sum});
	return out;
}

class TorchRunner final : public SessionRunner
{
public:
	TorchRunner(const OpOptions &o, uint32_t hint)
	    : SessionRunner(VACCEL_OP_TORCH_MODEL_RUN, hint),
	      input_(torch_input(o)), labels_(torch_labels(o)),
	      top_(static_cast<size_t>(o.top))
	{
		model_ = add_resource(o.torch_model, VACCEL_RESOURCE_MODEL);
		vaccel_torch_tensor *t = nullptr;
		if (vaccel_torch_tensor_new(
			&t, static_cast<int64_t>(input_.dims.size()),
			input_.dims.data(), VACCEL_TORCH_FLOAT) != VACCEL_OK)
			die(kExitSetup, "cannot make the input tensor");
		in_.reset(t);
		vaccel_torch_tensor_set_data(in_.get(), input_.data.data(),
					     input_.data.size() *
						 sizeof(float));
	}
	int call() override
	{
		out_.reset();
		vaccel_torch_tensor *inputs[] = {in_.get()};
		vaccel_torch_tensor *out = nullptr;
		int rc = vaccel_torch_model_run(&sess_, model_, nullptr, inputs,
						1, &out, 1);
		out_.reset(out);
		return rc;
	}
	void report(nlohmann::json &out) const override;
	std::vector<std::string> lines() const override;

private:
	[[nodiscard]] std::vector<int64_t> dims() const
	{
		return {out_->dims, out_->dims + out_->nr_dims};
	}
	// One row of scores: [K] or [1, K], a float type.
	[[nodiscard]] bool classifier() const
	{
		const auto d = dims();
		const bool row = d.size() == 1 || (d.size() == 2 && d[0] == 1);
		return row && d.back() >= 2 &&
		       (out_->data_type == VACCEL_TORCH_FLOAT ||
			out_->data_type == VACCEL_TORCH_HALF);
	}
	[[nodiscard]] std::string label(size_t i) const
	{
		return i < labels_.size() ? labels_[i] : "";
	}

	TorchInput input_;
	std::vector<std::string> labels_;
	size_t top_;
	vaccel_resource *model_ = nullptr;
	Tensor in_;
	Tensor out_;
};

void TorchRunner::report(nlohmann::json &out) const
{
	const auto [type, values] = values_of(*out_);
	out["output"] = {{"dims", dims()}, {"type", type}, {"values", values}};
	if (!classifier())
		return;
	nlohmann::json top = nlohmann::json::array();
	for (const Top &t : top_k(values, top_))
		top.push_back({{"index", t.index},
			       {"label", label(t.index)},
			       {"score", t.score},
			       {"probability", t.prob}});
	out["top"] = top;
}

std::vector<std::string> TorchRunner::lines() const
{
	const auto [type, values] = values_of(*out_);
	std::string shape;
	for (int64_t d : dims())
		shape += (shape.empty() ? "" : ", ") + std::to_string(d);
	std::vector<std::string> l{"output: " + std::string(type) + " [" +
				   shape + "]"};
	char buf[256];
	if (classifier()) {
		for (const Top &t : top_k(values, top_)) {
			std::snprintf(buf, sizeof(buf),
				      "  %5.1f%%  %-24s class %zu, score %.6g",
				      t.prob * 100, label(t.index).c_str(),
				      t.index, t.score);
			l.emplace_back(buf);
		}
		return l;
	}
	// The first values, 8 a line; --json has them all.
	const size_t shown = std::min<size_t>(values.size(), kShown);
	for (size_t i = 0; i < shown; i += 8) {
		std::string line = " ";
		for (size_t j = i; j < std::min(shown, i + 8); j++) {
			std::snprintf(buf, sizeof(buf), " %.6g", values[j]);
			line += buf;
		}
		l.push_back(line);
	}
	if (shown < values.size())
		l.push_back("  ... " + std::to_string(values.size()) +
			    " values in all (--json prints every one)");
	return l;
}

} // namespace

std::unique_ptr<OpRunner> make_torch_runner(const OpOptions &o, uint32_t hint)
{
	return std::make_unique<TorchRunner>(o, hint);
}

} // namespace vaccel_cli
