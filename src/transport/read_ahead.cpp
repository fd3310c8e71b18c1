// SPDX-License-Identifier: Apache-2.0
// Stream's read-ahead: small reads served from one receive, the
// descriptors that came with it kept for the frame they belong to, and a
// wait for bytes that is the receive itself (Stream::receive).
#include "read_ahead.h"
#include "io_util.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <algorithm>

namespace vaccel::transport
{

using detail::after_empty_read;
using detail::read_fds;
using detail::read_some;

namespace
{

// More descriptors than this waiting for their frames: a peer sending them
// without frames to claim them.
constexpr size_t kMaxHeldFds = 4 * kMaxFdsPerRead;

// Whether SO_RCVTIMEO must change from @p set_ms to wait @p want_ms (0:
// no limit). A wait may run late by the slack, so that a deadline that
// moves a little with every call does not cost a system call each time.
bool timeout_moves(int64_t set_ms, int64_t want_ms)
{
	if (set_ms < 0 || (set_ms == 0) != (want_ms == 0))
		return true;
	if (set_ms < want_ms)
		return true;
	return set_ms - want_ms > std::max<int64_t>(5, set_ms / 64);
}

} // namespace

void Stream::set_read_ahead(size_t bytes, bool descriptors)
{
	if (bytes == 0) {
		ahead_.reset();
		return;
	}
	ahead_ = std::make_unique<ReadAhead>();
	ahead_->buf.resize(bytes);
	ahead_->descriptors = descriptors;
}

uint64_t Stream::read_position() const noexcept
{
	return ahead_ != nullptr ? ahead_->position : 0;
}

Status Stream::claim_descriptors(uint64_t begin, uint64_t end,
				 std::vector<UniqueFd> *fds)
{
	if (ahead_ == nullptr)
		return Status::ok();
	auto &held = ahead_->held;
	for (auto it = held.begin(); it != held.end();) {
		const bool stale = it->to <= begin; // closed as they go
		const bool mine = !stale && it->from <= begin && end >= it->to;
		if (mine && fds != nullptr)
			for (auto &fd : it->fds)
				fds->push_back(std::move(fd));
		it = stale || mine ? held.erase(it) : it + 1;
	}
	if (fds != nullptr && fds->size() > kMaxFdsPerRead)
		return Status::error(VACCEL_EIO,
				     "read: %zu descriptors passed (at most "
				     "%zu)",
				     fds->size(), kMaxFdsPerRead);
	return Status::ok();
}

Status Stream::read_ahead(std::span<uint8_t> data, Deadline dl,
			  std::vector<UniqueFd> *fds)
{
	ReadAhead &a = *ahead_;
	if (fds != nullptr && !a.descriptors)
		return Status::error(VACCEL_ENOTSUP,
				     "read: descriptors on a stream that "
				     "reads ahead without them");
	size_t got = a.take(data);
	std::vector<UniqueFd> came;
	while (got < data.size()) {
		if (a.truncated)
			return Status::error(VACCEL_EIO,
					     "read: a control message was cut "
					     "short (descriptors lost)");
		// What is left of a large read goes straight to its place
		// (descriptors with it are that read's); a small one refills
		// the buffer with whatever has arrived.
		const bool direct = data.size() - got >= a.buf.size();
		uint8_t *to = direct ? data.data() + got : a.buf.data();
		const size_t len = direct ? data.size() - got : a.buf.size();
		std::vector<UniqueFd> &sink =
		    direct && fds != nullptr ? *fds : came;
		const ssize_t n =
		    a.descriptors ? read_fds(fd_, to, len, sink, not_socket_)
				  : read_some(fd_, to, len, not_socket_);
		if (n < 0 && errno == EPROTO)
			a.truncated = true;
		if (direct && fds != nullptr && fds->size() > kMaxFdsPerRead)
			return Status::error(VACCEL_EIO,
					     "read: %zu descriptors passed (at "
					     "most %zu)",
					     fds->size(), kMaxFdsPerRead);
		if (n <= 0) {
			if (!a.truncated)
				VACCEL_RETURN_IF_ERROR(after_empty_read(
				    fd_, n, got, data.size(), dl));
		} else if (direct) {
			got += static_cast<size_t>(n);
			a.position += static_cast<uint64_t>(n);
			came.clear(); // mid-frame, and nobody asked: closed
		} else {
			a.filled(static_cast<size_t>(n), std::move(came));
			came.clear();
			if (a.held_count() > kMaxHeldFds)
				return Status::error(
				    VACCEL_EIO,
				    "read: descriptors passed with no "
				    "frame to take them");
			got += a.take(data.subspan(got));
		}
	}
	return Status::ok();
}

bool Stream::can_block()
{
	if (ahead_ == nullptr || tls_ != nullptr || fd_ < 0 || not_socket_)
		return false;
	if (ahead_->is_socket < 0) {
		struct stat st {
		};
		ahead_->is_socket =
		    ::fstat(fd_, &st) == 0 && S_ISSOCK(st.st_mode) ? 1 : 0;
	}
	return ahead_->is_socket == 1;
}

bool Stream::receive(Deadline dl)
{
	ReadAhead &a = *ahead_;
	if (a.buffered() != 0 || a.truncated)
		return true;
	int64_t ms = 0; // no limit
	if (dl) {
		ms = std::chrono::ceil<std::chrono::milliseconds>(*dl -
								  Clock::now())
			 .count();
		// Past the deadline, what has arrived still counts.
		if (ms <= 0)
			return fill(/*wait=*/false);
	}
	if (!a.blocking) {
		// On the shared open file description: anyone holding the fd
		// sees it, which is why every other read and write of a
		// socket passes MSG_DONTWAIT.
		const int fl = ::fcntl(fd_, F_GETFL);
		a.blocking =
		    fl >= 0 && ((fl & O_NONBLOCK) == 0 ||
				::fcntl(fd_, F_SETFL, fl & ~O_NONBLOCK) == 0);
	}
	if (a.blocking && timeout_moves(a.rcvtimeo_ms, ms)) {
		const timeval tv{static_cast<time_t>(ms / 1000),
				 static_cast<suseconds_t>(ms % 1000 * 1000)};
		a.rcvtimeo_ms = ms;
		if (::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv,
				 sizeof(tv)) != 0)
			a.blocking = false;
	}
	if (!a.blocking) {
		// No blocking receive to be had: poll, then read what came.
		if (!detail::wait_fd(fd_, POLLIN, dl, "read"))
			return false; // the deadline (or a hang-up: read tells)
		return fill(/*wait=*/false);
	}
	if (fill(/*wait=*/true))
		return true;
	// An early EAGAIN: the fd was made non-blocking again (it is
	// shared); look at it afresh next time rather than spin.
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		a.blocking = false;
	return false;
}

bool Stream::fill(bool wait)
{
	ReadAhead &a = *ahead_;
	std::vector<UniqueFd> came;
	const ssize_t n =
	    a.descriptors
		? read_fds(fd_, a.buf.data(), a.buf.size(), came, not_socket_,
			   wait)
		: read_some(fd_, a.buf.data(), a.buf.size(), not_socket_, wait);
	if (n > 0) {
		a.filled(static_cast<size_t>(n), std::move(came));
		return true;
	}
	if (n < 0 && errno == EPROTO)
		a.truncated = true;
	// The peer's close or an error is the next read's to report.
	return n == 0 ||
	       !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

} // namespace vaccel::transport
