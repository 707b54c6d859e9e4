#include "shard/sampling/logits_process.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace tgi::shard {
namespace {

constexpr float kFilterValue = -std::numeric_limits<float>::infinity();
// TopP and TypicalP first look at this many most probable tokens, and 8 times more until the
// answer cannot depend on the rest: the same result as TGI's full sort, usually far cheaper.
constexpr int64_t kFirstCandidates = 256;

// Positions i where active(values[i]).
template <typename T, typename Pred>
std::vector<int64_t> ActiveRows(std::span<const T> values, Pred active) {
  std::vector<int64_t> rows;
  for (size_t i = 0; i < values.size(); ++i) {
    if (active(values[i])) rows.push_back(static_cast<int64_t>(i));
  }
  return rows;
}

at::Tensor IndexTensor(const std::vector<int64_t>& rows, const at::Device& device) {
  return at::tensor(rows, at::TensorOptions().dtype(at::kLong)).to(device);
}

// values[rows[i]] as a column [rows, 1] of dtype on device.
template <typename T>
at::Tensor Column(std::span<const T> values, const std::vector<int64_t>& rows, at::ScalarType dtype,
                  const at::Device& device) {
  std::vector<T> picked;
  picked.reserve(rows.size());
  for (int64_t r : rows) picked.push_back(values[r]);
  return at::tensor(picked).to(device, dtype).unsqueeze(1);
}

// Runs warp(sub_scores [r, vocab], index [r]) on the given rows only, and writes the result back.
template <typename Warp>
at::Tensor ApplyToRows(at::Tensor scores, const std::vector<int64_t>& rows, Warp warp) {
  if (rows.empty()) return scores;
  at::Tensor index = IndexTensor(rows, scores.device());  // [r]
  if (static_cast<int64_t>(rows.size()) == scores.size(0)) return warp(scores, index);
  at::Tensor sub = warp(scores.index_select(0, index), index);  // [r, vocab]
  scores.index_copy_(0, index, sub);
  return scores;
}

// Rows of a per-row tensor aligned with the full scores, restricted to the warped subset.
at::Tensor SelectRows(const at::Tensor& full, const at::Tensor& index, int64_t total_rows) {
  return index.size(0) == total_rows ? full : full.index_select(0, index);
}

// The (row, token) pairs with a nonzero count in counts [r, vocab], as two index tensors [n].
struct SeenEntries {
  at::Tensor rows;
  at::Tensor tokens;
};

SeenEntries FindSeen(const at::Tensor& counts) {
  at::Tensor pairs = counts.nonzero();  // [n, 2]
  return SeenEntries{pairs.select(1, 0), pairs.select(1, 1)};
}

void CheckRows(const at::Tensor& scores, size_t n, const char* what) {
  TORCH_CHECK(scores.dim() == 2, what, ": scores must be [rows, vocab]");
  TORCH_CHECK(scores.size(0) == static_cast<int64_t>(n), what, ": ", n, " parameters for ",
              scores.size(0), " rows");
}

}  // namespace

at::Tensor RepetitionPenalty(at::Tensor scores, const at::Tensor& counts,
                             std::span<const float> penalty) {
  CheckRows(scores, penalty.size(), "RepetitionPenalty");
  std::vector<int64_t> rows = ActiveRows(penalty, [](float p) { return p != 1.0f; });
  const int64_t total = scores.size(0);
  return ApplyToRows(scores, rows, [&](at::Tensor s, const at::Tensor& index) {
    // Histories are short next to the vocabulary: work on the seen (row, token) pairs only.
    SeenEntries seen = FindSeen(SelectRows(counts, index, total));
    at::Tensor p = Column(penalty, rows, s.scalar_type(), s.device())
                       .squeeze(1)
                       .index_select(0, seen.rows);        // [n]
    at::Tensor score = s.index({seen.rows, seen.tokens});  // [n]
    s.index_put_({seen.rows, seen.tokens}, at::where(score < 0, score * p, score / p));
    return s;
  });
}

at::Tensor FrequencyPenalty(at::Tensor scores, const at::Tensor& counts,
                            std::span<const int64_t> seen, std::span<const float> penalty) {
  CheckRows(scores, penalty.size(), "FrequencyPenalty");
  TORCH_CHECK(seen.size() == penalty.size(), "FrequencyPenalty: seen and penalty differ in size");
  std::vector<int64_t> rows;
  for (size_t i = 0; i < penalty.size(); ++i) {
    if (penalty[i] != 0.0f && seen[i] > 0) rows.push_back(static_cast<int64_t>(i));
  }
  const int64_t total = scores.size(0);
  return ApplyToRows(scores, rows, [&](at::Tensor s, const at::Tensor& index) {
    at::Tensor row_counts = SelectRows(counts, index, total);  // [r, vocab]
    SeenEntries entries = FindSeen(row_counts);
    auto per_entry = [&](auto values) {  // [n]
      return Column(values, rows, s.scalar_type(), s.device())
          .squeeze(1)
          .index_select(0, entries.rows);
    };
    at::Tensor frequency =
        row_counts.index({entries.rows, entries.tokens}).to(s.scalar_type()) / per_entry(seen);
    at::Tensor score = s.index({entries.rows, entries.tokens});  // [n]
    s.index_put_({entries.rows, entries.tokens}, score - frequency * per_entry(penalty));
    return s;
  });
}

