// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <type_traits>
#include <utility>

namespace vaccel::rpc_plugin
{

// A callable the callee only calls before it returns, passed without a
// copy or an allocation (std::function would allocate for most lambdas).
template <class Sig> class FnRef;
template <class R, class... Args> class FnRef<R(Args...)>
{
public:
	// Implicit, so that a lambda can be passed where one is wanted; never
	// from another FnRef, which would then refer to that FnRef, not to
	// the callable.
	template <class F>
	requires(!std::is_same_v<std::remove_cvref_t<F>, FnRef>) FnRef(F &&f)
	noexcept
	    : obj_(const_cast<void *>(static_cast<const void *>(&f))),
	      call_([](void *o, Args... a) -> R {
		      return (*static_cast<std::remove_reference_t<F> *>(o))(
			  std::forward<Args>(a)...);
	      })
	{
	}
	R operator()(Args... a) const
	{
		return call_(obj_, std::forward<Args>(a)...);
	}

private:
	void *obj_;
	R (*call_)(void *, Args...);
};

} // namespace vaccel::rpc_plugin
