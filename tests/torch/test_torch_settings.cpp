// SPDX-License-Identifier: Apache-2.0
// Unit tests of the torch plugin's configuration parsing (settings.cpp,
// compiled into this test; no libtorch needed).
#include "settings.h"

#include <gtest/gtest.h>

#include <cstdlib>

using vtorch::DeviceSpec;

namespace
{

class Settings : public ::testing::Test
{
protected:
	void SetUp() override { clear(); }
	void TearDown() override { clear(); }
	static void clear()
	{
		for (const char *v :
		     {"VACCEL_TORCH_IMAGE_SIZE", "VACCEL_TORCH_IMAGE_CHANNELS",
		      "VACCEL_TORCH_IMAGE_MEAN", "VACCEL_TORCH_IMAGE_STD",
		      "VACCEL_TORCH_LABELS", "VACCEL_TORCH_THREADS",
		      "VACCEL_TORCH_TEST_FLAG"})
			unsetenv(v);
	}
};

TEST_F(Settings, Devices)
{
	DeviceSpec d;
	std::string err;
	ASSERT_TRUE(vtorch::parse_device(nullptr, d, err));
	EXPECT_EQ(d.kind, DeviceSpec::Kind::Auto);
	ASSERT_TRUE(vtorch::parse_device(" Auto ", d, err));
	EXPECT_EQ(d.kind, DeviceSpec::Kind::Auto);
	ASSERT_TRUE(vtorch::parse_device("CPU", d, err));
	EXPECT_EQ(d.kind, DeviceSpec::Kind::Cpu);
	ASSERT_TRUE(vtorch::parse_device("cuda", d, err));
	EXPECT_EQ(d.kind, DeviceSpec::Kind::Cuda);
	EXPECT_EQ(d.index, -1);
	ASSERT_TRUE(vtorch::parse_device("cuda:3", d, err));
	EXPECT_EQ(d.kind, DeviceSpec::Kind::Cuda);
	EXPECT_EQ(d.index, 3);
	for (const char *bad : {"tpu", "cuda:", "cuda:-1", "cuda:x", "cuda:1x",
				"cuda:99999", "cpu0"}) {
		err.clear();
		EXPECT_FALSE(vtorch::parse_device(bad, d, err)) << bad;
		EXPECT_NE(err.find(bad), std::string::npos) << err;
	}
}

TEST_F(Settings, ImageDefaultsAreUpstreamImageNet)
{
	vtorch::ImageSettings s;
	std::string err;
	ASSERT_TRUE(vtorch::image_settings({}, s, err)) << err;
	EXPECT_EQ(s.width, 224);
	EXPECT_EQ(s.height, 224);
	EXPECT_EQ(s.channels, 3);
	EXPECT_EQ(s.mean, (std::vector<float>{0.485F, 0.456F, 0.406F}));
	EXPECT_EQ(s.std, (std::vector<float>{0.229F, 0.224F, 0.225F}));

	// Grayscale without mean/std: the averages of the RGB defaults.
	setenv("VACCEL_TORCH_IMAGE_CHANNELS", "1", 1);
	ASSERT_TRUE(vtorch::image_settings({}, s, err)) << err;
	ASSERT_EQ(s.mean.size(), 1U);
	EXPECT_NEAR(s.mean[0], (0.485 + 0.456 + 0.406) / 3, 1e-6);
	ASSERT_EQ(s.std.size(), 1U);
	EXPECT_NEAR(s.std[0], (0.229 + 0.224 + 0.225) / 3, 1e-6);
}

TEST_F(Settings, ImageFromEnvironment)
{
	setenv("VACCEL_TORCH_IMAGE_SIZE", "32x17", 1);
	setenv("VACCEL_TORCH_IMAGE_MEAN", "0.1, 0.2,0.3", 1);
	setenv("VACCEL_TORCH_IMAGE_STD", "2", 1);
	vtorch::ImageSettings s;
	std::string err;
	ASSERT_TRUE(vtorch::image_settings({}, s, err)) << err;
	EXPECT_EQ(s.width, 32);
	EXPECT_EQ(s.height, 17);
	EXPECT_EQ(s.mean, (std::vector<float>{0.1F, 0.2F, 0.3F}));
	EXPECT_EQ(s.std, (std::vector<float>{2.0F, 2.0F, 2.0F}));
}

TEST_F(Settings, ResourceFileWinsOverEnvironment)
{
	setenv("VACCEL_TORCH_IMAGE_SIZE", "64", 1);
	setenv("VACCEL_TORCH_IMAGE_CHANNELS", "3", 1);
	vtorch::KeyValues kv;
	std::string err;
	ASSERT_TRUE(vtorch::parse_config("# Fashion-MNIST\n\n"
					 "IMAGE_SIZE = 28\r\n"
					 "image_channels=1\n"
					 "image_mean = 0.5\n"
					 "  image_std = 0.25  \n",
					 kv, err))
	    << err;
	EXPECT_EQ(kv.at("image_size"), "28");
	vtorch::ImageSettings s;
	ASSERT_TRUE(vtorch::image_settings(kv, s, err)) << err;
	EXPECT_EQ(s.width, 28);
	EXPECT_EQ(s.height, 28);
	EXPECT_EQ(s.channels, 1);
	EXPECT_EQ(s.mean, std::vector<float>{0.5F});
	EXPECT_EQ(s.std, std::vector<float>{0.25F});
}

TEST_F(Settings, MalformedValuesNameTheirSource)
{
	const struct {
		const char *var;
		const char *value;
	} bad[] = {{"VACCEL_TORCH_IMAGE_SIZE", "abc"},
		   {"VACCEL_TORCH_IMAGE_SIZE", "0"},
		   {"VACCEL_TORCH_IMAGE_SIZE", "28x"},
		   {"VACCEL_TORCH_IMAGE_SIZE", "100000"},
		   {"VACCEL_TORCH_IMAGE_CHANNELS", "2"},
		   {"VACCEL_TORCH_IMAGE_CHANNELS", "4"},
		   {"VACCEL_TORCH_IMAGE_MEAN", "0.1,0.2"},
		   {"VACCEL_TORCH_IMAGE_MEAN", "nan"},
		   {"VACCEL_TORCH_IMAGE_STD", "0"},
		   {"VACCEL_TORCH_IMAGE_STD", "1,-1,1"},
		   {"VACCEL_TORCH_IMAGE_STD", "1e99"}};
	for (const auto &b : bad) {
		clear();
		setenv(b.var, b.value, 1);
		vtorch::ImageSettings s;
		std::string err;
		EXPECT_FALSE(vtorch::image_settings({}, s, err))
		    << b.var << "=" << b.value;
		EXPECT_NE(err.find(b.var), std::string::npos) << err;
	}

	vtorch::KeyValues kv{{"image_channels", "7"}};
	vtorch::ImageSettings s;
	std::string err;
	EXPECT_FALSE(vtorch::image_settings(kv, s, err));
	EXPECT_NE(err.find(".cfg"), std::string::npos) << err;
}

TEST_F(Settings, ConfigSyntaxErrors)
{
	vtorch::KeyValues kv;
	std::string err;
	EXPECT_FALSE(vtorch::parse_config("a = 1\nno equals sign\n", kv, err));
	EXPECT_NE(err.find("line 2"), std::string::npos) << err;
	EXPECT_FALSE(vtorch::parse_config(" = 3\n", kv, err));
}

TEST_F(Settings, Labels)
{
	EXPECT_EQ(vtorch::split_labels("a\nb b\r\nc"),
		  (std::vector<std::string>{"a", "b b", "c"}));
	EXPECT_EQ(vtorch::split_labels("a\nb\n"),
		  (std::vector<std::string>{"a", "b"}));
	EXPECT_EQ(vtorch::split_labels("a\n\nc\n"),
		  (std::vector<std::string>{"a", "", "c"}));
	EXPECT_TRUE(vtorch::split_labels("").empty());

	EXPECT_EQ(vtorch::labels_path("/default.txt"), "/default.txt");
	setenv("VACCEL_TORCH_LABELS", "/x/labels.txt", 1);
	EXPECT_EQ(vtorch::labels_path("/default.txt"), "/x/labels.txt");
}

TEST_F(Settings, EnvironmentNumbersAndFlags)
{
	int n = 0;
	std::string err;
	ASSERT_TRUE(
	    vtorch::env_positive_int("VACCEL_TORCH_THREADS", 5, n, err));
	EXPECT_EQ(n, 5);
	setenv("VACCEL_TORCH_THREADS", "3", 1);
	ASSERT_TRUE(
	    vtorch::env_positive_int("VACCEL_TORCH_THREADS", 5, n, err));
	EXPECT_EQ(n, 3);
	for (const char *bad : {"0", "-2", "x", "3.5", "99999"}) {
		setenv("VACCEL_TORCH_THREADS", bad, 1);
		EXPECT_FALSE(
		    vtorch::env_positive_int("VACCEL_TORCH_THREADS", 5, n, err))
		    << bad;
	}

	EXPECT_TRUE(vtorch::env_flag("VACCEL_TORCH_TEST_FLAG", true));
	for (const char *yes : {"1", "true", "YES", "on"}) {
		setenv("VACCEL_TORCH_TEST_FLAG", yes, 1);
		EXPECT_TRUE(vtorch::env_flag("VACCEL_TORCH_TEST_FLAG", false))
		    << yes;
	}
	for (const char *no : {"0", "False", "no", "off"}) {
		setenv("VACCEL_TORCH_TEST_FLAG", no, 1);
		EXPECT_FALSE(vtorch::env_flag("VACCEL_TORCH_TEST_FLAG", true))
		    << no;
	}
	setenv("VACCEL_TORCH_TEST_FLAG", "maybe", 1);
	EXPECT_TRUE(vtorch::env_flag("VACCEL_TORCH_TEST_FLAG", true));
}

} // namespace
