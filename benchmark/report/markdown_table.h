// A text table in the markdown style of TGI's text-generation-benchmark (Rust `tabled` with
// Style::markdown): `| cell |` rows padded to the widest cell of each column, a `|---|` rule
// under the header and, with vertical merging, a cell equal to the one above it left blank.
// Formatting only; it knows nothing of what the numbers mean.
#pragma once

#include <string>
#include <vector>

namespace tgi::benchmark {

class MarkdownTable {
 public:
  explicit MarkdownTable(std::vector<std::string> header) : header_(std::move(header)) {}

  // A row with as many cells as the header (missing cells are blank, extra ones dropped).
  void AddRow(std::vector<std::string> cells);

  // tabled's Merge::vertical: in every column, a run of equal consecutive body cells shows its
  // text in its first row only.
  void MergeVertically() { merge_vertically_ = true; }

  // The table, one line per row, each ending in '\n'.
  std::string Render() const;

  const std::vector<std::vector<std::string>>& rows() const { return rows_; }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  bool merge_vertically_ = false;
};

// Characters (UTF-8 code points) in `text`: the display width used for padding.
size_t DisplayWidth(const std::string& text);

}  // namespace tgi::benchmark