at::Tensor WatermarkGreenlist(int64_t vocab_size, int64_t previous_token, double gamma) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(
      kWatermarkHashKey * static_cast<uint64_t>(previous_token));
  const auto green_size = static_cast<int64_t>(static_cast<double>(vocab_size) * gamma);
  at::Tensor permutation = at::randperm(vocab_size, generator, at::TensorOptions(at::kLong));
  return permutation.narrow(0, 0, std::clamp<int64_t>(green_size, 0, vocab_size));
}

at::Tensor Watermark(at::Tensor scores, std::span<const int64_t> rows,
                     std::span<const int64_t> previous_tokens, const WatermarkConfig& config) {
  TORCH_CHECK(rows.size() == previous_tokens.size(), "Watermark: rows and tokens differ in size");
  const int64_t vocab = scores.size(1);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (previous_tokens[i] < 0) continue;
    at::Tensor green =
        WatermarkGreenlist(vocab, previous_tokens[i], config.gamma).to(scores.device());  // [n]
    at::Tensor row = scores.select(0, rows[i]);                                           // [vocab]
    row.index_put_({green}, row.index({green}) + config.delta);
  }
  return scores;
}

at::Tensor Temperature(at::Tensor scores, std::span<const float> temperature) {
  CheckRows(scores, temperature.size(), "Temperature");
  std::vector<int64_t> rows = ActiveRows(temperature, [](float t) { return t != 1.0f; });
  return ApplyToRows(scores, rows, [&](at::Tensor s, const at::Tensor&) {
    return s.div_(Column(temperature, rows, s.scalar_type(), s.device()));
  });
}

at::Tensor TopK(at::Tensor scores, std::span<const uint32_t> top_k) {
  CheckRows(scores, top_k.size(), "TopK");
  std::vector<int64_t> rows = ActiveRows(top_k, [](uint32_t k) { return k != 0; });
  const int64_t vocab = scores.size(1);
  return ApplyToRows(scores, rows, [&](at::Tensor s, const at::Tensor&) {
    std::vector<int64_t> kth_index;  // 0-based position of the k-th score, capped at the vocab
    int64_t max_k = 1;
    for (int64_t r : rows) {
      const int64_t k = std::min<int64_t>(top_k[r], vocab);
      kth_index.push_back(k - 1);
      max_k = std::max(max_k, k);
    }
    at::Tensor top = std::get<0>(s.topk(max_k, /*dim=*/1));  // [r, max_k], descending
    at::Tensor kth = top.gather(1, IndexTensor(kth_index, s.device()).unsqueeze(1));  // [r, 1]
    return s.masked_fill_(s < kth, kFilterValue);
  });
}

at::Tensor TopP(at::Tensor scores, std::span<const float> top_p) {
  CheckRows(scores, top_p.size(), "TopP");
  std::vector<int64_t> rows = ActiveRows(top_p, [](float p) { return p < 1.0f; });
  return ApplyToRows(scores, rows, [&](at::Tensor s, const at::Tensor&) {
    const int64_t vocab = s.size(1);
    at::Tensor probs = s.softmax(1);                                             // [r, vocab]
    at::Tensor opposite = 1 - Column(top_p, rows, s.scalar_type(), s.device());  // [r, 1]
    for (int64_t k = std::min(kFirstCandidates, vocab);; k = std::min(k * 8, vocab)) {
      auto [p, ids] = probs.topk(k, /*dim=*/1);  // [r, k], most probable first
      // TGI sorts ascending and removes the tokens whose cumulative probability is <= 1 - top_p.
      // A token's ascending cumulative probability is 1 minus the mass of the tokens above it.
      at::Tensor remove_candidates = (1 - (p.cumsum(1) - p)) <= opposite;  // [r, k]
      remove_candidates.select(1, 0).fill_(false);                         // min_tokens_to_keep
      // Tokens outside the candidates are no more probable than the last one, so once that one
      // goes they all go; otherwise look further.
      if (k < vocab && !remove_candidates.select(1, k - 1).all().item<bool>()) continue;
      at::Tensor remove = at::ones_like(s, at::kBool);  // [r, vocab]
      remove.scatter_(1, ids, remove_candidates);
      return s.masked_fill_(remove, kFilterValue);
    }
  });
}

