// SPDX-License-Identifier: Apache-2.0
// A strict reader of the Prometheus text exposition format (0.0.4), for
// the tests of the agent's /metrics: it checks what a scraper relies on
// (names and label syntax, escapes, one TYPE per family before its
// samples, a family's samples together, no series twice, valid UTF-8,
// histograms with increasing `le`, cumulative buckets and a +Inf bucket
// equal to _count) and gives the samples by the series text as written,
// `name{label="value",...}`.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace agent_test
{

struct Exposition {
	std::map<std::string, double> samples;    // series text -> value
	std::map<std::string, std::string> types; // family -> type
	std::vector<std::string> errors;

	// The value of @p series; NaN when absent.
	[[nodiscard]] double operator[](const std::string &series) const
	{
		auto it = samples.find(series);
		return it == samples.end() ? std::nan("") : it->second;
	}
	[[nodiscard]] bool has(const std::string &series) const
	{
		return samples.contains(series);
	}
	// The sum of every sample of @p name whose series text contains
	// every one of @p parts.
	[[nodiscard]] double sum(const std::string &name,
				 const std::vector<std::string> &parts) const
	{
		double total = 0;
		for (const auto &[series, v] : samples) {
			if (series.compare(0, name.size() + 1, name + "{") != 0)
				continue;
			bool all = true;
			for (const auto &p : parts)
				all =
				    all && series.find(p) != std::string::npos;
			if (all)
				total += v;
		}
		return total;
	}
};

namespace prom_detail
{

inline bool name_char(char c, bool first, bool colon)
{
	const bool alpha =
	    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
	return alpha || (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

inline bool valid_name(const std::string &s, bool colon)
{
	if (s.empty())
		return false;
	for (size_t i = 0; i < s.size(); ++i)
		if (!name_char(s[i], i == 0, colon))
			return false;
	return true;
}

inline bool valid_utf8(const std::string &s)
{
	for (size_t i = 0; i < s.size();) {
		const auto c = static_cast<unsigned char>(s[i]);
		size_t n = c < 0x80                        ? 1
			   : (c >> 5) == 0x6 && c >= 0xC2  ? 2
			   : (c >> 4) == 0xE               ? 3
			   : (c >> 3) == 0x1E && c <= 0xF4 ? 4
							   : 0;
		if (n == 0 || i + n > s.size())
			return false;
		for (size_t k = 1; k < n; ++k)
			if ((static_cast<unsigned char>(s[i + k]) & 0xC0) !=
			    0x80)
				return false;
		i += n;
	}
	return true;
}

inline bool parse_value(const std::string &s, double *v)
{
	if (s == "+Inf" || s == "-Inf" || s == "NaN") {
		*v = s == "NaN"    ? std::nan("")
		     : s[0] == '+' ? INFINITY
				   : -INFINITY;
		return true;
	}
	char *end = nullptr;
	*v = std::strtod(s.c_str(), &end);
	return !s.empty() && end == s.c_str() + s.size();
}

// Reads `{a="x",b="y"}` at @p i; the labels with their values unescaped.
inline bool parse_labels(const std::string &line, size_t *i,
			 std::vector<std::pair<std::string, std::string>> *out)
{
	if (line[*i] != '{')
		return true;
	++*i;
	std::set<std::string> seen;
	while (*i < line.size() && line[*i] != '}') {
		const size_t eq = line.find('=', *i);
		if (eq == std::string::npos || eq + 1 >= line.size() ||
		    line[eq + 1] != '"')
			return false;
		std::string name = line.substr(*i, eq - *i);
		if (!valid_name(name, false) || name.rfind("__", 0) == 0 ||
		    !seen.insert(name).second)
			return false;
		std::string value;
		size_t k = eq + 2;
		for (; k < line.size() && line[k] != '"'; ++k) {
			if (line[k] != '\\') {
				value += line[k];
				continue;
			}
			if (++k >= line.size())
				return false;
			const char e = line[k];
			if (e != '\\' && e != '"' && e != 'n')
				return false;
			value += e == 'n' ? '\n' : e;
		}
		if (k >= line.size())
			return false;
		out->emplace_back(std::move(name), std::move(value));
		*i = k + 1;
		if (*i < line.size() && line[*i] == ',')
			++*i;
	}
	if (*i >= line.size())
		return false;
	++*i; // '}'
	return true;
}

struct HistogramSeries {
	std::vector<std::pair<double, double>> buckets; // le, count
	double count = NAN;
	bool has_sum = false;
};

} // namespace prom_detail

inline Exposition parse_exposition(const std::string &text)
{
	using namespace prom_detail;
	Exposition ex;
	auto fail = [&](const std::string &line, const std::string &why) {
		ex.errors.push_back(why + ": " + line);
	};
	if (!valid_utf8(text))
		ex.errors.push_back("not UTF-8");
	if (!text.empty() && text.back() != '\n')
		ex.errors.push_back("no newline at the end");
	std::string family;           // the current TYPE's family
	std::set<std::string> closed; // families whose samples are over
	std::map<std::string, HistogramSeries> hist; // family + labels
	size_t start = 0;
	while (start < text.size()) {
		size_t nl = text.find('\n', start);
		if (nl == std::string::npos)
			nl = text.size();
		const std::string line = text.substr(start, nl - start);
		start = nl + 1;
		if (line.rfind("# TYPE ", 0) == 0) {
			const size_t sp = line.find(' ', 7);
			const std::string name = line.substr(7, sp - 7);
			const std::string type =
			    sp == std::string::npos ? "" : line.substr(sp + 1);
			static const std::set<std::string> types = {
			    "counter", "gauge", "histogram", "summary",
			    "untyped"};
			if (!valid_name(name, true) || !types.contains(type))
				fail(line, "bad TYPE");
			if (ex.types.contains(name))
				fail(line, "second TYPE");
			if (!family.empty())
				closed.insert(family);
			ex.types[name] = type;
			family = name;
			continue;
		}
		if (line.rfind("# HELP ", 0) == 0) {
			const std::string rest = line.substr(7);
			if (!valid_name(rest.substr(0, rest.find(' ')), true))
				fail(line, "bad HELP name");
			for (size_t k = 0; k < rest.size(); ++k)
				if (rest[k] == '\\' && (k + 1 >= rest.size() ||
							(rest[k + 1] != '\\' &&
							 rest[k + 1] != 'n')))
					fail(line, "bad escape in HELP");
				else if (rest[k] == '\\')
					++k;
			continue;
		}
		if (line.empty() || line[0] == '#')
			continue;
		size_t i = 0;
		while (i < line.size() && line[i] != '{' && line[i] != ' ')
			++i;
		const std::string name = line.substr(0, i);
		std::vector<std::pair<std::string, std::string>> labels;
		if (!valid_name(name, true) || i >= line.size() ||
		    !parse_labels(line, &i, &labels) || i >= line.size() ||
		    line[i] != ' ') {
			fail(line, "bad sample");
			continue;
		}
		const std::string series = line.substr(0, i);
		std::string rest = line.substr(i + 1);
		rest = rest.substr(0, rest.find(' ')); // a timestamp may follow
		double v = 0;
		if (!parse_value(rest, &v))
			fail(line, "bad value");
		if (!ex.samples.emplace(series, v).second)
			fail(line, "series twice");
		// Its family: the current one, or a histogram's part of it.
		const auto t = ex.types.find(family);
		const std::string type =
		    t == ex.types.end() ? std::string() : t->second;
		std::string part;
		if (type == "histogram" && name.size() > family.size() &&
		    name.compare(0, family.size(), family) == 0)
			part = name.substr(family.size());
		const bool ours =
		    name == family || ((part == "_bucket" || part == "_sum" ||
					part == "_count") &&
				       type == "histogram");
		if (!ours || closed.contains(name))
			fail(line, "sample outside its family");
		if (part.empty())
			continue;
		std::string key = family + "{";
		double le = NAN;
		for (const auto &[k, val] : labels) {
			if (k == "le" && part == "_bucket") {
				parse_value(val, &le);
				continue;
			}
			key += k + "=" + val + ",";
		}
		HistogramSeries &h = hist[key];
		if (part == "_bucket") {
			if (std::isnan(le))
				fail(line, "bucket without le");
			if (!h.buckets.empty() &&
			    (le <= h.buckets.back().first ||
			     v < h.buckets.back().second))
				fail(line,
				     "buckets not increasing / cumulative");
			h.buckets.emplace_back(le, v);
		} else if (part == "_count") {
			h.count = v;
		} else {
			h.has_sum = true;
		}
	}
	for (const auto &[key, h] : hist)
		if (h.buckets.empty() || !std::isinf(h.buckets.back().first) ||
		    h.buckets.back().second != h.count || !h.has_sum)
			ex.errors.push_back("histogram without +Inf == _count "
					    "or _sum: " +
					    key);
	return ex;
}

} // namespace agent_test
