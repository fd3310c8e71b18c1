// SPDX-License-Identifier: Apache-2.0
// A stream's read-ahead (Stream::set_read_ahead): small reads served from
// one receive, descriptors handed to the frame they were passed with, and
// the wait for bytes that is the receive itself (Stream::receive).
#include "test_helpers.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <numeric>
#include <thread>

using namespace vaccel::transport;
using namespace vaccel::transport::test;
using namespace std::chrono_literals;

namespace
{

// A memfd holding @p text, to tell descriptors apart once passed.
UniqueFd memfd_with(const std::string &text)
{
	UniqueFd fd(::memfd_create("read-ahead-test", MFD_CLOEXEC));
	EXPECT_TRUE(fd.valid());
	EXPECT_EQ(::pwrite(fd.get(), text.data(), text.size(), 0),
		  static_cast<ssize_t>(text.size()));
	return fd;
}

std::string text_of(const UniqueFd &fd)
{
	char buf[64] = {};
	const ssize_t n = ::pread(fd.get(), buf, sizeof(buf), 0);
	return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// Writes a Request frame of @p payload on stream @p id, passing @p fds.
void send_frame(Stream &s, uint32_t id, const std::string &payload,
		std::span<const int> fds = {})
{
	ASSERT_TRUE(write_frame(s, {0, id, MsgType::Request, 0}, bytes(payload),
				deadline_in(5s), fds));
}

// Reads one frame as the agent does: the header (taking its
// descriptors), then the payload.
std::pair<std::string, std::vector<UniqueFd>> take_frame(Stream &s)
{
	std::vector<UniqueFd> fds;
	auto h = read_header(s, 1u << 20, deadline_in(5s), &fds);
	EXPECT_TRUE(h.is_ok()) << h.status().message();
	if (!h)
		return {};
	std::string payload(h->length, '\0');
	auto st =
	    s.read_exact(std::span(reinterpret_cast<uint8_t *>(payload.data()),
				   payload.size()),
			 deadline_in(5s), &fds);
	EXPECT_TRUE(st) << st.message();
	return {payload, std::move(fds)};
}

} // namespace

// Read-ahead (set_read_ahead): small reads take whatever has arrived in
// one go and later reads are served from it; large ones go straight to
// their place; the bytes and the errors are those of plain reads.
TEST(StreamReadAhead, SmallReadsAreServedFromOneReceive)
{
	auto [a, b] = stream_pair();
	b.set_read_ahead(64);
	ASSERT_TRUE(
	    a.write_all(bytes("headerpayload-and-more"), deadline_in(5s)));
	uint8_t head[6], body[7];
	// An empty read (a frame with no payload) takes nothing.
	EXPECT_TRUE(b.read_exact(std::span<uint8_t>(), deadline_in(5s)));
	ASSERT_TRUE(b.read_exact(head, deadline_in(5s)));
	EXPECT_EQ(std::string_view(reinterpret_cast<char *>(head), 6),
		  "header");
	// The rest came with the first read: no system call needed, and
	// code that polls before reading is told so.
	EXPECT_TRUE(b.pending());
	a.close(); // gone from the socket; still in the buffer
	ASSERT_TRUE(b.read_exact(body, deadline_in(5s)));
	EXPECT_EQ(std::string_view(reinterpret_cast<char *>(body), 7),
		  "payload");
	uint8_t rest[32];
	auto n = b.read_available(rest, deadline_in(5s));
	ASSERT_TRUE(n.is_ok());
	EXPECT_EQ(std::string_view(reinterpret_cast<char *>(rest), *n),
		  "-and-more");
	EXPECT_FALSE(b.pending());
	// Then the peer's close, as without read-ahead.
	uint8_t one[1];
	auto st = b.read_exact(one, deadline_in(5s));
	EXPECT_FALSE(st);
	EXPECT_EQ(st.cause(), Cause::PeerClosed);
}

TEST(StreamReadAhead, LargeReadsAndPartialBuffersKeepEveryByte)
{
	auto [a, b] = stream_pair();
	b.set_read_ahead(16);
	std::vector<uint8_t> sent(1u << 20);
	std::iota(sent.begin(), sent.end(), uint8_t{3});
	std::thread writer(
	    [&, &a = a] { EXPECT_TRUE(a.write_all(sent, deadline_in(10s))); });
	// Reads of many sizes, some below the buffer and some above it,
	// straddling what the buffer holds.
	std::vector<uint8_t> got(sent.size());
	size_t at = 0;
	for (size_t step = 1; at < got.size(); step = step * 3 % 97 + 1) {
		const size_t n = std::min(step * (step % 5 == 0 ? 1000 : 1),
					  got.size() - at);
		auto st = b.read_exact(std::span(got).subspan(at, n),
				       deadline_in(10s));
		ASSERT_TRUE(st) << st.message();
		at += n;
	}
	writer.join();
	EXPECT_EQ(got, sent);
}

TEST(StreamReadAhead, DescriptorsAreRefusedUnlessAskedFor)
{
	auto [a, b] = stream_pair();
	b.set_read_ahead(64);
	ASSERT_TRUE(a.write_all(bytes("x"), deadline_in(5s)));
	uint8_t one[1];
	std::vector<UniqueFd> fds;
	auto st = b.read_exact(one, deadline_in(5s), &fds);
	EXPECT_FALSE(st);
	EXPECT_EQ(st.code(), VACCEL_ENOTSUP);
}

// The frames are all written before the reader looks, so that one receive
// takes several of them: the kernel ends a receive after the write that
// passed descriptors, which makes them the last frame's of that receive.
TEST(StreamReadAhead, DescriptorsGoToTheFrameTheyCameWith)
{
	auto [a, b] = stream_pair();
	b.set_read_ahead(4096, /*descriptors=*/true);
	const UniqueFd one = memfd_with("one"), two = memfd_with("two");
	const int fd_one[] = {one.get()}, fd_two[] = {two.get()};
	send_frame(a, 1, "plain");
	send_frame(a, 3, "carries one", fd_one);
	send_frame(a, 5, "carries two", fd_two);
	send_frame(a, 7, "plain again");
	send_frame(a, 9, "carries one again", fd_one);

	const char *want[][2] = {{"plain", ""},
				 {"carries one", "one"},
				 {"carries two", "two"},
				 {"plain again", ""},
				 {"carries one again", "one"}};
	for (const auto &w : want) {
		auto [payload, fds] = take_frame(b);
		EXPECT_EQ(payload, w[0]);
		if (*w[1] == '\0') {
			EXPECT_TRUE(fds.empty()) << payload;
		} else {
			ASSERT_EQ(fds.size(), 1u) << payload;
			EXPECT_EQ(text_of(fds[0]), w[1]) << payload;
		}
	}
	EXPECT_FALSE(b.pending());
}

// A frame larger than the buffer: its descriptors still come with its
// header, and the payload beyond the buffer goes straight to its place.
TEST(StreamReadAhead, DescriptorsOfAFrameLargerThanTheBuffer)
{
	auto [a, b] = stream_pair();
	b.set_read_ahead(64, /*descriptors=*/true);
	const UniqueFd one = memfd_with("big");
	const int fds[] = {one.get()};
	std::string big(100000, 'x');
	std::iota(big.begin(), big.end(), 'a');
	std::thread writer([&, &a = a] {
		send_frame(a, 1, "small");
		send_frame(a, 3, big, fds);
		send_frame(a, 5, "after");
	});
	auto first = take_frame(b);
	auto second = take_frame(b);
	auto third = take_frame(b);
	writer.join();
	EXPECT_EQ(first.first, "small");
	EXPECT_TRUE(first.second.empty());
	EXPECT_EQ(second.first, big);
	ASSERT_EQ(second.second.size(), 1u);
	EXPECT_EQ(text_of(second.second[0]), "big");
	EXPECT_EQ(third.first, "after");
	EXPECT_TRUE(third.second.empty());
}

TEST(StreamReceive, WaitsForBytesUntilItsDeadline)
{
	auto [a, b] = stream_pair();
	EXPECT_FALSE(b.can_block()); // no read-ahead buffer to receive into
	b.set_read_ahead(64);
	ASSERT_TRUE(b.can_block());
	const auto t0 = Clock::now();
	EXPECT_FALSE(b.receive(deadline_in(60ms)));
	// SO_RCVTIMEO: never early (the kernel rounds up to its tick).
	EXPECT_GE(Clock::now() - t0, 55ms);
	EXPECT_FALSE(b.receive(Clock::now() - 1ms)); // passed already
	std::thread writer([&, &a = a] {
		std::this_thread::sleep_for(20ms);
		EXPECT_TRUE(a.write_all(bytes("late"), deadline_in(5s)));
	});
	EXPECT_TRUE(b.receive(deadline_in(10s)));
	writer.join();
	EXPECT_TRUE(b.pending());
	// Already buffered: no wait at all.
	EXPECT_TRUE(b.receive(deadline_in(0ms)));
	uint8_t got[4];
	ASSERT_TRUE(b.read_exact(got, deadline_in(1s)));
	EXPECT_EQ(std::memcmp(got, "late", 4), 0);
	// The rest of the stream stays non-blocking: a read with a deadline
	// still times out instead of hanging in the now blocking socket.
	auto st = b.read_exact(got, deadline_in(30ms));
	EXPECT_FALSE(st);
	EXPECT_EQ(st.cause(), Cause::TimedOut);
}

TEST(StreamReceive, ThePeersCloseAndShutdownEndTheWait)
{
	auto [a, b] = stream_pair();
	b.set_read_ahead(64);
	ASSERT_TRUE(b.can_block());
	std::thread closer([&, &a = a] {
		std::this_thread::sleep_for(20ms);
		a.close();
	});
	EXPECT_TRUE(b.receive(std::nullopt)); // no deadline at all
	closer.join();
	uint8_t one[1];
	auto st = b.read_exact(one, deadline_in(1s));
	EXPECT_EQ(st.cause(), Cause::PeerClosed);

	// Another thread's shutdown() wakes a receive that waits forever:
	// how the agent and the rpc plugin stop a blocked reader.
	auto [c, d] = stream_pair();
	d.set_read_ahead(64);
	ASSERT_TRUE(d.can_block());
	std::thread stopper([&, &d = d] {
		std::this_thread::sleep_for(20ms);
		d.shutdown();
	});
	EXPECT_TRUE(d.receive(std::nullopt));
	stopper.join();
}

TEST(StreamReceive, OnlySocketsWithoutTlsCanBlock)
{
	int p[2];
	ASSERT_EQ(::pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	Stream rd(p[0]), wr(p[1]);
	rd.set_read_ahead(64);
	// A character device or pipe: shutdown() could not wake it.
	EXPECT_FALSE(rd.can_block());
}

// Descriptors sent in the middle of a frame's payload arrive with a
// receive in which no frame starts: nobody claims them, and they are
// closed when the next frame's header shows they never will be.
TEST(StreamReadAhead, DescriptorsNoFrameClaimsAreClosed)
{
	auto [a, b] = stream_pair();
	b.set_read_ahead(64, /*descriptors=*/true);
	const UniqueFd one = memfd_with("stray");
	const int fds[] = {one.get()};
	// Frame 1: a header announcing 200 bytes, then 100 of them, then
	// the other 100 with a descriptor; frame 3 after it.
	uint8_t head[kFrameHeaderSize];
	encode_header({200, 1, MsgType::Request, 0}, head);
	const std::string half(100, 'p');
	std::span<const uint8_t> first[] = {std::span(head), bytes(half)};
	ASSERT_TRUE(a.write_all(first, deadline_in(5s)));
	std::span<const uint8_t> second[] = {bytes(half)};
	ASSERT_TRUE(a.write_all(second, fds, deadline_in(5s)));
	send_frame(a, 3, "next");
	const auto open_fds = [] {
		size_t n = 0;
		for (const auto &e :
		     std::filesystem::directory_iterator("/proc/self/fd"))
			n += e.path().empty() ? 0 : 1;
		return n;
	};
	const size_t before = open_fds();
	std::vector<UniqueFd> got;
	auto h = read_header(b, 1u << 20, deadline_in(5s), &got);
	ASSERT_TRUE(h.is_ok()) << h.status().message();
	EXPECT_TRUE(got.empty());
	// The payload in small reads: each refill of the buffer lies inside
	// it, and one of them takes the descriptor.
	uint8_t piece[10];
	for (int i = 0; i < 20; ++i)
		ASSERT_TRUE(b.read_exact(piece, deadline_in(5s), &got));
	EXPECT_TRUE(got.empty());
	EXPECT_EQ(open_fds(), before + 1); // held, not yet known stray
	auto [payload, fds3] = take_frame(b);
	EXPECT_EQ(payload, "next");
	EXPECT_TRUE(fds3.empty());
	EXPECT_EQ(open_fds(), before); // closed
}

// The agent's path: the wait is the receive, which takes the frame and
// its descriptors; read_header then hands them over.
TEST(StreamReceive, DescriptorsComeWithTheReceiveThatWaited)
{
	auto [a, b] = stream_pair();
	b.set_read_ahead(4096, /*descriptors=*/true);
	ASSERT_TRUE(b.can_block());
	const UniqueFd one = memfd_with("waited");
	const int fds[] = {one.get()};
	std::thread writer([&, &a = a] {
		std::this_thread::sleep_for(20ms);
		send_frame(a, 1, "plain");
		send_frame(a, 3, "with one", fds);
	});
	ASSERT_TRUE(b.receive(deadline_in(10s)));
	writer.join();
	auto [p1, f1] = take_frame(b);
	EXPECT_EQ(p1, "plain");
	EXPECT_TRUE(f1.empty());
	if (!b.pending()) { // the second frame may have come on its own
		ASSERT_TRUE(b.receive(deadline_in(10s)));
	}
	auto [p2, f2] = take_frame(b);
	EXPECT_EQ(p2, "with one");
	ASSERT_EQ(f2.size(), 1u);
	EXPECT_EQ(text_of(f2[0]), "waited");
}

// A reader that comes late (its deadline already passed) still gets what
// arrived in time, as a poll with no timeout would have said.
TEST(StreamReceive, APassedDeadlineStillTakesWhatArrived)
{
	auto [a, b] = stream_pair();
	b.set_read_ahead(64);
	EXPECT_FALSE(b.receive(Clock::now() - 1s)); // nothing yet
	ASSERT_TRUE(a.write_all(bytes("queued"), deadline_in(5s)));
	EXPECT_TRUE(b.receive(Clock::now() - 1s));
	EXPECT_TRUE(b.pending());
}

// The fd's blocking mode lives on its open file description, which a dup
// or another process may change back: the wait then neither spins nor
// ends before its deadline.
TEST(StreamReceive, AnFdMadeNonBlockingAgainNeitherSpinsNorEndsEarly)
{
	auto [a, b] = stream_pair();
	b.set_read_ahead(64);
	EXPECT_FALSE(b.receive(deadline_in(5ms))); // now blocking
	const int fl = ::fcntl(b.fd(), F_GETFL);
	ASSERT_EQ(::fcntl(b.fd(), F_SETFL, fl | O_NONBLOCK), 0);
	const auto t0 = Clock::now();
	const auto dl = t0 + 80ms;
	int calls = 0;
	while (!b.receive(dl) && Clock::now() < dl)
		++calls;
	EXPECT_GE(Clock::now() - t0, 75ms);
	EXPECT_LE(calls, 5);
}
