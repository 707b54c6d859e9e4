// GPT-2's byte-level alphabet: the fixed bijection between the 256 byte values and 256 printable
// code points that byte-level BPE vocabularies are written in. Shared by the ByteLevel
// pre-tokenizer (bytes -> symbols) and decoder (symbols -> bytes). Stateless tables only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tgi::common::tokenizer_impl {

// The UTF-8 encoding of the symbol that stands for `byte`.
const std::string& ByteToSymbol(unsigned char byte);

// Appends the symbols of every byte of `bytes` to `out`.
void BytesToSymbols(std::string_view bytes, std::string& out);

// The byte a symbol code point stands for, if it is one of the 256.
std::optional<unsigned char> SymbolToByte(char32_t symbol);

}  // namespace tgi::common::tokenizer_impl
