// SPDX-License-Identifier: Apache-2.0
#include "reply_queue.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace vaccel::agent
{

std::string_view OutMessage::own(std::string s)
{
	owned_.push_front(std::move(s));
	return owned_.front();
}

void OutMessage::add_frame(const uint8_t header[10],
			   std::initializer_list<std::string_view> pieces)
{
	std::string_view h;
	if (!first_header_used_) {
		std::memcpy(first_header_.data(), header, first_header_.size());
		h = {first_header_.data(), first_header_.size()};
		first_header_used_ = true;
	} else {
		h = own(
		    std::string(reinterpret_cast<const char *>(header), 10));
	}
	if (iov_.empty())
		iov_.reserve(1 + pieces.size());
	iov_.push_back({const_cast<char *>(h.data()), h.size()});
	size_ += h.size();
	for (std::string_view p : pieces) {
		if (p.empty())
			continue;
		iov_.push_back({const_cast<char *>(p.data()), p.size()});
		size_ += p.size();
	}
	left_ = size_;
}

bool OutMessage::consume(size_t n) noexcept
{
	left_ -= n;
	while (n > 0 && at_ < iov_.size()) {
		iovec &v = iov_[at_];
		if (n < v.iov_len) {
			v.iov_base = static_cast<char *>(v.iov_base) + n;
			v.iov_len -= n;
			break;
		}
		n -= v.iov_len;
		++at_;
	}
	return left_ == 0;
}

ReplyQueue::~ReplyQueue()
{
	close();
	if (writer_.joinable()) {
		if (writer_.get_id() == std::this_thread::get_id())
			writer_.detach();
		else
			writer_.join();
	}
}

bool ReplyQueue::push(std::unique_ptr<OutMessage> m)
{
	std::unique_lock lock(mu_);
	if (closed_)
		return false;
	const bool idle = queue_.empty();
	queued_ += m->size();
	queue_.push_back(std::move(m));
	std::string why;
	// With replies already waiting the writer owns the socket: this one
	// goes behind them, in order.
	if (idle && !write_some(&why)) {
		fail(lock, why);
		return false;
	}
	if (queue_.empty())
		return true;
	const size_t behind = queued_ - queue_.front()->left_;
	if (behind > opts_.max_queued) {
		fail(lock, "peer is not reading: " + std::to_string(behind) +
			       " bytes of replies queued (limit " +
			       std::to_string(opts_.max_queued) + ")");
		return false;
	}
	if (!writer_.joinable() && !start_writer(&why)) {
		fail(lock, why);
		return false;
	}
	cv_.notify_one();
	return true;
}

bool ReplyQueue::write_some(std::string *why)
{
	if (stream_.tls() != nullptr)
		return true; // the writer thread's job (write_tls)
	while (!queue_.empty()) {
		OutMessage &m = *queue_.front();
		msghdr msg{};
		msg.msg_iov = m.iov_.data() + m.at_;
		msg.msg_iovlen = std::min<size_t>(m.iov_.size() - m.at_, 64);
		const ssize_t n =
		    ::sendmsg(stream_.fd(), &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			*why = std::string("write: ") + std::strerror(errno);
			return false;
		}
		queued_ -= static_cast<size_t>(n);
		if (m.consume(static_cast<size_t>(n)))
			queue_.pop_front();
	}
	return true;
}

bool ReplyQueue::start_writer(std::string *why)
{
	try {
		writer_ = std::thread([this] { writer_loop(); });
		return true;
	} catch (const std::system_error &e) {
		*why = std::string("cannot start a writer thread: ") + e.what();
		return false;
	}
}

void ReplyQueue::writer_loop()
{
	using Clock = std::chrono::steady_clock;
	std::unique_lock lock(mu_);
	auto progress = Clock::now(); // when the socket last took a byte
	while (!closed_) {
		if (queue_.empty()) {
			cv_.wait(lock,
				 [&] { return closed_ || !queue_.empty(); });
			progress = Clock::now();
			continue;
		}
		if (stream_.tls() != nullptr) {
			if (!write_tls(lock))
				return;
			continue;
		}
		const size_t before = queued_;
		std::string why;
		if (!write_some(&why)) {
			fail(lock, why);
			return;
		}
		const auto now = Clock::now();
		if (queued_ < before)
			progress = now;
		if (queue_.empty())
			continue;
		const bool timed = opts_.write_timeout.count() > 0;
		if (timed && now - progress >= opts_.write_timeout) {
			fail(lock,
			     "peer read nothing for " +
				 std::to_string(opts_.write_timeout.count()) +
				 " ms");
			return;
		}
		// Short waits: close() does not always come with a shutdown
		// that would wake the poll.
		auto wait = std::chrono::milliseconds(200);
		if (timed)
			wait = std::min(
			    wait, std::chrono::ceil<std::chrono::milliseconds>(
				      progress + opts_.write_timeout - now));
		lock.unlock();
		pollfd p{stream_.fd(), POLLOUT, 0};
		(void)::poll(&p, 1, static_cast<int>(wait.count()));
		lock.lock();
	}
}

bool ReplyQueue::write_tls(std::unique_lock<std::mutex> &lock)
{
	// Taken off the queue first: close() may clear it meanwhile.
	std::unique_ptr<OutMessage> m = std::move(queue_.front());
	queue_.pop_front();
	queued_ -= m->left_;
	std::vector<std::span<const uint8_t>> parts;
	for (size_t i = m->at_; i < m->iov_.size(); ++i)
		parts.emplace_back(
		    static_cast<const uint8_t *>(m->iov_[i].iov_base),
		    m->iov_[i].iov_len);
	lock.unlock();
	// The deadline covers the whole message here: TLS hides how much of
	// it the socket has taken.
	const transport::Status st = stream_.write_all(
	    parts, transport::deadline_in(opts_.write_timeout));
	lock.lock();
	if (st)
		return true;
	fail(lock, st.message());
	return false;
}

void ReplyQueue::fail(std::unique_lock<std::mutex> &lock,
		      const std::string &why)
{
	const bool first = !failed_;
	failed_ = true;
	closed_ = true;
	queue_.clear();
	queued_ = 0;
	cv_.notify_all();
	lock.unlock();
	if (first && on_fail_)
		on_fail_(why);
}

void ReplyQueue::close() noexcept
{
	std::lock_guard lock(mu_);
	closed_ = true;
	queue_.clear();
	queued_ = 0;
	cv_.notify_all();
}

void ReplyQueue::join()
{
	if (writer_.joinable() &&
	    writer_.get_id() != std::this_thread::get_id())
		writer_.join();
}

size_t ReplyQueue::queued() const
{
	std::lock_guard lock(mu_);
	return queued_;
}

} // namespace vaccel::agent
