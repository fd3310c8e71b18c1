// SPDX-License-Identifier: Apache-2.0
// Reading an agent's /metrics page (docs/observability.md) for `vaccel
// top`: one HTTP GET with libcurl, and the Prometheus text format parsed
// into samples.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vaccel_cli
{

struct MetricSample {
	std::string name;
	std::vector<std::pair<std::string, std::string>> labels;
	double value = 0;

	// The value of label @p key; empty when it has none.
	[[nodiscard]] std::string_view label(std::string_view key) const;
};

// The URL of the page an agent's --metrics address serves: "HOST:PORT",
// "[V6]:PORT" or "http://HOST:PORT[/PATH]" (path /metrics unless given).
// nullopt for anything else.
std::optional<std::string> metrics_url(const std::string &address);

// The body of @p url (http only, no redirects, no proxy), within
// @p timeout; nullopt with *@p why on any failure, HTTP status >= 300
// included.
std::optional<std::string> http_get(const std::string &url,
				    std::chrono::milliseconds timeout,
				    std::string *why);

// The samples of a text exposition (format 0.0.4): comments skipped, label
// values unescaped; nullopt with *@p why at the first malformed line.
std::optional<std::vector<MetricSample>> parse_exposition(std::string_view text,
							  std::string *why);

} // namespace vaccel_cli
