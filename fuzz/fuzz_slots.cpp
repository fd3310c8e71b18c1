// SPDX-License-Identifier: Apache-2.0
// Slots and regions, everything whose numbers a peer chooses:
//  - the "vaccel-reply-slot" metadata value (transport/reply_slot.h,
//    parse_reply_slot): what it accepts formats back to the same text's
//    numbers, and the agent's checks on a named slot (64-byte aligned,
//    larger than its header, inside a mapped region) never let a slot
//    reach outside its region;
//  - a slot's header words as the other side may leave them
//    (ReplySlot::take_request with any request id and length, deliver()
//    and post() of any size): nothing is read or written outside the slot;
//  - the agent's RegionTable (agent/shm.h) under a sequence of MapRegion,
//    set_slots, UnmapRegion and finds with any ids, sizes, slot sizes and
//    descriptors: the regions' count and bytes stay within their limits,
//    the request-slot view always lies inside its (still mapped) region.
// Each region and slot is its own mapping or heap block, so ASan sees any
// access past it.
#include "fuzz_agent.h"

#include "transport/reply_slot.h"

#include <sys/mman.h>

#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace
{

namespace tr = vaccel::transport;
using fuzz::agent::RegionTable;
using fuzz::agent::ShmRegion;

// What Server::find_reply_slot() accepts, on the same checks.
bool usable_slot(RegionTable &t, uint32_t id, uint64_t offset, uint64_t size,
		 std::shared_ptr<ShmRegion> *region)
{
	return offset % tr::kReplySlotHeader == 0 &&
	       size > tr::kReplySlotHeader &&
	       size <= std::numeric_limits<uint32_t>::max() &&
	       t.find(id, region).is_ok() && (*region)->contains(offset, size);
}

void metadata(FuzzedDataProvider &in, RegionTable &t)
{
	const std::string text = in.ConsumeRandomLengthString(48);
	uint32_t id = 0;
	uint64_t offset = 0, size = 0;
	if (!tr::parse_reply_slot(text, &id, &offset, &size))
		return;
	uint32_t id2 = 0;
	uint64_t offset2 = 0, size2 = 0;
	if (!tr::parse_reply_slot(tr::format_reply_slot(id, offset, size), &id2,
				  &offset2, &size2) ||
	    id2 != id || offset2 != offset || size2 != size)
		fuzz::fail("reply slot text does not round-trip");
	std::shared_ptr<ShmRegion> region;
	if (!usable_slot(t, id, offset, size, &region))
		return;
	if (offset + size > region->size())
		fuzz::fail("usable reply slot outside its region");
	// Deliver a reply there, as the agent would.
	const tr::ReplySlot slot(region->data() + offset,
				 static_cast<size_t>(size));
	std::vector<uint8_t> reply(
	    in.ConsumeIntegralInRange<size_t>(0, 2 * size));
	const std::span<const uint8_t> parts[] = {reply};
	(void)slot.deliver(in.ConsumeIntegral<uint32_t>(), parts);
}

// A slot of any size in its own heap block, its header words from the
// input.
void slot_words(FuzzedDataProvider &in)
{
	const size_t size =
	    in.ConsumeIntegralInRange<size_t>(tr::kReplySlotHeader + 1, 4096);
	void *raw = nullptr;
	if (::posix_memalign(&raw, 64, size) != 0)
		fuzz::fail("posix_memalign");
	std::unique_ptr<uint8_t, decltype(&std::free)> mem(
	    static_cast<uint8_t *>(raw), &std::free);
	std::memset(mem.get(), 0, size);
	auto words = in.ConsumeBytes<uint8_t>(tr::kReplySlotHeader);
	if (!words.empty())
		std::memcpy(mem.get(), words.data(), words.size());
	const tr::ReplySlot slot(mem.get(), size);
	uint32_t id = 0;
	std::vector<uint8_t> out;
	if (slot.take_request(&id, &out) &&
	    (id == 0 || out.size() > slot.capacity()))
		fuzz::fail("take_request: a request of id 0 or past the slot");
	std::vector<uint8_t> body(in.ConsumeIntegralInRange<size_t>(0, size));
	const std::span<const uint8_t> parts[] = {body, body};
	uint32_t polling = in.ConsumeIntegral<uint32_t>();
	(void)slot.post(in.ConsumeIntegral<uint32_t>() | 1, parts,
			std::atomic_ref<uint32_t>(polling));
	(void)slot.deliver(in.ConsumeIntegral<uint32_t>(), parts);
	slot.arm(in.ConsumeIntegral<uint32_t>(), in.ConsumeBool());
	(void)slot.disarm(in.ConsumeIntegral<uint32_t>());
}

void check_table(RegionTable &t, const fuzz::agent::RegionLimits &limits)
{
	if (t.size() > limits.max_regions)
		fuzz::fail("more regions than the limit");
	auto s = t.slots();
	if (!s.region)
		return;
	if (s.count == 0 || s.count > tr::kMaxRequestSlots ||
	    s.slot_size <= tr::kReplySlotHeader ||
	    s.count * s.slot_size > s.region->size())
		fuzz::fail("request slots outside their region");
	// Every slot's header and data can be read and written.
	for (size_t i = 0; i < s.count; ++i) {
		const tr::ReplySlot slot(s.region->data() + i * s.slot_size,
					 s.slot_size);
		uint32_t id = 0;
		std::vector<uint8_t> out;
		(void)slot.take_request(&id, &out);
		s.region->data()[(i + 1) * s.slot_size - 1] ^= 1;
	}
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
	vaccel::transport::silence_protobuf_logging();
	return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzedDataProvider in(data, size);
	fuzz::agent::RegionLimits limits;
	limits.max_regions = in.ConsumeIntegralInRange<size_t>(0, 6);
	limits.max_bytes = in.ConsumeBool() ? uint64_t{1} << 20
					    : in.ConsumeIntegral<uint64_t>();
	std::atomic<uint64_t> mapped{0};
	{
		RegionTable t(&mapped, limits);
		std::vector<uint32_t> ids;
		auto id = [&] {
			const auto b = in.ConsumeIntegral<uint8_t>();
			if (!ids.empty() && b < 200)
				return ids[b % ids.size()];
			return b < 250 ? uint32_t{b % 4u}
				       : in.ConsumeIntegral<uint32_t>();
		};
		for (int n = 0; n < 32 && in.remaining_bytes() > 0; ++n) {
			switch (in.ConsumeIntegralInRange<int>(0, 7)) {
			case 0:
			case 1: { // MapRegion
				const uint32_t r = id();
				const size_t real =
				    4096 *
				    in.ConsumeIntegralInRange<size_t>(1, 16);
				auto fds = fuzz::region_fds(in, real);
				const auto how =
				    in.ConsumeIntegralInRange<int>(0, 5);
				const uint64_t announced =
				    how == 0   ? in.ConsumeIntegral<uint64_t>()
				    : how == 1 ? real + 1
				    : how == 2 ? 0
				    : how == 3
					? in.ConsumeIntegralInRange<uint64_t>(
					      1, real)
					: real;
				tr::UniqueFd fd;
				if (!fds.empty())
					fd = std::move(fds.front());
				const bool ok =
				    t.map(r, std::move(fd), announced).is_ok();
				ids.push_back(r);
				std::shared_ptr<ShmRegion> region;
				if (ok && (!t.find(r, &region).is_ok() ||
					   region->size() != announced))
					fuzz::fail("mapped region not found "
						   "at its size");
				if (ok && announced > 0) {
					// All of it is accessible.
					region->data()[0] = 1;
					region->data()[announced - 1] = 1;
				}
				break;
			}
			case 2: { // MapRegion.slot_size
				const uint64_t slot =
				    in.ConsumeBool()
					? 64 * in.ConsumeIntegralInRange<
						   uint64_t>(0, 2048)
					: in.ConsumeIntegral<uint64_t>();
				const uint64_t max_slot =
				    in.ConsumeBool()
					? tr::kDefaultMaxFrame
					: in.ConsumeIntegral<uint64_t>();
				(void)t.set_slots(id(), slot, max_slot);
				break;
			}
			case 3:
				(void)t.unmap(id());
				break;
			case 4:
			case 5:
				metadata(in, t);
				break;
			case 6:
				slot_words(in);
				break;
			default:
				if (in.ConsumeIntegralInRange<int>(0, 7) == 0)
					t.clear();
				break;
			}
			check_table(t, limits);
			if (mapped.load() != t.size())
				fuzz::fail("region counter out of step");
		}
	}
	if (mapped.load() != 0)
		fuzz::fail("regions left counted after the table went");
	return 0;
}
