// SPDX-License-Identifier: Apache-2.0
// The Prometheus text exposition format (version 0.0.4), written: families
// with their HELP and TYPE lines, samples with escaped label values, and
// histograms with cumulative buckets. Only what the agent's /metrics needs.
//
// Label values come from the operator's configuration (tenant names: a
// `--tenant`, a policy mapping, a launcher's name, a certificate's common
// name), so they may hold anything: backslash, double quote and newline
// are escaped as the format says, and bytes that are not UTF-8 become
// U+FFFD, since one bad byte would make a scraper drop the whole page.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace vaccel::agent
{

class PromText
{
public:
	using Label = std::pair<std::string_view, std::string_view>;
	using Labels = std::initializer_list<Label>;

	// Starts a family: its samples must follow, before the next family.
	// @p type: "counter", "gauge" or "histogram".
	void family(std::string_view name, std::string_view type,
		    std::string_view help);
	void sample(std::string_view name, Labels labels, uint64_t value);
	void sample(std::string_view name, Labels labels, double value);
	// A histogram's series: @p name_bucket with `le` from @p bounds (then
	// +Inf), cumulative from the per-bucket counts @p counts (one more
	// than @p bounds), then @p name_sum and @p name_count (the sum of
	// @p counts, so equal to the +Inf bucket).
	void histogram(std::string_view name, Labels labels,
		       std::span<const uint64_t> counts,
		       std::span<const double> bounds, double sum);

	[[nodiscard]] const std::string &text() const noexcept { return out_; }
	std::string take() noexcept { return std::move(out_); }

private:
	void series(std::string_view name, Labels labels, Label extra = {});

	std::string out_;
};

// @p v as a label value, escaped (without the quotes).
std::string escape_label_value(std::string_view v);
// @p v as a HELP text, escaped (backslash and newline).
std::string escape_help(std::string_view v);
// A sample value: shortest round-trip form; +Inf, -Inf, NaN.
std::string format_value(double v);

} // namespace vaccel::agent
