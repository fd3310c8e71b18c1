// SPDX-License-Identifier: Apache-2.0
// Carries a private copy of the transport and its messages, like the rpc
// plugin: encodes a CreateSession response for the test to check.
#include "rpc/session.pb.h"

#include <cstddef>
#include <cstring>

extern "C" __attribute__((visibility("default"))) int
transport_copy_encode(long long session_id, char *out, size_t cap)
{
	vaccel::rpc::session::CreateResponse r;
	r.set_session_id(session_id);
	std::string s = r.SerializeAsString();
	if (s.size() > cap)
		return -1;
	std::memcpy(out, s.data(), s.size());
	return static_cast<int>(s.size());
}
