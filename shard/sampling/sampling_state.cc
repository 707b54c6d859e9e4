#include "shard/sampling/sampling_state.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "shard/model/kernels/logsumexp.h"

namespace tgi::shard {
namespace {

// libtorch reports errors as exceptions; this module reports them as Status.
template <typename F>
auto CatchTorch(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat(what, ": ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", e.what()));
  }
}

at::Tensor LongTensor(const std::vector<int64_t>& values, const at::Device& device) {
  return at::tensor(values, at::TensorOptions().dtype(at::kLong)).to(device);
}

// A uniform double in [0, 1) from 53 bits of the generator's next 64-bit draw.
double NextUniform(at::Generator& generator) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  return static_cast<double>(generator.get<at::CPUGeneratorImpl>()->random64() >> 11) * 0x1.0p-53;
}

// One draw from the categorical distribution probs [vocab] by inverting its cumulative
// distribution with a single random number from the row's generator.
int64_t DrawToken(const float* probs, int64_t vocab, at::Generator& generator) {
  double total = 0;
  for (int64_t i = 0; i < vocab; ++i) total += probs[i];
  const double target = NextUniform(generator) * total;
  // The first token whose cumulative probability exceeds the target. Tokens of probability 0
  // are skipped; rounding that leaves the target at the very end picks the last possible token.
  double cumulative = 0;
  int64_t last_possible = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    if (probs[i] <= 0) continue;
    cumulative += probs[i];
    last_possible = i;
    if (cumulative > target) return i;
  }
  return last_possible;
}

absl::Status CheckLogits(const at::Tensor& logits, int64_t batch_size, int64_t vocab_size) {
  if (logits.defined() && logits.dim() == 2 && logits.size(0) == batch_size &&
      logits.size(1) == vocab_size) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("logits must be [", batch_size, ", ", vocab_size, "], got [",
                   logits.defined() ? absl::StrJoin(logits.sizes(), ", ") : "undefined", "]"));
}

}  // namespace

SamplingState::SamplingState(int64_t batch_size, int64_t vocab_size, WatermarkConfig watermark,
                             at::Device device)
    : vocab_size_(vocab_size), watermark_(watermark), device_(device), rows_(batch_size) {}

int64_t SamplingState::NumLive() const {
  int64_t n = 0;
  for (const Row& row : rows_) n += row.live ? 1 : 0;
  return n;
}

absl::Status SamplingState::CheckRow(int64_t row) const {
  if (row < 0 || row >= BatchSize()) {
    return absl::OutOfRangeError(absl::StrCat("row ", row, " outside a batch of ", BatchSize()));
  }
  return absl::OkStatus();
}

void SamplingState::EnsureCounts() {
  if (!counts_.defined()) {
    counts_ = at::zeros({BatchSize(), vocab_size_},
                        at::TensorOptions().dtype(at::kFloat).device(device_));  // [batch, vocab]
  }
}

absl::Status SamplingState::SetRow(int64_t row, const SamplingParams& params,
                                   std::span<const int64_t> prompt_ids, uint32_t top_n_tokens) {
  if (absl::Status s = CheckRow(row); !s.ok()) return s;
  for (int64_t id : prompt_ids) {
    if (id < 0 || id >= vocab_size_) {
      return absl::InvalidArgumentError(
          absl::StrCat("prompt token ", id, " outside a vocabulary of ", vocab_size_));
    }
  }
  return CatchTorch("SetRow", [&]() -> absl::Status {
    Row r;
    r.live = true;
    r.params = params;
    r.top_n_tokens = top_n_tokens;
    r.seen = static_cast<int64_t>(prompt_ids.size());
    r.last_token = prompt_ids.empty() ? -1 : prompt_ids.back();
    if (ShouldSample(params)) r.generator = at::make_generator<at::CPUGeneratorImpl>(params.seed);

    if (NeedsHistory(params)) EnsureCounts();
    if (counts_.defined()) {
      at::Tensor counts = counts_.select(0, row);  // [vocab]
      counts.zero_();
      if (NeedsHistory(params) && !prompt_ids.empty()) {
        at::Tensor ids = LongTensor({prompt_ids.begin(), prompt_ids.end()}, device_);
        counts.index_add_(0, ids, at::ones({ids.size(0)}, counts.options()));
      }
    }
    rows_[row] = std::move(r);
    return absl::OkStatus();
  });
}

void SamplingState::ClearRow(int64_t row) {
  rows_.at(row) = Row{};
  if (counts_.defined()) counts_.select(0, row).zero_();
}

