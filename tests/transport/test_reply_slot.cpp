// SPDX-License-Identifier: Apache-2.0
// Reply slots (transport/reply_slot.h): the metadata value, the agent's
// delivery decisions, and the handshake between a caller that stops polling
// and an agent delivering at the same moment, which must never lose a
// reply (it may deliver it both ways).
#include "transport/reply_slot.h"
#include "transport/spin.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

namespace
{

namespace tp = vaccel::transport;

std::span<const uint8_t> bytes(const std::string &s)
{
	return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

struct Mem {
	alignas(64) uint8_t data[4096] = {};
	tp::ReplySlot slot() { return {data, sizeof(data)}; }
};

TEST(ReplySlot, MetadataValueRoundTripsAndRejectsTheRest)
{
	const std::string v = tp::format_reply_slot(7, 65536, 4096);
	EXPECT_EQ(v, "7:65536:4096");
	uint32_t region = 0;
	uint64_t offset = 0, size = 0;
	ASSERT_TRUE(tp::parse_reply_slot(v, &region, &offset, &size));
	EXPECT_EQ(region, 7U);
	EXPECT_EQ(offset, 65536U);
	EXPECT_EQ(size, 4096U);
	for (const char *bad : {"", "7", "7:1", "7:1:", "7:1:2:3", "a:1:2",
				"7:-1:2", "7:1:2x", "99999999999:0:64", ":1:2"})
		EXPECT_FALSE(tp::parse_reply_slot(bad, &region, &offset, &size))
		    << bad;
}

TEST(ReplySlot, DeliveredWhileTheCallerPolls)
{
	Mem m;
	const tp::ReplySlot s = m.slot();
	EXPECT_EQ(s.capacity(), 4096U - tp::kReplySlotHeader);
	s.arm(11);
	const std::string a = "head", b = "and payload";
	std::span<const uint8_t> parts[] = {bytes(a), bytes(b)};
	EXPECT_EQ(s.deliver(11, parts), tp::ReplySlot::Delivery::Delivered);
	EXPECT_EQ(s.ready().load(), 11U);
	ASSERT_EQ(s.length().load(), a.size() + b.size());
	EXPECT_EQ(std::string(reinterpret_cast<const char *>(s.reply()),
			      s.length().load()),
		  a + b);
	// Stopping now finds it in the slot.
	EXPECT_TRUE(s.disarm(11));
}

TEST(ReplySlot, SentToTheSocketTooOnceTheCallerStoppedPolling)
{
	Mem m;
	const tp::ReplySlot s = m.slot();
	s.arm(13);
	EXPECT_FALSE(s.disarm(13)); // nothing yet: it will come by socket
	const std::string a = "late";
	std::span<const uint8_t> parts[] = {bytes(a)};
	EXPECT_EQ(s.deliver(13, parts), tp::ReplySlot::Delivery::SendToo);
	// A caller that sleeps first arms without polling: the same.
	s.arm(15, false);
	EXPECT_EQ(s.deliver(15, parts), tp::ReplySlot::Delivery::SendToo);
	// A reply for another call never counts as this one's.
	s.arm(17);
	EXPECT_EQ(s.deliver(19, parts), tp::ReplySlot::Delivery::SendToo);
	EXPECT_FALSE(s.disarm(17));
}

TEST(ReplySlot, TooLargeGoesToTheSocketAndSaysSo)
{
	Mem m;
	const tp::ReplySlot s = m.slot();
	s.arm(21);
	const std::string big(s.capacity() + 1, 'x');
	std::span<const uint8_t> parts[] = {bytes(big)};
	EXPECT_EQ(s.deliver(21, parts), tp::ReplySlot::Delivery::TooLarge);
	EXPECT_EQ(s.socket().load(), 21U);
	EXPECT_EQ(s.ready().load(), 0U);
	// Exactly the capacity fits.
	s.arm(23);
	const std::string fits(s.capacity(), 'y');
	std::span<const uint8_t> ok[] = {bytes(fits)};
	EXPECT_EQ(s.deliver(23, ok), tp::ReplySlot::Delivery::Delivered);
}

// The caller gives up polling at any moment while the agent delivers: in
// every round the reply reaches it, from the slot or from the socket.
TEST(ReplySlot, StoppingWhileTheAgentDeliversNeverLosesTheReply)
{
	Mem m;
	const tp::ReplySlot s = m.slot();
	constexpr uint32_t kRounds = 5000;
	std::atomic<uint32_t> round{0}, delivered{0};
	std::atomic<bool> socket_sent{false};
	const std::string msg = "reply";
	std::thread agent([&] {
		for (uint32_t id = 1; id <= kRounds; ++id) {
			while (round.load() != id)
				std::this_thread::yield();
			std::span<const uint8_t> parts[] = {bytes(msg)};
			socket_sent.store(s.deliver(id, parts) !=
					  tp::ReplySlot::Delivery::Delivered);
			delivered.store(id);
		}
	});
	int from_slot = 0, from_socket = 0;
	for (uint32_t id = 1; id <= kRounds; ++id) {
		s.arm(id);
		round.store(id);
		// Poll a varying while, then stop.
		for (uint32_t i = 0; i < (id * 7919) % 64; ++i)
			tp::cpu_relax();
		bool got = s.ready().load() == id || s.disarm(id);
		while (delivered.load() != id)
			std::this_thread::yield();
		if (got) {
			++from_slot;
		} else {
			// Not in the slot when it stopped: the agent must
			// have sent it on the socket.
			ASSERT_TRUE(socket_sent.load()) << "round " << id;
			++from_socket;
		}
	}
	agent.join();
	EXPECT_EQ(from_slot + from_socket, static_cast<int>(kRounds));
}

// Request slots: a caller posts while the reader raises and lowers its
// flag and takes requests (transport/reply_slot.h). Every request is run
// exactly once: taken by the reader, or sent on the socket by the caller,
// never both and never neither; the bytes taken are the bytes posted.
TEST(ReplySlot, PostedRequestsAreTakenOrSentExactlyOnce)
{
	Mem m;
	const tp::ReplySlot s = m.slot();
	alignas(64) uint32_t polling_word = 0;
	const std::atomic_ref<uint32_t> polling(polling_word);
	// Rounds per batch; more batches (at most kBatches) only while one
	// of the two ways has not happened yet: which way a request takes
	// depends on where the scheduler leaves the reader, and a loaded
	// machine can keep it off the CPU for a whole batch.
	constexpr uint32_t kBatch = 20000, kBatches = 10;
	constexpr uint32_t kRounds = kBatch * kBatches;
	std::atomic<bool> done{false}, started{false};
	// The last request the reader is done with (its "reply").
	std::atomic<uint32_t> replied{0};
	std::vector<uint8_t> taken(kRounds + 1, 0);
	std::atomic<int> bad_bytes{0};
	// The reader: watches a varying while, lowers the flag, looks once
	// more, pauses; again.
	std::thread reader([&] {
		uint32_t cycle = 0;
		const auto take = [&] {
			uint32_t id = 0;
			std::vector<uint8_t> b;
			if (!s.take_request(&id, &b))
				return;
			if (id == 0 || id > kRounds ||
			    b != std::vector<uint8_t>(4 + id % 13,
						      static_cast<uint8_t>(id)))
				++bad_bytes;
			else
				++taken[id];
			replied.store(id);
		};
		while (!done.load()) {
			polling.store(1);
			started.store(true);
			for (uint32_t i = 0; i < 50 + (cycle * 31) % 200; ++i) {
				take();
				tp::cpu_relax();
			}
			polling.store(0);
			take();
			for (uint32_t i = 0; i < (cycle * 17) % 100; ++i)
				tp::cpu_relax();
			++cycle;
		}
		take();
	});
	std::vector<uint8_t> sent(kRounds + 1, 0);
	while (!started.load())
		std::this_thread::yield();
	uint32_t last = 0, via_socket = 0;
	bool slot_used = false;
	while (last < kRounds && (last == 0 || !slot_used || via_socket == 0)) {
		for (uint32_t id = last + 1; id <= last + kBatch; ++id) {
			for (uint32_t i = 0; i < (id * 7919) % 97; ++i)
				tp::cpu_relax(); // anywhere in the reader's
						 // cycle
			const std::vector<uint8_t> msg(
			    4 + id % 13, static_cast<uint8_t>(id));
			std::span<const uint8_t> parts[] = {std::span(msg)};
			if (!s.post(id, parts, polling)) {
				++sent[id]; // "on the socket": slot free again
				++via_socket;
			} else { // the caller's again once the reply is in
				slot_used = true;
				while (replied.load() != id)
					std::this_thread::yield();
			}
		}
		last += kBatch;
	}
	done.store(true);
	reader.join();
	EXPECT_EQ(bad_bytes.load(), 0);
	uint32_t via_slot = 0;
	for (uint32_t id = 1; id <= last; ++id) {
		ASSERT_EQ(taken[id] + sent[id], 1) << "request " << id;
		via_slot += taken[id];
	}
	// Both ways happened (the reader watches about half the time).
	EXPECT_GT(via_slot, 0U);
	EXPECT_GT(via_socket, 0U);
}

// What a reader takes is bounded by the slot, whatever length the caller
// wrote; a stream id of 0 is never a request.
TEST(ReplySlot, TakenRequestsStayInsideTheSlot)
{
	Mem m;
	const tp::ReplySlot s = m.slot();
	s.request_length().store(0xffffffffU);
	s.request().store(9);
	uint32_t id = 0;
	std::vector<uint8_t> b;
	ASSERT_TRUE(s.take_request(&id, &b));
	EXPECT_EQ(id, 9U);
	EXPECT_EQ(b.size(), s.capacity());
	EXPECT_EQ(s.request().load(), 0U);
	EXPECT_FALSE(s.take_request(&id, &b)); // nothing posted
	// Too large to post: the caller sends it on the socket.
	alignas(64) uint32_t up = 1;
	const std::vector<uint8_t> big(s.capacity() + 1, 1);
	std::span<const uint8_t> parts[] = {std::span(big)};
	EXPECT_FALSE(s.post(11, parts, std::atomic_ref<uint32_t>(up)));
	EXPECT_EQ(s.request().load(), 0U);
}

} // namespace
