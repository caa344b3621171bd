"""AWS's hard limits per inference option (aws-facts.md §5): facts, not settings."""

from __future__ import annotations

# Real-time: InvokeEndpoint body up to 6 MB; the container must answer within 60 s.
REAL_TIME_MAX_PAYLOAD_MB = 6.0
INVOCATION_TIMEOUT_S = 60.0

# Serverless: 1024-6144 MB in 1 GB steps, MaxConcurrency 1-200, payload 4 MB, 60 s.
SERVERLESS_MEMORY_STEP_MB = 1024
SERVERLESS_MIN_MEMORY_MB = 1024
SERVERLESS_MAX_MEMORY_MB = 6144
SERVERLESS_MAX_CONCURRENCY = 200
SERVERLESS_MAX_PAYLOAD_MB = 4.0

# Multi-model: one endpoint serving several models from one S3 prefix; with one model it is a
# single-model endpoint.
MULTI_MODEL_MIN_MODELS = 2

# Async: payload up to 1 GB through S3, processing up to one hour.
ASYNC_MAX_PAYLOAD_MB = 1024.0
ASYNC_MAX_PROCESSING_S = 3600.0

MICROSECONDS_PER_MS = 1_000.0
MICROSECONDS_PER_S = 1_000_000.0
MIB_PER_GIB = 1024.0

# Inference Recommender: a Default job completes within 45 minutes, an Advanced one takes two
# hours on average (AWS developer guide, "Recommendation jobs"); it bills the instances it
# launches for that time.
RECOMMENDER_DEFAULT_JOB_HOURS = 0.75
RECOMMENDER_ADVANCED_JOB_HOURS = 2.0