absl::Status SamplingState::CopyRowsFrom(const SamplingState& other,
                                         std::span<const int64_t> src_rows,
                                         std::span<const int64_t> dst_rows) {
  if (src_rows.size() != dst_rows.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(src_rows.size(), " source rows for ", dst_rows.size(), " destination rows"));
  }
  if (other.vocab_size_ != vocab_size_) {
    return absl::InvalidArgumentError(
        absl::StrCat("vocabulary ", other.vocab_size_, " copied into ", vocab_size_));
  }
  for (size_t i = 0; i < src_rows.size(); ++i) {
    if (absl::Status s = other.CheckRow(src_rows[i]); !s.ok()) return s;
    if (absl::Status s = CheckRow(dst_rows[i]); !s.ok()) return s;
  }
  return CatchTorch("CopyRowsFrom", [&]() -> absl::Status {
    // Snapshot the sources first so that copies within one state may overlap.
    std::vector<Row> copies;
    copies.reserve(src_rows.size());
    for (int64_t src : src_rows) {
      Row r = other.rows_[src];
      // Each row owns its generator: copy the state, never share it.
      if (r.generator.has_value()) r.generator = r.generator->clone();
      copies.push_back(std::move(r));
    }
    std::vector<int64_t> src(src_rows.begin(), src_rows.end());
    std::vector<int64_t> dst(dst_rows.begin(), dst_rows.end());
    if (other.counts_.defined()) {
      at::Tensor moved = other.counts_.index_select(0, LongTensor(src, other.device_));  // [n, V]
      EnsureCounts();
      counts_.index_copy_(0, LongTensor(dst, device_), moved.to(device_));
    } else if (counts_.defined()) {
      counts_.index_fill_(0, LongTensor(dst, device_), 0.0);
    }
    for (size_t i = 0; i < dst.size(); ++i) rows_[dst[i]] = std::move(copies[i]);
    return absl::OkStatus();
  });
}

absl::Status SamplingState::Resize(int64_t new_batch_size) {
  if (new_batch_size < 0) return absl::InvalidArgumentError("negative batch size");
  for (int64_t row = new_batch_size; row < BatchSize(); ++row) {
    if (rows_[row].live) {
      return absl::FailedPreconditionError(
          absl::StrCat("resizing to ", new_batch_size, " would drop live row ", row));
    }
  }
  return CatchTorch("Resize", [&]() -> absl::Status {
    if (counts_.defined()) {
      at::Tensor grown = at::zeros({new_batch_size, vocab_size_}, counts_.options());  // [new, V]
      const int64_t kept = std::min(new_batch_size, BatchSize());
      grown.narrow(0, 0, kept).copy_(counts_.narrow(0, 0, kept));
      counts_ = grown;
    }
    rows_.resize(new_batch_size);
    return absl::OkStatus();
  });
}

std::vector<int64_t> SamplingState::LiveRows() const {
  std::vector<int64_t> live;
  for (int64_t row = 0; row < BatchSize(); ++row) {
    if (rows_[row].live) live.push_back(row);
  }
  return live;
}

bool SamplingState::AllNeutral(const std::vector<int64_t>& live) const {
  return std::all_of(live.begin(), live.end(), [&](int64_t r) {
    const Row& row = rows_[r];
    return !row.generator.has_value() && !row.params.watermark && !NeedsHistory(row.params) &&
           !HasWarpers(row.params);
  });
}

at::Tensor SamplingState::ProcessLive(const at::Tensor& logits, const std::vector<int64_t>& live,
                                      bool compact) const {
  const auto n = live.size();
  std::vector<int64_t> watermark_rows, previous_tokens, seen(n);
  std::vector<float> repetition(n), frequency(n), temperature(n), top_p(n), typical_p(n);
  std::vector<uint32_t> top_k(n);
  bool history = false;
  for (size_t i = 0; i < n; ++i) {
    const Row& row = rows_[live[i]];
    const SamplingParams& p = row.params;
    if (p.watermark) {
      watermark_rows.push_back(static_cast<int64_t>(i));
      previous_tokens.push_back(row.last_token);
    }
    history = history || NeedsHistory(p);
    seen[i] = row.seen;
    repetition[i] = p.repetition_penalty;
    frequency[i] = p.frequency_penalty;
    temperature[i] = p.temperature;
    top_k[i] = p.top_k;
    top_p[i] = p.top_p;
    typical_p[i] = p.typical_p;
  }

  at::Tensor index = LongTensor(live, device_);
  // index_select (or clone) copies, so the caller's logits are never modified.
  at::Tensor scores = compact ? logits.to(device_, at::kFloat, false, /*copy=*/true)
                              : logits.to(device_).index_select(0, index).to(at::kFloat);
  scores = Watermark(scores, watermark_rows, previous_tokens, watermark_);
  if (history) {
    at::Tensor counts = counts_.index_select(0, index);  // [live, vocab]
    scores = RepetitionPenalty(scores, counts, repetition);
    scores = FrequencyPenalty(scores, counts, seen, frequency);
  }
  scores = Temperature(scores, temperature);
  scores = TopK(scores, top_k);
  scores = TopP(scores, top_p);
  return TypicalP(scores, typical_p);
}

absl::StatusOr<at::Tensor> SamplingState::ProcessLogits(const at::Tensor& logits) const {
  if (absl::Status s = CheckLogits(logits, BatchSize(), vocab_size_); !s.ok()) return s;
  return CatchTorch("ProcessLogits", [&]() -> absl::StatusOr<at::Tensor> {
    at::Tensor out = logits.to(device_, at::kFloat, /*non_blocking=*/false, /*copy=*/true);
    std::vector<int64_t> live = LiveRows();
    if (!live.empty()) out.index_copy_(0, LongTensor(live, device_), ProcessLive(logits, live));
    return out;
  });
}

