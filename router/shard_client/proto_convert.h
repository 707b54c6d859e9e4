// Conversions between the ShardClient's plain types and the generate.v2 proto messages. Internal
// to shard_client/: nothing outside this folder may include it (it pulls in generated code).
#pragma once

#include "generate.pb.h"
#include "router/shard_client/shard_client.h"

namespace tgi::router {

void ToProto(const ShardBatch& batch, generate::v2::Batch* out);
void ToProto(const CachedBatch& batch, generate::v2::CachedBatch* out);

ShardInfo FromProto(const generate::v2::InfoResponse& info);
CachedBatch FromProto(const generate::v2::CachedBatch& batch);
ShardGeneration FromProto(const generate::v2::Generation& generation);
ShardStepStats FromProto(const generate::v2::StepStats& stats);
ShardKvUsage FromProto(const generate::v2::KvUsage& usage);

}  // namespace tgi::router
