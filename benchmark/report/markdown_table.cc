#include "benchmark/report/markdown_table.h"

#include <algorithm>

namespace tgi::benchmark {

namespace {

void AppendRow(const std::vector<std::string>& cells, const std::vector<size_t>& widths,
               std::string& out) {
  out += '|';
  for (size_t column = 0; column < widths.size(); ++column) {
    out += ' ';
    out += cells[column];
    out.append(widths[column] - DisplayWidth(cells[column]), ' ');
    out += " |";
  }
  out += '\n';
}

}  // namespace

size_t DisplayWidth(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

void MarkdownTable::AddRow(std::vector<std::string> cells) {
  cells.resize(header_.size());
  rows_.push_back(std::move(cells));
}

std::string MarkdownTable::Render() const {
  std::vector<std::vector<std::string>> shown = rows_;
  if (merge_vertically_) {
    for (size_t column = 0; column < header_.size(); ++column) {
      for (size_t row = shown.size(); row-- > 1;) {
        if (rows_[row][column] == rows_[row - 1][column]) shown[row][column].clear();
      }
    }
  }
  std::vector<size_t> widths(header_.size());
  for (size_t column = 0; column < header_.size(); ++column) {
    widths[column] = DisplayWidth(header_[column]);
    for (const std::vector<std::string>& row : shown) {
      widths[column] = std::max(widths[column], DisplayWidth(row[column]));
    }
  }
  std::string out;
  AppendRow(header_, widths, out);
  out += '|';
  for (size_t width : widths) {
    out.append(width + 2, '-');
    out += '|';
  }
  out += '\n';
  for (const std::vector<std::string>& row : shown) AppendRow(row, widths, out);
  return out;
}

}  // namespace tgi::benchmark
