"""What an image and its environment say: GPU, Neuron or CPU build, and which LLM server.

The URIs are the shapes AWS's Deep Learning Containers, Hugging Face, DJL/LMI, vLLM, SGLang and
NVIDIA NIM publish; the advisors and the profiles read these facts from one place.
"""

from __future__ import annotations

import pytest

from ground.domain import ContainerInfo
from ground.images import ImageBuild, LlmServer, image_facts, server_from_environment, workload_of

DLC = "763104351884.dkr.ecr.us-east-1.amazonaws.com"


@pytest.mark.parametrize(("image", "build", "server"), [
    (f"{DLC}/huggingface-pytorch-tgi-inference:2.3.0-tgi2.2.0-gpu-py310-cu121-ubuntu22.04",
     ImageBuild.GPU, LlmServer.TGI),
    (f"{DLC}/huggingface-pytorch-tgi-inference:2.1.2-optimum0.0.25-neuronx-py310-ubuntu22.04",
     ImageBuild.NEURON, LlmServer.TGI),
    (f"{DLC}/djl-inference:0.29.0-lmi11.0.0-cu124", ImageBuild.GPU, LlmServer.LMI),
    (f"{DLC}/djl-inference:0.29.0-tensorrtllm0.11.0-cu124", ImageBuild.GPU,
     LlmServer.TENSORRT_LLM),
    (f"{DLC}/djl-inference:0.29.0-neuronx-sdk2.19.1", ImageBuild.NEURON, None),
    ("ghcr.io/huggingface/text-generation-inference:2.4.0", ImageBuild.GPU, LlmServer.TGI),
    ("vllm/vllm-openai:v0.6.3", ImageBuild.GPU, LlmServer.VLLM),
    ("lmsysorg/sglang:v0.3.5-cu124", ImageBuild.GPU, LlmServer.SGLANG),
    ("nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3.0", ImageBuild.GPU, LlmServer.NIM),
    (f"{DLC}/pytorch-inference:2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker", ImageBuild.GPU,
     None),
    (f"{DLC}/pytorch-inference-neuronx:2.1.2-neuronx-py310-sdk2.20.0-ubuntu20.04",
     ImageBuild.NEURON, None),
    (f"{DLC}/pytorch-inference:2.3.0-cpu-py311-ubuntu20.04-sagemaker", ImageBuild.CPU, None),
    (f"{DLC}/tensorflow-inference:2.13.0-cpu", ImageBuild.CPU, None),
    (f"{DLC}/huggingface-tei:2.0.1-tei1.2.3-gpu-py310-cu122-ubuntu22.04", ImageBuild.GPU, None),
    ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
     ImageBuild.UNKNOWN, None),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-scorer:2026.11.02",
     ImageBuild.UNKNOWN, None),
    # "cpu" inside a longer word is not a build marker; neither is a team named "nimbus".
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/nimbus/cpuless-scorer:1",
     ImageBuild.UNKNOWN, None),
])
def test_build_and_server_from_the_image(image: str, build: ImageBuild,
                                         server: LlmServer | None) -> None:
    facts = image_facts(image)
    assert (facts.build, facts.llm_server) == (build, server)


@pytest.mark.parametrize(("keys", "server"), [
    (("HF_MODEL_ID", "SM_NUM_GPUS", "MAX_TOTAL_TOKENS"), LlmServer.TGI),
    (("OPTION_MAX_MODEL_LEN", "OPTION_ROLLING_BATCH"), LlmServer.LMI),
    (("VLLM_WORKER_MULTIPROC_METHOD",), LlmServer.VLLM),
    (("NIM_CACHE_PATH",), LlmServer.NIM),
    (("HF_MODEL_ID",), LlmServer.UNNAMED),  # TGI and LMI read the model id alone
    (("HF_MODEL_ID", "HF_TASK"), None),  # the inference toolkit: a classifier, an embedder
    (("SAGEMAKER_PROGRAM",), None),
    ((), None),
])
def test_server_from_environment_names(keys: tuple[str, ...], server: LlmServer | None) -> None:
    found = server_from_environment(keys)
    assert (found[0] if found else None) == server


def test_a_variant_is_as_demanding_as_its_most_demanding_container() -> None:
    own = "123456789012.dkr.ecr.us-east-1.amazonaws.com/llm-gateway:7"
    workload = workload_of((
        ContainerInfo(image=f"{DLC}/sklearn-inference:1.2-1-cpu-py3"),
        ContainerInfo(image=own, environment_keys=("OPTION_MAX_MODEL_LEN", "HF_MODEL_ID")),
    ))
    assert workload.llm_server is LlmServer.LMI
    assert workload.llm_evidence == "environment variable OPTION_MAX_MODEL_LEN"
    assert workload.preallocates_gpu_memory
    assert workload.build is ImageBuild.UNKNOWN and not workload.accelerator_build
    assert "djl-lmi" in workload.frameworks
    gpu = workload_of((ContainerInfo(image=f"{DLC}/pytorch-inference:2.3-gpu-py311"),))
    assert gpu.accelerator_build and gpu.llm_server is None
    assert workload_of(()).build is ImageBuild.UNKNOWN
