// SPDX-License-Identifier: Apache-2.0
// The ops `vaccel run` and `vaccel bench` know: each prepares its session
// and inputs once, so that a benchmark iteration is one C call.
#include "cli.h"
#include "session_runner.h"

#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace vaccel_cli
{

std::string op_name(vaccel_op_type_t op)
{
	char buf[VACCEL_ENUM_STR_MAX];
	return vaccel_op_type_to_lower(op, buf, sizeof(buf));
}

std::string serving_plugin(OpRunner &r)
{
	const char *p = vaccel_session_op_plugin(r.session(), r.op_type());
	return p != nullptr ? p : "";
}

namespace
{

class NoopRunner final : public SessionRunner
{
public:
	explicit NoopRunner(uint32_t hint) : SessionRunner(VACCEL_OP_NOOP, hint)
	{
	}
	int call() override { return vaccel_noop(&sess_); }
	void report(nlohmann::json &) const override {}
	std::vector<std::string> lines() const override { return {"ok"}; }
};

class ClassifyRunner final : public SessionRunner
{
public:
	ClassifyRunner(const OpOptions &o, uint32_t hint)
	    : SessionRunner(VACCEL_OP_IMAGE_CLASSIFY, hint)
	{
		std::ifstream in(o.image, std::ios::binary);
		if (!in)
			die(kExitSetup, "cannot read image " + o.image + ": " +
					    std::strerror(errno));
		image_.assign(std::istreambuf_iterator<char>(in), {});
		if (image_.empty())
			die(kExitSetup, "image " + o.image + " is empty");
		if (o.model)
			add_resource(*o.model, VACCEL_RESOURCE_MODEL);
	}
	int call() override
	{
		text_.fill(0);
		name_.fill(0);
		return vaccel_image_classification(
		    &sess_, image_.data(), text_.data(), name_.data(),
		    image_.size(), text_.size() - 1, name_.size() - 1);
	}
	void report(nlohmann::json &out) const override
	{
		out["tag"] = text();
		out["imgname"] = name();
	}
	std::vector<std::string> lines() const override
	{
		return {"tag: " + text(), "imgname: " + name()};
	}

private:
	// One byte more than passed, so a plugin that fills the buffer
	// still leaves a terminator.
	std::string text() const
	{
		return reinterpret_cast<const char *>(text_.data());
	}
	std::string name() const
	{
		return reinterpret_cast<const char *>(name_.data());
	}
	std::vector<char> image_;
	std::array<unsigned char, 1025> text_{};
	std::array<unsigned char, 1025> name_{};
};

class SgemmRunner final : public SessionRunner
{
public:
	SgemmRunner(const OpOptions &o, uint32_t hint)
	    : SessionRunner(VACCEL_OP_BLAS_SGEMM, hint), m_(o.m), n_(o.n),
	      k_(o.k), alpha_(o.alpha), beta_(o.beta)
	{
		// Order fixed (A, then B, then C) so that a test can
		// reproduce the matrices.
		MatrixRng rng(o.seed);
		a_.resize(static_cast<size_t>(m_ * k_));
		b_.resize(static_cast<size_t>(k_ * n_));
		c_.resize(static_cast<size_t>(m_ * n_));
		for (auto *v : {&a_, &b_, &c_})
			for (float &x : *v)
				x = rng.next();
	}
	int call() override
	{
		return vaccel_sgemm(&sess_, m_, n_, k_, alpha_, a_.data(), k_,
				    b_.data(), n_, beta_, c_.data(), n_);
	}
	[[nodiscard]] double checksum() const
	{
		double s = 0;
		for (float x : c_)
			s += static_cast<double>(x);
		return s;
	}
	void report(nlohmann::json &out) const override
	{
		out["m"] = m_;
		out["n"] = n_;
		out["k"] = k_;
		out["checksum"] = checksum();
	}
	std::vector<std::string> lines() const override
	{
		char buf[160];
		std::snprintf(buf, sizeof(buf),
			      "m=%" PRId64 " n=%" PRId64 " k=%" PRId64
			      " checksum=%.9g",
			      m_, n_, k_, checksum());
		return {buf};
	}
	[[nodiscard]] double flops() const
	{
		return 2.0 * static_cast<double>(m_) * static_cast<double>(n_) *
		       static_cast<double>(k_);
	}

private:
	int64_t m_, n_, k_;
	float alpha_, beta_;
	std::vector<float> a_, b_, c_;
};

class ExecRunner final : public SessionRunner
{
public:
	ExecRunner(const OpOptions &o, uint32_t hint)
	    : SessionRunner(VACCEL_OP_EXEC, hint), library_(o.library),
	      function_(o.function), in_(o.ints),
	      out_(static_cast<size_t>(o.outputs), 0)
	{
		for (auto &v : in_)
			read_.push_back(
			    {&v, sizeof(v), VACCEL_ARG_INT32, 0, false});
		for (auto &v : out_)
			write_.push_back(
			    {&v, sizeof(v), VACCEL_ARG_INT32, 0, false});
	}
	int call() override
	{
		return vaccel_exec(
		    &sess_, library_.c_str(), function_.c_str(),
		    read_.empty() ? nullptr : read_.data(), read_.size(),
		    write_.empty() ? nullptr : write_.data(), write_.size());
	}
	void report(nlohmann::json &out) const override
	{
		out["outputs"] = out_;
	}
	std::vector<std::string> lines() const override
	{
		std::vector<std::string> l;
		for (size_t i = 0; i < out_.size(); i++)
			l.push_back(
			    (out_.size() == 1
				 ? std::string("output")
				 : "output[" + std::to_string(i) + "]") +
			    ": " + std::to_string(out_[i]));
		return l;
	}

private:
	std::string library_;
	std::string function_;
	std::vector<int32_t> in_;
	std::vector<int32_t> out_;
	std::vector<vaccel_arg> read_;
	std::vector<vaccel_arg> write_;
};

} // namespace

std::unique_ptr<OpRunner> make_runner(const OpOptions &o, uint32_t hint)
{
	if (o.op == "noop")
		return std::make_unique<NoopRunner>(hint);
	if (o.op == "classify")
		return std::make_unique<ClassifyRunner>(o, hint);
	if (o.op == "sgemm")
		return std::make_unique<SgemmRunner>(o, hint);
	if (o.op == "exec")
		return std::make_unique<ExecRunner>(o, hint);
	if (o.op == "torch")
		return make_torch_runner(o, hint);
	die(kExitUsage, "unknown op " + o.op);
}

double sgemm_flops(const OpRunner &r)
{
	const auto *s = dynamic_cast<const SgemmRunner *>(&r);
	return s != nullptr ? s->flops() : 0;
}

} // namespace vaccel_cli
