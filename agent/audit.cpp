// SPDX-License-Identifier: Apache-2.0
#include "audit.h"

#include <atomic>
#include <ctime>
#include <string>

namespace vaccel::agent::audit
{

namespace
{

std::atomic<std::FILE *> g_sink{nullptr};

bool needs_escape(unsigned char c)
{
	return c == '"' || c == '\\' || c < 0x20 || c == 0x7f;
}

void append_json(std::string &out, std::string_view s)
{
	out += '"';
	// Runs of plain bytes go in one append: an audit line is written on
	// every attach, on the launcher's path.
	size_t plain = 0;
	for (size_t i = 0; i < s.size(); ++i) {
		const auto c = static_cast<unsigned char>(s[i]);
		if (!needs_escape(c))
			continue;
		out.append(s.substr(plain, i - plain));
		plain = i + 1;
		if (c == '"' || c == '\\') {
			out += '\\';
			out += static_cast<char>(c);
		} else {
			char buf[8];
			std::snprintf(buf, sizeof(buf), "\\u%04x", c);
			out += buf;
		}
	}
	out.append(s.substr(plain));
	out += '"';
}

void field(std::string &out, const char *key, std::string_view value)
{
	out += ",\"";
	out += key;
	out += "\":";
	append_json(out, value);
}

void emit(std::string &line) noexcept
{
	line += "}\n";
	std::FILE *f = g_sink.load(std::memory_order_relaxed);
	if (f == nullptr)
		f = stderr;
	// One fwrite of the whole line: stdio locks the stream for it.
	std::fwrite(line.data(), 1, line.size(), f);
	std::fflush(f);
}

std::string head(std::string_view kind)
{
	std::string line;
	line.reserve(256);
	line = "{\"audit\":";
	append_json(line, kind);
	line += ",\"time\":" + std::to_string(std::time(nullptr));
	return line;
}

} // namespace

void set_sink(std::FILE *f) noexcept
{
	g_sink.store(f, std::memory_order_relaxed);
}

void refused(std::string_view tenant, uint64_t conn, std::string_view op,
	     std::string_view rule, std::string_view detail) noexcept
{
	try {
		std::string line = head("refused");
		field(line, "tenant", tenant);
		line += ",\"conn\":" + std::to_string(conn);
		field(line, "op", op);
		field(line, "rule", rule);
		field(line, "detail", detail);
		emit(line);
	} catch (...) { // out of memory: the refusal itself still stands
	}
}

void event(std::string_view kind, std::string_view detail) noexcept
{
	try {
		std::string line = head(kind);
		field(line, "detail", detail);
		emit(line);
	} catch (...) {
	}
}

} // namespace vaccel::agent::audit
