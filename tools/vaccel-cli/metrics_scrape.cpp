// SPDX-License-Identifier: Apache-2.0
#include "metrics_scrape.h"

#include <curl/curl.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <regex>

namespace vaccel_cli
{

std::string_view MetricSample::label(std::string_view key) const
{
	for (const auto &[k, v] : labels)
		if (k == key)
			return v;
	return {};
}

std::optional<std::string> metrics_url(const std::string &address)
{
	static const std::regex host_port(
	    R"(([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5}))");
	static const std::regex url(
	    R"(http://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})(/[^\s]*)?)");
	std::smatch m;
	if (std::regex_match(address, m, host_port))
		return "http://" + address + "/metrics";
	if (std::regex_match(address, m, url))
		return m[3].matched ? address : address + "/metrics";
	return std::nullopt;
}

namespace
{

size_t on_data(char *data, size_t size, size_t n, void *out)
{
	constexpr size_t kMaxPage = size_t{64} << 20;
	auto *body = static_cast<std::string *>(out);
	if (body->size() + size * n > kMaxPage)
		return 0; // fails the transfer
	body->append(data, size * n);
	return size * n;
}

} // namespace

std::optional<std::string> http_get(const std::string &url,
				    std::chrono::milliseconds timeout,
				    std::string *why)
{
	static std::once_flag once;
	std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
	CURL *c = curl_easy_init();
	if (c == nullptr) {
		*why = "libcurl is not available";
		return std::nullopt;
	}
	std::string body;
	curl_easy_setopt(c, CURLOPT_URL, url.c_str());
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 static_cast<long>(timeout.count()));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	const CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		*why = curl_easy_strerror(rc);
		return std::nullopt;
	}
	if (status >= 300) {
		*why = "HTTP status " + std::to_string(status);
		return std::nullopt;
	}
	return body;
}

namespace
{

bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == ':' || (!first && c >= '0' && c <= '9');
}

// A label value at @p at (after its opening quote), unescaped; advances
// @p at past the closing quote.
bool quoted(std::string_view line, size_t &at, std::string *out)
{
	for (; at < line.size(); ++at) {
		const char c = line[at];
		if (c == '"') {
			++at;
			return true;
		}
		if (c != '\\') {
			*out += c;
			continue;
		}
		if (++at == line.size())
			return false;
		const char e = line[at];
		if (e == 'n')
			*out += '\n';
		else if (e == '\\' || e == '"')
			*out += e;
		else
			return false;
	}
	return false;
}

bool labels(std::string_view line, size_t &at, MetricSample *s)
{
	++at; // '{'
	while (at < line.size() && line[at] != '}') {
		const size_t start = at;
		while (at < line.size() && name_char(line[at], at == start))
			++at;
		if (at == start || at + 1 >= line.size() || line[at] != '=' ||
		    line[at + 1] != '"')
			return false;
		std::string key(line.substr(start, at - start)), value;
		at += 2;
		if (!quoted(line, at, &value))
			return false;
		s->labels.emplace_back(std::move(key), std::move(value));
		if (at < line.size() && line[at] == ',')
			++at;
	}
	if (at == line.size())
		return false;
	++at; // '}'
	return true;
}

bool number(std::string_view text, double *out)
{
	if (text == "+Inf" || text == "Inf") {
		*out = INFINITY;
		return true;
	}
	if (text == "-Inf") {
		*out = -INFINITY;
		return true;
	}
	if (text == "NaN") {
		*out = NAN;
		return true;
	}
	auto [end, ec] =
	    std::from_chars(text.data(), text.data() + text.size(), *out);
	return ec == std::errc() && end == text.data() + text.size();
}

bool sample(std::string_view line, MetricSample *s)
{
	size_t at = 0;
	while (at < line.size() && name_char(line[at], at == 0))
		++at;
	if (at == 0)
		return false;
	s->name = std::string(line.substr(0, at));
	if (at < line.size() && line[at] == '{' && !labels(line, at, s))
		return false;
	if (at >= line.size() || line[at] != ' ')
		return false;
	std::string_view rest = line.substr(at + 1);
	// An optional timestamp follows the value.
	rest = rest.substr(0, rest.find(' '));
	return number(rest, &s->value);
}

} // namespace

std::optional<std::vector<MetricSample>> parse_exposition(std::string_view text,
							  std::string *why)
{
	std::vector<MetricSample> out;
	size_t line_no = 0;
	while (!text.empty()) {
		const size_t nl = text.find('\n');
		const std::string_view line = text.substr(0, nl);
		text = nl == std::string_view::npos ? std::string_view{}
						    : text.substr(nl + 1);
		++line_no;
		if (line.empty() || line[0] == '#')
			continue;
		MetricSample s;
		if (!sample(line, &s)) {
			*why = "line " + std::to_string(line_no) +
			       " is not a sample: " +
			       std::string(line.substr(0, 80));
			return std::nullopt;
		}
		out.push_back(std::move(s));
	}
	return out;
}

} // namespace vaccel_cli
