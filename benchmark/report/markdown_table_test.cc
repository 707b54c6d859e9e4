#include "benchmark/report/markdown_table.h"

#include <gtest/gtest.h>

namespace tgi::benchmark {
namespace {

TEST(MarkdownTableTest, PadsEveryColumnToItsWidestCell) {
  MarkdownTable table({"Parameter", "Value"});
  table.AddRow({"Model", "bigscience/bloom-560m"});
  table.AddRow({"N Runs", "10"});
  EXPECT_EQ(table.Render(),
            "| Parameter | Value                 |\n"
            "|-----------|-----------------------|\n"
            "| Model     | bigscience/bloom-560m |\n"
            "| N Runs    | 10                    |\n");
}

// tabled's Merge::vertical: a cell equal to the one above shows blank, in every column.
TEST(MarkdownTableTest, VerticalMergeBlanksRepeatedCells) {
  MarkdownTable table({"Step", "Batch Size", "Average"});
  table.AddRow({"Prefill", "1", "1.00 ms"});
  table.AddRow({"Prefill", "2", "1.00 ms"});
  table.AddRow({"Decode", "2", "3.00 ms"});
  table.MergeVertically();
  EXPECT_EQ(table.Render(),
            "| Step    | Batch Size | Average |\n"
            "|---------|------------|---------|\n"
            "| Prefill | 1          | 1.00 ms |\n"
            "|         | 2          |         |\n"
            "| Decode  |            | 3.00 ms |\n");
}

TEST(MarkdownTableTest, WidthCountsCharactersNotBytes) {
  MarkdownTable table({"a"});
  table.AddRow({"×2"});
  EXPECT_EQ(table.Render(), "| a  |\n|----|\n| ×2 |\n");
  EXPECT_EQ(DisplayWidth("×2"), 2u);
}

TEST(MarkdownTableTest, ShortRowsArePaddedWithBlankCells) {
  MarkdownTable table({"a", "b"});
  table.AddRow({"x"});
  EXPECT_EQ(table.Render(), "| a | b |\n|---|---|\n| x |   |\n");
}

}  // namespace
}  // namespace tgi::benchmark
