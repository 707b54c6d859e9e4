#include "common/tokenizer/byte_level.h"

#include <array>

#include "common/tokenizer/unicode_text.h"

namespace tgi::common::tokenizer_impl {
namespace {

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves; the others map, in
// byte order, to U+0100 and up.
struct Tables {
  std::array<std::string, 256> symbol_of_byte;
  std::array<int, 512> byte_of_symbol;  // indexed by code point (all symbols are < U+0144)

  Tables() {
    byte_of_symbol.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const char32_t symbol = printable ? static_cast<char32_t>(b) : next++;
      AppendUtf8(symbol, symbol_of_byte[b]);
      byte_of_symbol[symbol] = b;
    }
  }
};

const Tables& GetTables() {
  static const Tables* tables = new Tables();
  return *tables;
}

}  // namespace

const std::string& ByteToSymbol(unsigned char byte) { return GetTables().symbol_of_byte[byte]; }

void BytesToSymbols(std::string_view bytes, std::string& out) {
  const Tables& tables = GetTables();
  for (char c : bytes) out.append(tables.symbol_of_byte[static_cast<unsigned char>(c)]);
}

std::optional<unsigned char> SymbolToByte(char32_t symbol) {
  if (symbol >= 512) return std::nullopt;
  const int byte = GetTables().byte_of_symbol[symbol];
  if (byte < 0) return std::nullopt;
  return static_cast<unsigned char>(byte);
}

}  // namespace tgi::common::tokenizer_impl
