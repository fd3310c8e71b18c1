// SPDX-License-Identifier: Apache-2.0
#include "core/op_name.h"

#include <array>

namespace vaccel::core
{

namespace
{

using Name = std::array<char, VACCEL_ENUM_STR_MAX>;

// Every op's name, made once from the enum's own strings (vaccel/op.h).
const std::array<Name, VACCEL_OP_MAX + 1> &names() noexcept
{
	static const auto table = [] {
		std::array<Name, VACCEL_OP_MAX + 1> t{};
		for (int i = 0; i <= VACCEL_OP_MAX; ++i)
			vaccel_op_type_name(static_cast<vaccel_op_type_t>(i),
					    t[i].data(), t[i].size());
		return t;
	}();
	return table;
}

} // namespace

const char *op_name(vaccel_op_type_t op) noexcept
{
	const int i = static_cast<int>(op);
	if (i < 0 || i > VACCEL_OP_MAX)
		return names()[VACCEL_OP_MAX].data();
	return names()[static_cast<size_t>(i)].data();
}

} // namespace vaccel::core
