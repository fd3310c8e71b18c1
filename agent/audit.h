// SPDX-License-Identifier: Apache-2.0
// The audit trail: one JSON line per refused request and per policy event,
// written whole (never interleaved with another line) to the audit sink,
// standard error unless --audit-log names a file. Lines look like
//   {"audit":"refused","tenant":"uid:1000","conn":3,"op":"Genop/exec",
//    "rule":"tenant.default.exec","detail":"..."}
// and are independent of the log level: an operator always sees them.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string_view>

namespace vaccel::agent::audit
{

// Where lines go from now on (null: standard error). Not owned.
void set_sink(std::FILE *f) noexcept;

void refused(std::string_view tenant, uint64_t conn, std::string_view op,
	     std::string_view rule, std::string_view detail) noexcept;
// Anything else an operator must be able to trace (policy loaded, a
// connection refused before it had a tenant, ...).
void event(std::string_view kind, std::string_view detail) noexcept;

} // namespace vaccel::agent::audit
