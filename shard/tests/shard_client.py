"""A small generate.v2 client over a unix socket for the shard's tests.

The messages come from protoc's Python output (generate_pb2); the stubs are plain grpcio
unary-unary calls, so no gRPC code generator is needed.
"""
import grpc

import generate_pb2 as pb

_SERVICE = "/generate.v2.TextGenerationService/"
_METHODS = {
    "Info": (pb.InfoRequest, pb.InfoResponse),
    "ServiceDiscovery": (pb.ServiceDiscoveryRequest, pb.ServiceDiscoveryResponse),
    "ClearCache": (pb.ClearCacheRequest, pb.ClearCacheResponse),
    "FilterBatch": (pb.FilterBatchRequest, pb.FilterBatchResponse),
    "Warmup": (pb.WarmupRequest, pb.WarmupResponse),
    "Prefill": (pb.PrefillRequest, pb.PrefillResponse),
    "Decode": (pb.DecodeRequest, pb.DecodeResponse),
    "Health": (pb.HealthRequest, pb.HealthResponse),
}


class ShardClient:
    def __init__(self, socket_path, timeout=120.0):
        self.channel = grpc.insecure_channel(f"unix://{socket_path}")
        self.timeout = timeout
        for name, (request_type, response_type) in _METHODS.items():
            call = self.channel.unary_unary(
                _SERVICE + name,
                request_serializer=request_type.SerializeToString,
                response_deserializer=response_type.FromString,
            )
            setattr(self, "_" + name, call)

    def close(self):
        self.channel.close()

    def info(self):
        return self._Info(pb.InfoRequest(), timeout=self.timeout)

    def service_discovery(self):
        return self._ServiceDiscovery(pb.ServiceDiscoveryRequest(), timeout=self.timeout)

    def health(self):
        return self._Health(pb.HealthRequest(), timeout=self.timeout)

    def clear_cache(self, batch_id=None):
        request = pb.ClearCacheRequest() if batch_id is None else pb.ClearCacheRequest(id=batch_id)
        return self._ClearCache(request, timeout=self.timeout)

    def filter_batch(self, batch_id, request_ids):
        request = pb.FilterBatchRequest(batch_id=batch_id, request_ids=request_ids)
        return self._FilterBatch(request, timeout=self.timeout).batch

    def warmup(self, batches, max_input_length=0, max_prefill_tokens=0, max_total_tokens=0):
        request = pb.WarmupRequest(batches=batches, max_input_length=max_input_length,
                                   max_prefill_tokens=max_prefill_tokens,
                                   max_total_tokens=max_total_tokens)
        return self._Warmup(request, timeout=self.timeout)

    def prefill(self, batch):
        return self._Prefill(pb.PrefillRequest(batch=batch), timeout=self.timeout)

    def decode(self, batches):
        return self._Decode(pb.DecodeRequest(batches=batches), timeout=self.timeout)


def make_request(request_id, inputs, max_new_tokens=20, truncate=1024, stop=(),
                 ignore_eos=False, prefill_logprobs=False, top_n_tokens=0, **sampling):
    """A generate.v2 Request with the router's neutral sampling values unless overridden."""
    params = dict(temperature=1.0, top_k=0, top_p=1.0, typical_p=1.0, do_sample=False, seed=0,
                  repetition_penalty=1.0, frequency_penalty=0.0, watermark=False)
    params.update(sampling)
    return pb.Request(
        id=request_id,
        inputs=inputs,
        truncate=truncate,
        parameters=pb.NextTokenChooserParameters(**params),
        stopping_parameters=pb.StoppingCriteriaParameters(
            max_new_tokens=max_new_tokens, stop_sequences=list(stop), ignore_eos_token=ignore_eos),
        prefill_logprobs=prefill_logprobs,
        top_n_tokens=top_n_tokens,
    )


def make_batch(batch_id, requests, max_tokens=0):
    return pb.Batch(id=batch_id, requests=requests, size=len(requests), max_tokens=max_tokens)
