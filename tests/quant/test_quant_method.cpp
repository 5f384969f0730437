// The method table: names, "A+B" combinations, and the error listing the known methods.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "quant/quant_method.h"

namespace lowbit {
namespace {

TEST(QuantMethod, RtnIsThePlainRowQuantizer) {
  const MethodChoice rtn = find_quant_method("rtn");
  EXPECT_EQ(rtn.name, "rtn");
  ASSERT_NE(rtn.rewrite_from, nullptr);
  EXPECT_EQ(rtn.rewrite_from, rtn.quantize_from);
  EXPECT_EQ(rtn.rewrite_from->rewrite, nullptr);
  EXPECT_EQ(rtn.quantize_from->quantize, nullptr);
  EXPECT_FALSE(rtn.needs_stats);
}

TEST(QuantMethod, EveryRowIsFoundByNameAndCombines) {
  for (const QuantMethod& method : all_quant_methods()) {
    const MethodChoice single = find_quant_method(method.name);
    EXPECT_EQ(single.rewrite_from, &method);
    EXPECT_EQ(single.needs_stats, method.needs_stats);
    const MethodChoice pair = find_quant_method(std::string(method.name) + "+rtn");
    EXPECT_EQ(pair.rewrite_from, &method);
    EXPECT_EQ(pair.quantize_from, &all_quant_methods()[0]);
    EXPECT_EQ(pair.needs_stats, method.needs_stats);
    EXPECT_EQ(find_quant_method(std::string("rtn+") + method.name).quantize_from, &method);
  }
}

TEST(QuantMethod, UnknownNamesListTheKnownOnes) {
  for (const char* name : {"", "gtpq", "rtn+", "+rtn", "rtn+rtn+rtn", "RTN"}) {
    try {
      find_quant_method(name);
      ADD_FAILURE() << "accepted '" << name << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("known: rtn"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace lowbit
