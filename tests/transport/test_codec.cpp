// SPDX-License-Identifier: Apache-2.0
// The hand-written codecs (transport/codec.h, wire.h) against the generated
// protobuf classes: what one writes the other reads back field for field,
// the writers produce the very bytes SerializeToString() does, and
// damaged messages are refused or read exactly as protobuf reads them.
#include "transport/codec.h"
#include "transport/reply_slot.h"
#include "transport/transport.h"
#include "transport/wire.h"

#include "rpc/ext.pb.h"
#include "rpc/genop.pb.h"
#include "rpc/torch.pb.h"
#include "rpc/ttrpc.pb.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace
{

using namespace vaccel::transport;
namespace rpc = vaccel::rpc;

std::span<const uint8_t> bytes_of(const std::string &s)
{
	return {reinterpret_cast<const uint8_t *>(s.data()), s.size()};
}

std::string str(std::span<const uint8_t> b)
{
	return {reinterpret_cast<const char *>(b.data()), b.size()};
}

class Random
{
public:
	explicit Random(uint32_t seed) : rng_(seed) {}
	int64_t range(int64_t lo, int64_t hi)
	{
		return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
	}
	bool coin() { return range(0, 1) == 1; }
	std::string bytes(size_t max)
	{
		std::string s(static_cast<size_t>(range(0, max)), '\0');
		for (char &c : s)
			c = static_cast<char>(range(0, 255));
		return s;
	}
	// Values of every varint length, negative ones included.
	int64_t any_int64()
	{
		switch (range(0, 3)) {
		case 0:
			return range(0, 127);
		case 1:
			return range(-5, 5);
		case 2:
			return range(INT64_MIN, INT64_MAX);
		default:
			return range(0, 1 << 20);
		}
	}

private:
	std::mt19937 rng_;
};

void random_tensor(Random &r, rpc::torch::Tensor *t)
{
	t->set_data(r.bytes(r.coin() ? 8 : 300));
	const int64_t nd = r.range(0, 5);
	for (int64_t i = 0; i < nd; ++i)
		t->add_dims(r.any_int64());
	t->set_type(static_cast<rpc::torch::DataType>(
	    r.coin() ? r.range(0, 7) : r.range(INT32_MIN, INT32_MAX)));
}

rpc::torch::ModelRunRequest random_run(Random &r)
{
	rpc::torch::ModelRunRequest m;
	m.set_session_id(r.any_int64());
	m.set_model_id(r.any_int64());
	if (r.coin())
		m.set_run_options(r.bytes(20)); // may be empty but present
	const int64_t n = r.range(0, 4);
	for (int64_t i = 0; i < n; ++i)
		random_tensor(r, m.add_in_tensors());
	m.set_nr_out_tensors(static_cast<uint64_t>(r.any_int64()));
	return m;
}

void expect_same(const codec::Tensors &v, const codec::TensorView &t,
		 const rpc::torch::Tensor &p)
{
	EXPECT_EQ(str(t.data), p.data());
	EXPECT_EQ(t.type, static_cast<int32_t>(p.type()));
	const auto dims = v.dims_of(t);
	ASSERT_EQ(dims.size(), static_cast<size_t>(p.dims_size()));
	for (size_t i = 0; i < dims.size(); ++i)
		EXPECT_EQ(dims[i], p.dims(static_cast<int>(i)));
}

void expect_same(const codec::TorchRunView &v,
		 const rpc::torch::ModelRunRequest &p)
{
	EXPECT_EQ(v.session_id, p.session_id());
	EXPECT_EQ(v.model_id, p.model_id());
	EXPECT_EQ(v.has_run_options, p.has_run_options());
	EXPECT_EQ(str(v.run_options), p.run_options());
	EXPECT_EQ(v.nr_out, p.nr_out_tensors());
	ASSERT_EQ(v.in.tensors.size(),
		  static_cast<size_t>(p.in_tensors_size()));
	for (size_t i = 0; i < v.in.tensors.size(); ++i)
		expect_same(v.in, v.in.tensors[i],
			    p.in_tensors(static_cast<int>(i)));
}

// The torch request written field by field with the hand writer.
std::string hand_written(const rpc::torch::ModelRunRequest &m)
{
	std::string out;
	wire::Writer w(&out);
	w.varint_nonzero(codec::kTorchRunSession,
			 static_cast<uint64_t>(m.session_id()));
	w.varint_nonzero(codec::kTorchRunModel,
			 static_cast<uint64_t>(m.model_id()));
	if (m.has_run_options())
		w.bytes(codec::kTorchRunOptions, m.run_options());
	for (const auto &t : m.in_tensors())
		codec::put_torch_tensor(
		    w, codec::kTorchRunInputs, bytes_of(t.data()),
		    {t.dims().data(), static_cast<size_t>(t.dims_size())},
		    t.type());
	w.varint_nonzero(codec::kTorchRunNrOut, m.nr_out_tensors());
	return out;
}

TEST(Wire, VarintsOfEveryLength)
{
	for (int bits = 0; bits <= 64; ++bits) {
		const uint64_t v =
		    bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
		std::string out;
		wire::Writer(&out).raw_varint(v);
		EXPECT_EQ(out.size(), wire::varint_size(v));
		std::span<const uint8_t> in = bytes_of(out);
		uint64_t got = 0;
		ASSERT_TRUE(wire::read_varint(in, &got));
		EXPECT_EQ(got, v);
		EXPECT_TRUE(in.empty());
		// Cut short: never read past the end.
		std::span<const uint8_t> cut =
		    bytes_of(out).first(out.size() - 1);
		EXPECT_FALSE(wire::read_varint(cut, &got));
	}
	// Eleven bytes is more than any varint has.
	const std::string eleven = std::string(10, '\x80') + '\x01';
	std::span<const uint8_t> in = bytes_of(eleven);
	uint64_t v = 0;
	EXPECT_FALSE(wire::read_varint(in, &v));
}

TEST(Wire, ReaderRefusesWhatProtobufRefuses)
{
	const char *bad[] = {
	    "\x00\x01", // field number 0
	    "\x0a\x05"
	    "abc",          // length beyond the message
	    "\x0b",         // start group (wire type 3)
	    "\x0e\x00",     // wire type 6
	    "\x0d\x01\x02", // fixed32 cut short
	    "\x08",         // varint missing
	};
	for (const char *b : bad) {
		const std::string s(b, b == bad[0] ? 2 : std::strlen(b));
		wire::Reader r(bytes_of(s));
		wire::Field f;
		while (r.next(&f)) {
		}
		EXPECT_TRUE(r.failed()) << testing::PrintToString(s);
		rpc::torch::Tensor p;
		EXPECT_FALSE(p.ParseFromString(s)) << testing::PrintToString(s);
	}
}

// Tags and lengths take at most 5 bytes; a tag's bits beyond 32 are dropped.
// Ours and protobuf agree on each of these, whole and inside a tensor.
TEST(Wire, OverlongTagsAndLengthsAsProtobufReadsThem)
{
	using namespace std::string_literals;
	const struct {
		std::string bytes;
		bool ok;
	} cases[] = {
	    {"\x8a\x80\x80\x80\x80\x00\x01"s + "a", false}, // 6-byte tag
	    {"\x8a\x80\x80\x80\x00\x01"s + "a", true},      // 5-byte tag
	    {"\x8a\x80\x80\x80\x10\x01"s + "a", true}, // 5 bytes, wraps to 1
	    {"\x0a\x81\x80\x80\x80\x80\x00"s + "a", false}, // 6-byte length
	    {"\x0a\x81\x80\x80\x80\x00"s + "a", true},      // 5-byte length
	    {"\x0a\x80\x80\x80\x80\x08"s, false},           // length 2^31
	    {"\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s, true},
	    {"\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"s, true},
	    {"\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x80\x01"s, false},
	};
	for (const auto &c : cases) {
		rpc::torch::Tensor p;
		EXPECT_EQ(p.ParseFromString(c.bytes), c.ok)
		    << testing::PrintToString(c.bytes);
		codec::Tensors v;
		std::string outer;
		wire::Writer(&outer).bytes(codec::kTorchResponseOutputs,
					   c.bytes);
		EXPECT_EQ(codec::parse_torch_run_response(bytes_of(outer), &v),
			  c.ok)
		    << testing::PrintToString(c.bytes);
		if (c.ok) {
			ASSERT_EQ(v.tensors.size(), 1u);
			expect_same(v, v.tensors[0], p);
		}
		rpc::ttrpc::Request q;
		codec::RequestView rv;
		EXPECT_EQ(codec::parse_request(bytes_of(c.bytes), &rv),
			  q.ParseFromString(c.bytes))
		    << testing::PrintToString(c.bytes);
	}
}

TEST(Codec, RequestEnvelopeBothWays)
{
	Random r(1);
	for (int round = 0; round < 200; ++round) {
		const std::string service =
		    r.coin() ? "vaccel.AgentService" : "";
		const std::string method = "TorchModelRun" + r.bytes(0);
		const std::string payload = r.bytes(r.coin() ? 0 : 500);
		const int64_t timeout = r.coin() ? 0 : r.any_int64();
		const std::string slot =
		    "3:" + std::to_string(r.range(0, 1000));
		std::vector<codec::KeyValue> md;
		if (r.coin())
			md.push_back({"other", "x"});
		if (r.coin())
			md.push_back({kReplySlotKey, slot});
		if (r.coin())
			md.push_back({"", ""}); // an empty entry is legal

		// Ours, read by protobuf.
		std::string msg;
		codec::put_request_head(&msg, service, method, timeout, md,
					payload.size());
		msg += payload;
		rpc::ttrpc::Request p;
		ASSERT_TRUE(p.ParseFromString(msg));
		EXPECT_EQ(p.service(), service);
		EXPECT_EQ(p.method(), method);
		EXPECT_EQ(p.payload(), payload);
		EXPECT_EQ(p.timeout_nano(), timeout);
		ASSERT_EQ(p.metadata_size(), static_cast<int>(md.size()));
		for (size_t i = 0; i < md.size(); ++i) {
			EXPECT_EQ(p.metadata(static_cast<int>(i)).key(),
				  md[i].key);
			EXPECT_EQ(p.metadata(static_cast<int>(i)).value(),
				  md[i].value);
		}

		// Protobuf's, read by ours.
		const std::string theirs = p.SerializeAsString();
		codec::RequestView v;
		ASSERT_TRUE(codec::parse_request(bytes_of(theirs), &v));
		EXPECT_EQ(v.service, service);
		EXPECT_EQ(v.method, method);
		EXPECT_EQ(str(v.payload), payload);
		EXPECT_EQ(v.timeout_nano, timeout);
		std::string_view got;
		bool has_slot = false;
		for (const auto &kv : md)
			has_slot |= kv.key == kReplySlotKey;
		EXPECT_EQ(v.metadata(kReplySlotKey, &got), has_slot);
		if (has_slot) {
			EXPECT_EQ(got, slot);
		}
		EXPECT_FALSE(v.metadata("missing", &got));
	}
}

// Strings in the envelope are refused exactly when protobuf refuses them.
TEST(Codec, RequestStringsMustBeUtf8AsProtobufSays)
{
	silence_protobuf_logging(); // a line per refused string otherwise
	Random r(7);
	const char *edges[] = {"plain",
			       "\xc3\xa9",
			       "\xe2\x82\xac",
			       "\xf0\x9f\x98\x80",
			       "\xc0\xaf",
			       "\xe0\x80\xaf",
			       "\xed\xa0\x80",
			       "\xf4\x90\x80\x80",
			       "\xc3",
			       "\x80",
			       "\xff",
			       "\xef\xbf\xbf",
			       "\xf4\x8f\xbf\xbf",
			       "\xe0\xa0\x80",
			       "\xed\x9f\xbf"};
	std::vector<std::string> names(std::begin(edges), std::end(edges));
	for (int i = 0; i < 3000; ++i) {
		// Short runs of bytes from the interesting ranges.
		std::string n;
		const int64_t len = r.range(1, 6);
		for (int64_t k = 0; k < len; ++k) {
			static const int64_t lo[] = {0x41, 0x80, 0xc0, 0xe0,
						     0xf0};
			const int64_t b = lo[r.range(0, 4)];
			n += static_cast<char>(r.range(b, b + 0x3f));
		}
		names.push_back(n);
	}
	size_t good = 0, bad = 0;
	for (const std::string &n : names) {
		for (int where = 0; where < 3; ++where) {
			std::string msg;
			wire::Writer w(&msg);
			if (where == 2) {
				std::string kv;
				wire::Writer(&kv).bytes(2, n);
				w.bytes(5, kv); // a metadata value
			} else {
				w.bytes(static_cast<uint32_t>(where + 1), n);
			}
			rpc::ttrpc::Request p;
			codec::RequestView v;
			const bool theirs = p.ParseFromString(msg);
			EXPECT_EQ(codec::parse_request(bytes_of(msg), &v),
				  theirs)
			    << testing::PrintToString(n) << " in field "
			    << where;
			EXPECT_EQ(codec::valid_utf8(n), theirs);
			(theirs ? good : bad) += 1;
		}
	}
	EXPECT_GT(good, 500u);
	EXPECT_GT(bad, 500u);
}

TEST(Codec, FirstMetadataEntryOfAKeyWins)
{
	rpc::ttrpc::Request p;
	p.set_method("M");
	for (const char *v : {"first", "second"}) {
		auto *kv = p.add_metadata();
		kv->set_key("k");
		kv->set_value(v);
	}
	const std::string s = p.SerializeAsString();
	codec::RequestView v;
	ASSERT_TRUE(codec::parse_request(bytes_of(s), &v));
	std::string_view got;
	ASSERT_TRUE(v.metadata("k", &got));
	EXPECT_EQ(got, "first");
}

TEST(Codec, MalformedMetadataRefusesTheRequest)
{
	// A metadata entry whose inner length runs past its own end.
	std::string s;
	wire::Writer w(&s);
	w.bytes(2, std::string_view("M"));
	w.bytes(5, std::string_view("\x0a\x09"
				    "abc",
				    5));
	codec::RequestView v;
	EXPECT_FALSE(codec::parse_request(bytes_of(s), &v));
	rpc::ttrpc::Request p;
	EXPECT_FALSE(p.ParseFromString(s));
}

TEST(Codec, OkResponseHeadIsWhatProtobufWrites)
{
	for (size_t n :
	     {size_t{0}, size_t{1}, size_t{127}, size_t{128}, size_t{70000}}) {
		const std::string payload(n, 'p');
		rpc::ttrpc::Response p;
		p.mutable_status()->set_code(0);
		p.set_payload(payload);
		std::string ours;
		codec::put_ok_response_head(&ours, payload.size());
		ours += payload;
		EXPECT_EQ(ours, p.SerializeAsString()) << n;

		codec::ResponseView v;
		ASSERT_TRUE(codec::parse_response(bytes_of(ours), &v));
		EXPECT_EQ(v.code, 0);
		EXPECT_EQ(str(v.payload), payload);
	}
}

TEST(Codec, ErrorResponseKeepsCodeAndStatus)
{
	rpc::ttrpc::Response p;
	p.mutable_status()->set_code(3);
	p.mutable_status()->set_message("bad input");
	auto *d = p.mutable_status()->add_details();
	d->set_type_url("t");
	d->set_value("v");
	const std::string s = p.SerializeAsString();
	codec::ResponseView v;
	ASSERT_TRUE(codec::parse_response(bytes_of(s), &v));
	EXPECT_EQ(v.code, 3);
	EXPECT_TRUE(v.payload.empty());
	rpc::ttrpc::Status st;
	ASSERT_TRUE(st.ParseFromArray(v.status.data(),
				      static_cast<int>(v.status.size())));
	EXPECT_EQ(st.message(), "bad input");
	EXPECT_EQ(st.details(0).value(), "v");

	// A negative code (an int32 written as ten bytes) survives.
	p.mutable_status()->set_code(-2);
	const std::string n = p.SerializeAsString();
	ASSERT_TRUE(codec::parse_response(bytes_of(n), &v));
	EXPECT_EQ(v.code, -2);
}

TEST(Codec, TorchRunBothWaysAndByteForByte)
{
	Random r(2);
	for (int round = 0; round < 500; ++round) {
		const auto m = random_run(r);
		const std::string theirs = m.SerializeAsString();
		EXPECT_EQ(hand_written(m), theirs) << round;
		codec::TorchRunView v;
		ASSERT_TRUE(codec::parse_torch_run(bytes_of(theirs), &v));
		expect_same(v, m);
	}
}

TEST(Codec, TorchTensorSizeMatchesProtobuf)
{
	Random r(3);
	for (int round = 0; round < 300; ++round) {
		rpc::torch::Tensor t;
		random_tensor(r, &t);
		EXPECT_EQ(
		    codec::torch_tensor_size(
			t.data().size(),
			{t.dims().data(), static_cast<size_t>(t.dims_size())},
			t.type()),
		    t.ByteSizeLong());
	}
}

TEST(Codec, TorchResponseBothWays)
{
	Random r(4);
	for (int round = 0; round < 200; ++round) {
		rpc::torch::ModelRunResponse m;
		const int64_t n = r.range(0, 4);
		for (int64_t i = 0; i < n; ++i) {
			auto *t = m.add_out_tensors();
			if (r.range(0, 4) != 0) // else empty: no output
				random_tensor(r, t);
		}
		std::string ours;
		wire::Writer w(&ours);
		for (const auto &t : m.out_tensors())
			codec::put_torch_tensor(
			    w, codec::kTorchResponseOutputs, bytes_of(t.data()),
			    {t.dims().data(),
			     static_cast<size_t>(t.dims_size())},
			    t.type());
		EXPECT_EQ(ours, m.SerializeAsString());
		codec::Tensors v;
		ASSERT_TRUE(
		    codec::parse_torch_run_response(bytes_of(ours), &v));
		ASSERT_EQ(v.tensors.size(), static_cast<size_t>(n));
		for (int i = 0; i < n; ++i)
			expect_same(v, v.tensors[static_cast<size_t>(i)],
				    m.out_tensors(i));
	}
}

TEST(Codec, UnpackedDimsAndRepeatedFieldsReadAsProtobufReadsThem)
{
	// dims one varint per field, a second data field (the last wins),
	// a field of an unexpected wire type (skipped) and an unknown field.
	std::string s;
	wire::Writer w(&s);
	w.bytes(1, std::string_view("old"));
	w.varint(2, 7);
	w.packed_int64(2, std::vector<int64_t>{-1, 300});
	w.varint(2, 9);
	w.bytes(1, std::string_view("new"));
	w.bytes(3, std::string_view("not a varint"));
	w.varint(99, 5);
	rpc::torch::ModelRunResponse m;
	std::string outer;
	wire::Writer(&outer).bytes(1, s);
	ASSERT_TRUE(m.ParseFromString(outer));
	codec::Tensors v;
	ASSERT_TRUE(codec::parse_torch_run_response(bytes_of(outer), &v));
	ASSERT_EQ(v.tensors.size(), 1u);
	expect_same(v, v.tensors[0], m.out_tensors(0));
	EXPECT_EQ(v.dims_of(v.tensors[0]).size(), 4u);
}

TEST(Codec, ShmTorchRunReadsItsPlaces)
{
	Random r(5);
	for (int round = 0; round < 100; ++round) {
		rpc::ext::ShmTorchRunRequest m;
		const auto run = random_run(r);
		run.SerializeToString(m.mutable_run());
		const int64_t n = r.range(0, 4);
		for (int64_t i = 0; i < n; ++i) {
			auto *d = m.add_data();
			d->set_region(
			    static_cast<uint32_t>(r.range(0, 1 << 30)));
			d->set_offset(static_cast<uint64_t>(r.any_int64()));
			d->set_size(static_cast<uint64_t>(r.any_int64()));
			if (r.coin())
				d->set_buf(r.bytes(5)); // unused, skipped
		}
		const std::string s = m.SerializeAsString();
		std::span<const uint8_t> inner;
		std::vector<codec::ShmPlace> places;
		ASSERT_TRUE(
		    codec::parse_shm_torch_run(bytes_of(s), &inner, &places));
		EXPECT_EQ(str(inner), m.run());
		ASSERT_EQ(places.size(), static_cast<size_t>(n));
		for (int i = 0; i < n; ++i) {
			EXPECT_EQ(places[static_cast<size_t>(i)].region,
				  m.data(i).region());
			EXPECT_EQ(places[static_cast<size_t>(i)].offset,
				  m.data(i).offset());
			EXPECT_EQ(places[static_cast<size_t>(i)].size,
				  m.data(i).size());
		}
	}
}

// Damaged torch messages: every cut and random byte changes. Whatever the
// hand reader accepts, protobuf accepts with the same fields; the two
// disagree at most where protobuf skips a group (which ours refuses).
TEST(Codec, DamagedTorchRunsAreReadAsProtobufReadsThemOrRefused)
{
	Random r(6);
	size_t both = 0, refused = 0, groups = 0;
	for (int round = 0; round < 300; ++round) {
		std::string s = random_run(r).SerializeAsString();
		std::vector<std::string> damaged;
		for (size_t cut = 0; cut < s.size(); cut += 1 + s.size() / 16)
			damaged.push_back(s.substr(0, cut));
		for (int k = 0; k < 8 && !s.empty(); ++k) {
			std::string d = s;
			const int flips = static_cast<int>(r.range(1, 3));
			for (int f = 0; f < flips; ++f)
				d[static_cast<size_t>(r.range(
				    0, static_cast<int64_t>(d.size()) - 1))] =
				    static_cast<char>(r.range(0, 255));
			damaged.push_back(d);
		}
		for (const std::string &d : damaged) {
			codec::TorchRunView v;
			rpc::torch::ModelRunRequest p;
			const bool ours =
			    codec::parse_torch_run(bytes_of(d), &v);
			const bool theirs = p.ParseFromString(d);
			if (ours) {
				ASSERT_TRUE(theirs);
				expect_same(v, p);
				++both;
			} else if (theirs) {
				++groups;
			} else {
				++refused;
			}
		}
	}
	EXPECT_GT(both, 100u);
	EXPECT_GT(refused, 100u);
	// Protobuf's extra acceptances are rare (groups in unknown fields).
	EXPECT_LT(groups, (both + refused) / 20);
}

} // namespace

// A genop Request written by hand (the rpc plugin's calls) is read by the
// generated class as the message it was made from, field for field, and
// takes as many bytes as the generated class would write.
TEST(Codec, GenopRequestFieldForField)
{
	Random r(9);
	const auto u32 = [&r] {
		switch (r.range(0, 2)) {
		case 0:
			return uint32_t{0};
		case 1:
			return static_cast<uint32_t>(r.range(1, 127));
		default:
			return static_cast<uint32_t>(r.range(0, UINT32_MAX));
		}
	};
	for (int round = 0; round < 500; ++round) {
		rpc::genop::Request m;
		m.set_session_id(r.coin() ? r.range(1, 1 << 20)
					  : r.range(0, INT64_MAX));
		std::string ours;
		wire::Writer w(&ours);
		w.varint_nonzero(codec::kGenopSession,
				 static_cast<uint64_t>(m.session_id()));
		for (const uint32_t field :
		     {codec::kGenopReadArgs, codec::kGenopWriteArgs}) {
			const auto n = r.range(0, 4);
			for (int64_t i = 0; i < n; ++i) {
				rpc::genop::Arg *a =
				    field == codec::kGenopReadArgs
					? m.add_read_args()
					: m.add_write_args();
				a->set_buf(r.bytes(r.coin() ? 16 : 400));
				a->set_size(u32());
				// Enum values beyond the known ones too,
				// negative ones included (open enums); bufs
				// come empty now and then (a NULL arg).
				a->set_arg_type(
				    static_cast<rpc::genop::ArgType>(
					r.range(0, 3) == 0
					    ? r.range(INT32_MIN, INT32_MAX)
					    : r.range(0, 29)));
				a->set_custom_type_id(u32());
				const codec::GenopArg g{
				    {reinterpret_cast<const uint8_t *>(
					 a->buf().data()),
				     a->buf().size()},
				    a->size(),
				    static_cast<int32_t>(a->arg_type()),
				    a->custom_type_id()};
				EXPECT_EQ(codec::genop_arg_size(g),
					  a->ByteSizeLong());
				codec::put_genop_arg(w, field, g);
			}
		}
		// Read args first, then write args: the order of the fields.
		EXPECT_EQ(ours.size(), m.ByteSizeLong()) << round;
		rpc::genop::Request back;
		ASSERT_TRUE(back.ParseFromString(ours)) << round;
		EXPECT_EQ(back.SerializeAsString(), m.SerializeAsString())
		    << round;
	}
}