void SamplingState::Record(const std::vector<int64_t>& live, const std::vector<int64_t>& ids) {
  std::vector<int64_t> history_rows, history_ids;
  for (size_t i = 0; i < live.size(); ++i) {
    Row& row = rows_[live[i]];
    row.seen += 1;
    row.last_token = ids[i];
    if (NeedsHistory(row.params)) {
      history_rows.push_back(live[i]);
      history_ids.push_back(ids[i]);
    }
  }
  if (history_rows.empty()) return;
  at::Tensor rows = LongTensor(history_rows, device_);
  at::Tensor tokens = LongTensor(history_ids, device_);
  counts_.index_put_({rows, tokens}, at::ones({rows.size(0)}, counts_.options()),
                     /*accumulate=*/true);
}

absl::StatusOr<std::vector<ChosenToken>> SamplingState::Choose(const at::Tensor& logits) {
  if (absl::Status s = CheckLogits(logits, BatchSize(), vocab_size_); !s.ok()) return s;
  return CatchTorch("Choose", [&]() -> absl::StatusOr<std::vector<ChosenToken>> {
    std::vector<int64_t> live = LiveRows();
    if (live.empty()) return std::vector<ChosenToken>();
    return ChooseLive(logits.index_select(0, LongTensor(live, logits.device())));
  });
}

absl::StatusOr<std::vector<ChosenToken>> SamplingState::ChooseLive(const at::Tensor& live_logits) {
  return ChooseRows(live_logits, LiveRows());
}

absl::StatusOr<std::vector<ChosenToken>> SamplingState::ChooseRows(
    const at::Tensor& live_logits, std::span<const int64_t> rows) {
  const std::vector<int64_t> live(rows.begin(), rows.end());
  for (size_t i = 0; i < live.size(); ++i) {
    if (live[i] < 0 || live[i] >= BatchSize() || !rows_[live[i]].live ||
        (i > 0 && live[i] <= live[i - 1])) {
      return absl::InvalidArgumentError("ChooseRows: rows must be live and ascending");
    }
  }
  if (absl::Status s = CheckLogits(live_logits, static_cast<int64_t>(live.size()), vocab_size_);
      !s.ok()) {
    return s;
  }
  return CatchTorch("ChooseLive", [&]() -> absl::StatusOr<std::vector<ChosenToken>> {
    std::vector<ChosenToken> out;
    if (live.empty()) return out;
    // [live, vocab] float32 contiguous: the logits themselves when no row processes anything.
    at::Tensor scores = AllNeutral(live) ? live_logits.to(at::kFloat).contiguous()
                                         : ProcessLive(live_logits, live, /*compact=*/true);
    scores = scores.cpu().contiguous();
    const float* data = scores.data_ptr<float>();
    std::vector<kernels::RowStats> stats(live.size());
    std::vector<int64_t> ids(live.size());
    for (size_t i = 0; i < live.size(); ++i) {
      stats[i] = kernels::RowLogSumExp(data + i * vocab_size_, vocab_size_);
      ids[i] = stats[i].argmax;  // greedy rows (and, provisionally, all rows)
    }
    std::vector<int64_t> sampling;  // positions in `live`
    for (size_t i = 0; i < live.size(); ++i) {
      if (rows_[live[i]].generator.has_value()) sampling.push_back(static_cast<int64_t>(i));
    }
    if (!sampling.empty()) {
      at::Tensor probs = scores.index_select(0, LongTensor(sampling, at::kCPU))
                             .softmax(1)
                             .contiguous();  // [s, vocab]
      for (size_t j = 0; j < sampling.size(); ++j) {
        ids[sampling[j]] = DrawToken(probs.data_ptr<float>() + j * vocab_size_, vocab_size_,
                                     *rows_[live[sampling[j]]].generator);
      }
    }
    std::vector<uint32_t> top_n(live.size());
    bool any_top = false;
    for (size_t i = 0; i < live.size(); ++i) {
      top_n[i] = rows_[live[i]].top_n_tokens;
      any_top |= top_n[i] > 0;
    }
    // Top-n on the scores (same order, ties and -inf as on logprobs), shifted to logprobs.
    std::vector<TopTokens> top = any_top ? BatchTopTokens(scores, top_n)
                                         : std::vector<TopTokens>(live.size());
    out.reserve(live.size());
    for (size_t i = 0; i < live.size(); ++i) {
      for (float& logprob : top[i].logprobs) logprob = stats[i].LogProb(logprob);
      out.push_back(ChosenToken{.row = live[i],
                                .id = ids[i],
                                .logprob = stats[i].LogProb(data[i * vocab_size_ + ids[i]]),
                                .top_tokens = std::move(top[i])});
    }
    Record(live, ids);
    return out;
  });
}

}  // namespace tgi::shard
