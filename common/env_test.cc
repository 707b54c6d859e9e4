#include "env.h"
#include "logging.h"

#include <cstdlib>

#include <gtest/gtest.h>

namespace tgi::common {
namespace {

class EnvTest : public ::testing::Test {
 protected:
  void TearDown() override { unsetenv("TGI_ENV_TEST"); }
};

TEST_F(EnvTest, UnsetAndEmptyGiveTheFallback) {
  EXPECT_EQ(*GetEnvInt("TGI_ENV_TEST", 7), 7);
  setenv("TGI_ENV_TEST", "", 1);
  EXPECT_EQ(*GetEnvInt("TGI_ENV_TEST", 7), 7);
  EXPECT_EQ(GetEnvString("TGI_ENV_TEST", "x"), "x");
  EXPECT_EQ(GetEnv("TGI_ENV_TEST"), std::optional<std::string>(""));
}

TEST_F(EnvTest, ParsesNumbers) {
  setenv("TGI_ENV_TEST", "128", 1);
  EXPECT_EQ(*GetEnvInt("TGI_ENV_TEST", 0), 128);
  setenv("TGI_ENV_TEST", "0.25", 1);
  EXPECT_DOUBLE_EQ(*GetEnvDouble("TGI_ENV_TEST", 0), 0.25);
}

TEST_F(EnvTest, BadNumberNamesTheVariable) {
  setenv("TGI_ENV_TEST", "12x", 1);
  absl::StatusOr<int64_t> value = GetEnvInt("TGI_ENV_TEST", 0);
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().message(),
            "environment variable TGI_ENV_TEST=\"12x\" is not an integer");
}

TEST_F(EnvTest, Booleans) {
  for (const char* text : {"true", "TRUE", "1", "yes", "on"}) {
    setenv("TGI_ENV_TEST", text, 1);
    EXPECT_TRUE(*GetEnvBool("TGI_ENV_TEST", false)) << text;
  }
  for (const char* text : {"false", "False", "0", "no", "off"}) {
    setenv("TGI_ENV_TEST", text, 1);
    EXPECT_FALSE(*GetEnvBool("TGI_ENV_TEST", true)) << text;
  }
  setenv("TGI_ENV_TEST", "maybe", 1);
  EXPECT_FALSE(GetEnvBool("TGI_ENV_TEST", true).ok());
}

TEST(LogLevelTest, ReadsTgiStyleFilters) {
  EXPECT_EQ(EffectiveLogLevel("debug", "router", "info"), "debug");
  EXPECT_EQ(EffectiveLogLevel("info,text_generation_router=debug", "router", "warn"), "debug");
  EXPECT_EQ(EffectiveLogLevel("info,text_generation_router=debug", "shard-0", "warn"), "info");
  EXPECT_EQ(EffectiveLogLevel("text_generation_launcher=debug", "launcher", "info"), "debug");
  EXPECT_EQ(EffectiveLogLevel("text_generation_launcher=debug", "router", "info"), "info");
  EXPECT_EQ(EffectiveLogLevel("WARNING", "router", "info"), "warning");
  EXPECT_EQ(EffectiveLogLevel("nonsense", "router", "info"), "info");
}

}  // namespace
}  // namespace tgi::common
