// SPDX-License-Identifier: Apache-2.0
// Reply slots: a caller that polls for its reply can have the agent put the
// reply in shared memory instead of on the socket, so that neither side
// makes a system call for it (docs/protocol.md, "Reply slots").
//
// Why: with both sides polling, most of what the transport adds to a GPU
// model's call was the reply's way back (measured on an H100 host: the
// agent's write 7 us, the caller's poll and two reads 5 us more, about a
// third of the whole overhead).
//
// The caller owns a slot inside a region it mapped on the agent (MapRegion)
// and names it in the request's ttrpc metadata (key kReplySlotKey, value
// "REGION:OFFSET:CAPACITY"). A slot is a 64-byte header then the reply:
//   +0  ready    the agent: the stream id whose reply the slot holds
//   +4  waiting  the caller: the stream id it is polling the slot for
//   +8  socket   the agent: the stream id whose reply went to the socket
//   +12 length   the agent: bytes of the reply (a serialized ttrpc Response)
//   +64 the reply
// The agent writes the reply and its length, stores `ready`, then reads
// `waiting`: when the caller still polls, the reply is delivered; otherwise
// it is sent on the socket as well. The caller that stops polling clears
// `waiting`, then reads `ready`: either it finds the reply, or the agent
// will find `waiting` cleared and send it (both may happen; the socket copy
// is then dropped as a late reply). A reply larger than the slot goes to
// the socket, `socket` telling the polling caller to read it there.
//
// Request slots (feature "request-slots", with reply slots): the request
// can come the same way. The caller maps the slot region with its slot size
// (MapRegion.slot_size), and the agent's reader for that connection, while
// it polls, also watches the slots. Two more header words:
//   +16 request         the caller: the stream id of a request in the slot
//   +20 request_length  the caller: its bytes (a serialized ttrpc Request)
// and one word for the whole region, in the first slot's header:
//   +32 reader_polling  the agent: 1 while its reader watches the slots
// The caller writes the request at +64, its length, then stores `request`
// and reads `reader_polling`: 1, and the reader will find it; 0, and the
// caller takes the request back (compare-and-swap `request` to 0) and sends
// it on the socket, unless the reader took it first. The reader takes a
// request by the same compare-and-swap, copies it out (the bytes are the
// client's: they are parsed from the copy) and runs it like a frame; when
// it stops polling it clears `reader_polling`, then looks once more, so a
// request posted while the caller saw 1 is never left behind.
#pragma once

#include <atomic>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// ThreadSanitizer cannot see the other process: two agent workers that
// write the same slot for successive calls are ordered by the caller
// (it reads the first reply before it sends the request of the second),
// so deliver() tells it so with an acquire and a release on the slot.
#if defined(__SANITIZE_THREAD__)
#define VACCEL_REPLY_SLOT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VACCEL_REPLY_SLOT_TSAN 1
#endif
#endif
#ifdef VACCEL_REPLY_SLOT_TSAN
extern "C" void __tsan_acquire(void *addr);
extern "C" void __tsan_release(void *addr);
#endif

namespace vaccel::transport
{

inline constexpr std::string_view kReplySlotKey = "vaccel-reply-slot";
inline constexpr size_t kReplySlotHeader = 64;
// Slots one region may hold, for the agent's reader to watch.
inline constexpr size_t kMaxRequestSlots = 64;

// The region-wide word of request slots: 1 while the agent's reader
// watches them. @p region: the slot region's (64-byte aligned) base.
inline std::atomic_ref<uint32_t> reader_polling(uint8_t *region) noexcept
{
	return std::atomic_ref<uint32_t>(
	    *reinterpret_cast<uint32_t *>(region + 32));
}

// A slot where it is mapped. Every word is accessed atomically: the other
// side writes them concurrently, from another process.
class ReplySlot
{
public:
	ReplySlot() = default;
	// @p base: 64-byte aligned; @p size: header included.
	ReplySlot(uint8_t *base, size_t size) noexcept
	    : base_(base), size_(size)
	{
	}

	[[nodiscard]] bool valid() const noexcept
	{
		return base_ != nullptr && size_ > kReplySlotHeader;
	}
	[[nodiscard]] size_t capacity() const noexcept
	{
		return size_ - kReplySlotHeader;
	}
	[[nodiscard]] const uint8_t *reply() const noexcept
	{
		return base_ + kReplySlotHeader;
	}

	std::atomic_ref<uint32_t> ready() const noexcept { return word(0); }
	std::atomic_ref<uint32_t> waiting() const noexcept { return word(1); }
	std::atomic_ref<uint32_t> socket() const noexcept { return word(2); }
	std::atomic_ref<uint32_t> length() const noexcept { return word(3); }
	std::atomic_ref<uint32_t> request() const noexcept { return word(4); }
	std::atomic_ref<uint32_t> request_length() const noexcept
	{
		return word(5);
	}

