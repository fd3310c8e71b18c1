// SPDX-License-Identifier: Apache-2.0
#include "prom_text.h"

#include <charconv>
#include <cmath>

namespace vaccel::agent
{

namespace
{

constexpr std::string_view kReplacement = "\xEF\xBF\xBD"; // U+FFFD

bool continuation(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

// The length of the well-formed UTF-8 sequence at the start of @p s
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF);
// 0 when there is none.
size_t utf8_sequence(std::string_view s)
{
	const auto b = [&](size_t i) {
		return static_cast<unsigned char>(s[i]);
	};
	const unsigned char c = b(0);
	if (c < 0x80)
		return 1;
	size_t n = 0;
	unsigned char lo = 0x80, hi = 0xBF; // range of the second byte
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		lo = c == 0xE0 ? 0xA0 : 0x80;
		hi = c == 0xED ? 0x9F : 0xBF;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		lo = c == 0xF0 ? 0x90 : 0x80;
		hi = c == 0xF4 ? 0x8F : 0xBF;
	} else {
		return 0;
	}
	if (s.size() < n || b(1) < lo || b(1) > hi)
		return 0;
	for (size_t i = 2; i < n; ++i)
		if (!continuation(b(i)))
			return 0;
	return n;
}

// Appends @p v with @p escape_quote deciding whether '"' is escaped.
void escape_into(std::string &out, std::string_view v, bool escape_quote)
{
	for (size_t i = 0; i < v.size();) {
		const char c = v[i];
		if (c == '\\') {
			out += "\\\\";
		} else if (c == '\n') {
			out += "\\n";
		} else if (c == '"' && escape_quote) {
			out += "\\\"";
		} else if (const size_t n = utf8_sequence(v.substr(i)); n > 0) {
			out.append(v.substr(i, n));
			i += n;
			continue;
		} else {
			out += kReplacement;
		}
		++i;
	}
}

} // namespace

std::string escape_label_value(std::string_view v)
{
	std::string out;
	out.reserve(v.size());
	escape_into(out, v, true);
	return out;
}

std::string escape_help(std::string_view v)
{
	std::string out;
	out.reserve(v.size());
	escape_into(out, v, false);
	return out;
}

std::string format_value(double v)
{
	if (std::isnan(v))
		return "NaN";
	if (std::isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	char buf[64];
	const auto r = std::to_chars(buf, buf + sizeof(buf), v);
	return std::string(buf, r.ptr);
}

void PromText::family(std::string_view name, std::string_view type,
		      std::string_view help)
{
	out_ += "# HELP ";
	out_ += name;
	out_ += ' ';
	escape_into(out_, help, false);
	out_ += "\n# TYPE ";
	out_ += name;
	out_ += ' ';
	out_ += type;
	out_ += '\n';
}

void PromText::series(std::string_view name, Labels labels, Label extra)
{
	out_ += name;
	if (labels.size() == 0 && extra.first.empty())
		return;
	char sep = '{';
	auto put = [&](const Label &l) {
		out_ += sep;
		out_ += l.first;
		out_ += "=\"";
		escape_into(out_, l.second, true);
		out_ += '"';
		sep = ',';
	};
	for (const Label &l : labels)
		put(l);
	if (!extra.first.empty())
		put(extra);
	out_ += '}';
}

void PromText::sample(std::string_view name, Labels labels, uint64_t value)
{
	series(name, labels);
	out_ += ' ';
	out_ += std::to_string(value);
	out_ += '\n';
}

void PromText::sample(std::string_view name, Labels labels, double value)
{
	series(name, labels);
	out_ += ' ';
	out_ += format_value(value);
	out_ += '\n';
}

void PromText::histogram(std::string_view name, Labels labels,
			 std::span<const uint64_t> counts,
			 std::span<const double> bounds, double sum)
{
	const std::string bucket = std::string(name) + "_bucket";
	uint64_t cumulative = 0;
	for (size_t i = 0; i < counts.size(); ++i) {
		cumulative += counts[i];
		const std::string le =
		    i < bounds.size() ? format_value(bounds[i]) : "+Inf";
		series(bucket, labels, {"le", le});
		out_ += ' ';
		out_ += std::to_string(cumulative);
		out_ += '\n';
	}
	sample(std::string(name) + "_sum", labels, sum);
	sample(std::string(name) + "_count", labels, cumulative);
}

} // namespace vaccel::agent
