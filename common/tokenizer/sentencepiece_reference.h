// Test-only: Debian's sentencepiece behind a plain interface, the reference the Llama-2 tokenizer
// test compares against. Its header declares its own `absl::string_view`, which clashes with
// abseil's, so it is included only in sentencepiece_reference.cc. Never linked into the library.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace tgi::common {

class SentencepieceReference {
 public:
  // nullptr when the model cannot be loaded.
  static std::unique_ptr<SentencepieceReference> Load(const std::string& model_path);
  ~SentencepieceReference();

  // Piece ids of `text` (no BOS); false on error.
  bool Encode(const std::string& text, std::vector<int>& ids) const;
  bool Decode(const std::vector<int>& ids, std::string& text) const;

 private:
  SentencepieceReference();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tgi::common