at::Tensor TypicalP(at::Tensor scores, std::span<const float> typical_p) {
  CheckRows(scores, typical_p.size(), "TypicalP");
  std::vector<int64_t> rows = ActiveRows(typical_p, [](float p) { return p < 1.0f; });
  return ApplyToRows(scores, rows, [&](at::Tensor s, const at::Tensor&) {
    const int64_t vocab = s.size(1);
    at::Tensor log_p = s.log_softmax(1);                                        // [r, vocab]
    at::Tensor entropy = -(log_p * log_p.exp()).nansum({1}, /*keepdim=*/true);  // [r, 1]
    at::Tensor shifted = (-log_p - entropy).abs();                              // [r, vocab]
    at::Tensor mass = Column(typical_p, rows, s.scalar_type(), s.device());     // [r, 1]
    for (int64_t k = std::min(kFirstCandidates, vocab);; k = std::min(k * 8, vocab)) {
      auto [top_log_p, ids] = log_p.topk(k, /*dim=*/1);  // [r, k], most probable first
      auto [sorted_shift, order] =
          shifted.gather(1, ids).sort(/*stable=*/true, /*dim=*/1, /*descending=*/false);
      at::Tensor cumulative = top_log_p.gather(1, order).exp().cumsum(1);  // [r, k]
      // TGI: last = number of sorted positions whose cumulative mass is below typical_p; the
      // tokens shifted no further than the one at `last` are kept.
      at::Tensor last = (cumulative < mass).sum({1}, /*keepdim=*/true);      // [r, 1]
      at::Tensor threshold = sorted_shift.gather(1, last.clamp_max(k - 1));  // [r, 1]
      if (k < vocab) {
        // Outside the candidates -log p >= -top_log_p[k - 1], so shifted >= bound: the answer is
        // proven when the mass was reached and the threshold lies below that bound.
        at::Tensor bound = -top_log_p.narrow(1, k - 1, 1) - entropy;  // [r, 1]
        if (!((last < k) & (threshold < bound)).all().item<bool>()) continue;
      }
      return s.masked_fill_(shifted > threshold, kFilterValue);
    }
  });
}

std::vector<TopTokens> BatchTopTokens(const at::Tensor& logprobs, std::span<const uint32_t> top_n) {
  CheckRows(logprobs, top_n.size(), "BatchTopTokens");
  std::vector<TopTokens> out(top_n.size());
  const int64_t vocab = logprobs.size(1);
  std::vector<int64_t> rows = ActiveRows(top_n, [](uint32_t n) { return n > 0; });
  if (rows.empty()) return out;

  at::Tensor index = IndexTensor(rows, logprobs.device());
  at::Tensor lp = logprobs.index_select(0, index).to(at::kFloat);  // [r, vocab]
  std::vector<int64_t> nth_index;
  int64_t max_n = 1;
  for (int64_t r : rows) {
    const int64_t n = std::min<int64_t>(top_n[r], vocab);
    nth_index.push_back(n - 1);
    max_n = std::max(max_n, n);
  }
  at::Tensor sorted = std::get<0>(lp.topk(max_n, /*dim=*/1));  // [r, max_n]
  at::Tensor nth = sorted.gather(1, IndexTensor(nth_index, lp.device()).unsqueeze(1));  // [r, 1]
  nth.masked_fill_(nth == kFilterValue, std::numeric_limits<float>::lowest());
  at::Tensor counts = (lp >= nth).sum(1).cpu();  // [r]: n plus ties, without -inf tokens
  const int64_t max_count = std::max<int64_t>(1, counts.max().item<int64_t>());
  auto [values, ids] = lp.topk(max_count, /*dim=*/1);  // [r, max_count], descending
  values = values.cpu().contiguous();
  ids = ids.cpu().contiguous();

  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t count = counts[i].item<int64_t>();
    const float* v = values[i].data_ptr<float>();
    const int64_t* id = ids[i].data_ptr<int64_t>();
    TopTokens& top = out[rows[i]];
    top.ids.assign(id, id + count);
    top.logprobs.assign(v, v + count);
  }
  return out;
}

std::vector<float> NextTokenLogprobs(const at::Tensor& logits, std::span<const int32_t> targets) {
  const auto n = static_cast<int64_t>(targets.size());
  TORCH_CHECK(logits.dim() == 2 && logits.size(0) == n,
              "NextTokenLogprobs: logits must be [targets, vocab]");
  std::vector<float> out(targets.size());
  if (n == 0) return out;
  const at::Tensor scores = logits.to(at::kFloat);
  const at::Tensor index =
      at::tensor(std::vector<int64_t>(targets.begin(), targets.end())).to(logits.device()).unsqueeze(1);
  const at::Tensor picked =
      (scores.gather(1, index).squeeze(1) - scores.logsumexp(1)).cpu().contiguous();
  std::copy_n(picked.data_ptr<float>(), n, out.begin());
  return out;
}

std::vector<float> PrefillLogprobs(const at::Tensor& logits, std::span<const int64_t> prompt_ids) {
  const auto length = static_cast<int64_t>(prompt_ids.size());
  TORCH_CHECK(logits.dim() == 2 && logits.size(0) == length,
              "PrefillLogprobs: logits must be [prompt length, vocab]");
  std::vector<float> out(prompt_ids.size(), std::numeric_limits<float>::quiet_NaN());
  if (length < 2) return out;
  const std::vector<int32_t> targets(prompt_ids.begin() + 1, prompt_ids.end());
  const std::vector<float> next = NextTokenLogprobs(logits.narrow(0, 0, length - 1), targets);
  std::copy(next.begin(), next.end(), out.begin() + 1);
  return out;
}

}  // namespace tgi::shard