	// The caller: posts request @p id, the concatenation of @p parts, for
	// the reader that @p polling says watches the slots. True when the
	// agent has it (or will take it); false when it is not in the slot
	// (too large, or the reader is not watching): send it on the socket.
	bool post(uint32_t id, std::span<const std::span<const uint8_t>> parts,
		  std::atomic_ref<uint32_t> polling) const noexcept
	{
		const size_t total = size_of(parts);
		if (total > capacity() ||
		    polling.load(std::memory_order_relaxed) == 0)
			return false;
		copy_in(parts);
		request_length().store(static_cast<uint32_t>(total),
				       std::memory_order_relaxed);
		request().store(id, std::memory_order_seq_cst);
		if (polling.load(std::memory_order_seq_cst) != 0)
			return true;
		// Not watched: take it back, unless the reader was quicker.
		uint32_t expected = id;
		return !request().compare_exchange_strong(
		    expected, 0, std::memory_order_seq_cst);
	}

	// The agent's reader: takes the request in the slot, if any, copying
	// its bytes (at most capacity()) into @p out; its stream id into
	// @p id. False when there is none (or it is malformed: an id of 0 is
	// never posted, a length beyond the slot is cut to the slot, which
	// the parser then refuses).
	bool take_request(uint32_t *id, std::vector<uint8_t> *out) const
	{
		// seq_cst, not acquire: the reader's last look after lowering
		// its flag is the read half of the handshake.
		uint32_t posted = request().load(std::memory_order_seq_cst);
		if (posted == 0 || !request().compare_exchange_strong(
				       posted, 0, std::memory_order_seq_cst))
			return false;
#ifdef VACCEL_REPLY_SLOT_TSAN
		// The caller in the other process orders this read after the
		// last reply deliver() wrote here.
		__tsan_acquire(base_);
#endif
		size_t len = request_length().load(std::memory_order_relaxed);
		if (len > capacity())
			len = capacity();
		out->assign(reply(), reply() + len);
		*id = posted;
		return true;
	}

	// The caller, before sending request @p id: it will poll the slot
	// (@p polling), or sleep first and set `waiting` when it starts.
	void arm(uint32_t id, bool polling = true) const noexcept
	{
		ready().store(0, std::memory_order_relaxed);
		socket().store(0, std::memory_order_relaxed);
		waiting().store(polling ? id : 0, std::memory_order_seq_cst);
	}

	// The caller stops polling: true when the reply to @p id is in the
	// slot after all (else the agent sends it on the socket).
	[[nodiscard]] bool disarm(uint32_t id) const noexcept
	{
		waiting().store(0, std::memory_order_seq_cst);
		return ready().load(std::memory_order_seq_cst) == id;
	}

	enum class Delivery {
		Delivered, // the caller polls the slot: nothing else to send
		SendToo,   // in the slot, but the caller may not look: send
		TooLarge,  // not in the slot: send (the caller was told)
	};

	// The agent: puts the reply to @p id, the concatenation of @p parts,
	// in the slot.
	Delivery
	deliver(uint32_t id,
		std::span<const std::span<const uint8_t>> parts) const noexcept
	{
#ifdef VACCEL_REPLY_SLOT_TSAN
		__tsan_acquire(base_);
		struct Release {
			uint8_t *at;
			~Release() { __tsan_release(at); }
		} release{base_};
#endif
		const size_t total = size_of(parts);
		if (total > capacity()) {
			socket().store(id, std::memory_order_release);
			return Delivery::TooLarge;
		}
		copy_in(parts);
		length().store(static_cast<uint32_t>(total),
			       std::memory_order_relaxed);
		ready().store(id, std::memory_order_seq_cst);
		return waiting().load(std::memory_order_seq_cst) == id
			   ? Delivery::Delivered
			   : Delivery::SendToo;
	}

private:
	static size_t
	size_of(std::span<const std::span<const uint8_t>> parts) noexcept
	{
		size_t total = 0;
		for (auto p : parts)
			total += p.size();
		return total;
	}
	// The concatenation of @p parts into the slot's data (a request or a
	// reply; the caller checked that it fits).
	void
	copy_in(std::span<const std::span<const uint8_t>> parts) const noexcept
	{
		uint8_t *at = base_ + kReplySlotHeader;
		for (auto p : parts) {
			if (!p.empty())
				std::memcpy(at, p.data(), p.size());
			at += p.size();
		}
	}

	[[nodiscard]] std::atomic_ref<uint32_t> word(size_t i) const noexcept
	{
		return std::atomic_ref<uint32_t>(
		    *reinterpret_cast<uint32_t *>(base_ + 4 * i));
	}

	uint8_t *base_ = nullptr;
	size_t size_ = 0;
};

// The metadata value naming a slot.
inline std::string format_reply_slot(uint32_t region, uint64_t offset,
				     uint64_t size)
{
	return std::to_string(region) + ":" + std::to_string(offset) + ":" +
	       std::to_string(size);
}

// Parses what format_reply_slot() wrote; false on anything else.
inline bool parse_reply_slot(std::string_view text, uint32_t *region,
			     uint64_t *offset, uint64_t *size)
{
	const char *p = text.data();
	const char *end = text.data() + text.size();
	auto number = [&](auto *out, bool last) {
		auto [next, ec] = std::from_chars(p, end, *out);
		if (ec != std::errc{} || next == p)
			return false;
		p = next;
		if (last)
			return p == end;
		if (p == end || *p != ':')
			return false;
		++p;
		return true;
	};
	return number(region, false) && number(offset, false) &&
	       number(size, true);
}

} // namespace vaccel::transport
