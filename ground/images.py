"""What a model's containers say about it: framework, image origin, what hardware the image is
built for, and whether it is an LLM server. One reading that the advisors and the profiles share.

The registry accounts are AWS's published image registries (SageMaker Python SDK,
`image_uri_config/*.json`): the Deep Learning Containers account 763104351884 and its opt-in-region
and partition siblings, and the per-region accounts of the SageMaker algorithm images (XGBoost,
scikit-learn, built-in algorithms). An image elsewhere is the customer's own.

The build (GPU, Neuron, CPU) and the LLM server come from the image tag and repository words AWS
and the server projects use (`-gpu`, `cu121`, `neuronx`, `tgi2.2.0`, `lmi11.0.0`,
`tensorrtllm0.11.0`, `vllm`, `sglang`, `nim`) and from the environment variable names the servers
read (only names are collected, never values).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from ground.domain import ContainerInfo


class ContainerSource(StrEnum):
    AWS_PREBUILT = "aws-prebuilt"  # AWS Deep Learning Container or SageMaker algorithm image
    OWN_IMAGE = "own-image"  # an image in the account's own (or another account's) ECR
    THIRD_PARTY_REGISTRY = "third-party-registry"  # private Docker registry reached over the VPC


class ImageBuild(StrEnum):
    """What hardware the container image is built for: a model moves only where it runs."""

    GPU = "gpu"  # CUDA build (-gpu, cuXYZ, TensorRT, GPU-only LLM servers)
    NEURON = "neuron"  # AWS Neuron build (neuron, neuronx): models compiled for Inferentia/Trainium
    CPU = "cpu"  # -cpu build
    UNKNOWN = "unknown"  # the image does not say (a customer's own tag, an algorithm image)


class LlmServer(StrEnum):
    """LLM inference servers. All of them preallocate most GPU memory for the KV cache at
    start-up (vLLM `gpu_memory_utilization` 0.9, TGI after its warm-up, TensorRT-LLM
    `kv_cache_free_gpu_mem_fraction` 0.9, SGLang `mem_fraction_static`), so GPU memory use says
    nothing about their load."""

    TGI = "tgi"  # Hugging Face Text Generation Inference
    LMI = "djl-lmi"  # AWS Large Model Inference (DJL Serving with vLLM / TensorRT-LLM / lmi-dist)
    VLLM = "vllm"
    TENSORRT_LLM = "tensorrt-llm"
    SGLANG = "sglang"
    NIM = "nim"  # NVIDIA NIM (TensorRT-LLM or vLLM inside)
    UNNAMED = "llm-server"  # a generation server whose kind the container does not name


# Deep Learning Containers (PyTorch, TensorFlow, Hugging Face, DJL/LMI, TGI...), by region where the
# account differs from 763104351884 (opt-in regions, China, GovCloud, ISO).
DLC_ACCOUNTS = frozenset({
    "763104351884", "626614931356", "780543022126", "871362719292", "364406365360",
    "772153158452", "907027046896", "457447274322", "727897471807", "380420809688",
    "692866216735", "503227376785", "217643126080", "914824155844", "446045086412",
    "442386744353", "886529160074", "094389454867", "204538143572",
})

# SageMaker framework algorithm images (sagemaker-xgboost, sagemaker-scikit-learn, sparkml...).
ALGORITHM_FRAMEWORK_ACCOUNTS = frozenset({
    "510948584623", "651117190479", "354813040037", "366743142698", "867004704886",
    "720646828776", "628508329040", "121021644041", "783357654285", "951798379941",
    "106583098589", "341280168497", "450853457545", "451049120500", "492215442770",
    "680994064768", "662702820516", "141502667606", "764974769150", "659782779980",
    "978288397137", "104374241257", "801668240914", "272398656194", "737474898029",
    "683313688378", "257758044811", "414596584902", "237065988967", "833128469047",
    "281123927165", "746614075791", "246618743249",
})

# Built-in algorithm images (linear-learner, factorization-machines, k-means...).
BUILTIN_ALGORITHM_ACCOUNTS = frozenset({
    "455444449433", "286214385809", "351501993468", "835164637446", "364406365360",
    "991648021394", "475088953585", "712309505854", "469771592824", "390948362332",
    "387376663083", "664544806723", "669576153137", "438346466558", "644912444149",
    "749696950732", "257386234256", "249704162688", "855470959533", "382416733822",
    "404615174143", "226302683700", "490574956308", "632365934929", "174872318107",
})

AWS_IMAGE_ACCOUNTS = DLC_ACCOUNTS | ALGORITHM_FRAMEWORK_ACCOUNTS | BUILTIN_ALGORITHM_ACCOUNTS

_ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[^:@]+)"
)

# Repository-name fragments → framework names, checked in order; one image may name several
# (huggingface-pytorch-tgi-inference is Hugging Face, PyTorch and TGI). Fragments are matched as
# whole dash-separated words so that "sklearn-tools" does not read as "sklearn" by accident.
_FRAMEWORK_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("huggingface",), "huggingface"),
    (("tgi",), "tgi"),
    (("tei",), "tei"),
    (("djl", "lmi"), "djl-lmi"),
    (("pytorch",), "pytorch"),
    (("tensorflow",), "tensorflow"),
    (("mxnet",), "mxnet"),
    (("xgboost",), "xgboost"),
    (("scikit", "sklearn"), "sklearn"),
    (("sparkml",), "sparkml"),
    (("tritonserver", "triton"), "triton"),
    (("neuron", "neuronx"), "neuron"),
    (("vllm",), "vllm"),
)

# Words of the repository path and tag (split at - _ . / :), with the version glued on as the
# tags write it: "tgi2", "lmi11", "tensorrtllm0", "cu121".
_NEURON_WORD = re.compile(r"^neuronx?\d*$|^inf[12]$")
_GPU_WORD = re.compile(r"^(gpu|cu\d{2,3}|cuda\d*|tensorrt\d*|trt)$")
_CPU_WORD = re.compile(r"^cpu$")
_SERVER_WORDS: tuple[tuple[re.Pattern[str], LlmServer], ...] = (
    (re.compile(r"^(tensorrtllm|trtllm)\d*$"), LlmServer.TENSORRT_LLM),
    (re.compile(r"^tgi\d*$"), LlmServer.TGI),
    (re.compile(r"^lmi\d*$"), LlmServer.LMI),
    (re.compile(r"^vllm\d*$"), LlmServer.VLLM),
    (re.compile(r"^sglang\d*$"), LlmServer.SGLANG),
    (re.compile(r"^nim$"), LlmServer.NIM),
)
# Servers that run only on CUDA unless the image says Neuron.
_CUDA_SERVERS = frozenset({LlmServer.TGI, LlmServer.VLLM, LlmServer.TENSORRT_LLM,
                           LlmServer.SGLANG, LlmServer.NIM})

# Environment variable names the servers read (their documented settings on SageMaker).
_SERVER_ENV: tuple[tuple[frozenset[str], tuple[str, ...], LlmServer], ...] = (
    (frozenset({"OPTION_ROLLING_BATCH", "OPTION_MAX_MODEL_LEN", "OPTION_MAX_ROLLING_BATCH_SIZE",
                "OPTION_GPU_MEMORY_UTILIZATION", "OPTION_TENSOR_PARALLEL_DEGREE",
                "TENSOR_PARALLEL_DEGREE"}), (), LlmServer.LMI),
    (frozenset({"MAX_TOTAL_TOKENS", "MAX_INPUT_LENGTH", "MAX_INPUT_TOKENS",
                "MAX_BATCH_PREFILL_TOKENS", "MAX_BATCH_TOTAL_TOKENS", "SM_NUM_GPUS",
                "HF_MODEL_QUANTIZE"}), (), LlmServer.TGI),
    (frozenset(), ("VLLM_", "SM_VLLM_"), LlmServer.VLLM),
    (frozenset(), ("SGLANG_", "SM_SGLANG_"), LlmServer.SGLANG),
    (frozenset(), ("NIM_",), LlmServer.NIM),
)


@dataclass(frozen=True)
class ImageFacts:
    image: str
    account: str | None  # None when the image is not in ECR
    repository: str
    frameworks: tuple[str, ...]
    source: ContainerSource
    build: ImageBuild = ImageBuild.UNKNOWN
    llm_server: LlmServer | None = None


def parse_repository(image: str) -> tuple[str | None, str]:
    """(ECR account or None, repository path without tag or digest)."""
    match = _ECR_URI.match(image)
    if match:
        return match.group("account"), match.group("repository")
    # Not ECR: "registry.example.com/team/model:1.2" or "team/model@sha256:..."
    without_digest = image.split("@", 1)[0]
    last_slash = without_digest.rfind("/")
    last_colon = without_digest.rfind(":")
    repository = without_digest[:last_colon] if last_colon > last_slash else without_digest
    return None, repository


def _tag(image: str) -> str:
    without_digest = image.split("@", 1)[0]
    last_slash = without_digest.rfind("/")
    last_colon = without_digest.rfind(":")
    return without_digest[last_colon + 1:] if last_colon > last_slash else ""


def frameworks_of(repository: str) -> tuple[str, ...]:
    """Frameworks named by a repository: words of the last path segment, in a fixed order."""
    name = repository.rsplit("/", 1)[-1].lower()
    words = set(re.split(r"[-_.]", name))
    found = [framework for fragments, framework in _FRAMEWORK_WORDS
             if any(fragment in words for fragment in fragments)]
    return tuple(found)


def _words(repository: str, tag: str) -> list[str]:
    # The registry host ("ghcr.io") is not a word of the image; the rest of the path is
    # ("nvcr.io/nim/meta/llama3", "ghcr.io/huggingface/text-generation-inference").
    path = repository.split("/", 1)[1] if "/" in repository and "." in repository.split("/")[0] \
        else repository
    return [w for w in re.split(r"[-_./:]", f"{path}:{tag}".lower()) if w]


def _server_from_image(repository: str, words: Sequence[str]) -> LlmServer | None:
    if "text-generation-inference" in repository.lower():
        return LlmServer.TGI
    for pattern, server in _SERVER_WORDS:
        if any(pattern.match(word) for word in words):
            return server
    return None


def _build_from_words(words: Sequence[str], server: LlmServer | None) -> ImageBuild:
    if any(_NEURON_WORD.match(word) for word in words):
        return ImageBuild.NEURON
    if any(_GPU_WORD.match(word) for word in words):
        return ImageBuild.GPU
    if any(_CPU_WORD.match(word) for word in words):
        return ImageBuild.CPU
    if server in _CUDA_SERVERS:
        return ImageBuild.GPU
    return ImageBuild.UNKNOWN


def image_facts(image: str, repository_access_mode: str = "Platform") -> ImageFacts:
    account, repository = parse_repository(image)
    if repository_access_mode == "Vpc":
        source = ContainerSource.THIRD_PARTY_REGISTRY
    elif account is not None and account in AWS_IMAGE_ACCOUNTS:
        source = ContainerSource.AWS_PREBUILT
    else:
        source = ContainerSource.OWN_IMAGE
    frameworks = frameworks_of(repository)
    if source is ContainerSource.AWS_PREBUILT and not frameworks and account in (
            BUILTIN_ALGORITHM_ACCOUNTS - DLC_ACCOUNTS):
        # Built-in algorithm repositories are named after the algorithm (linear-learner, knn).
        frameworks = (f"builtin:{repository.rsplit('/', 1)[-1]}",)
    words = _words(repository, _tag(image))
    server = _server_from_image(repository, words)
    return ImageFacts(image, account, repository, frameworks, source,
                      _build_from_words(words, server), server)


def server_from_environment(keys: Iterable[str]) -> tuple[LlmServer, str] | None:
    """(server, the variable that says so) from environment variable names, or None.

    `HF_MODEL_ID` without `HF_TASK` is a generation server too: the Hugging Face inference
    toolkit, which serves classifiers and embedders, needs `HF_TASK` beside it; TGI and LMI
    read the model id alone.
    """
    names = sorted(set(keys))
    for exact, prefixes, server in _SERVER_ENV:
        for name in names:
            if name in exact or (prefixes and name.startswith(prefixes)):
                return server, name
    if "HF_MODEL_ID" in names and "HF_TASK" not in names:
        return LlmServer.UNNAMED, "HF_MODEL_ID"
    return None


# --- the workload of one variant: all its containers together ---------------------------------


@dataclass(frozen=True)
class Workload:
    """What a variant's containers need of the hardware, and how to read their load."""

    images: tuple[ImageFacts, ...]
    build: ImageBuild
    llm_server: LlmServer | None
    llm_evidence: str  # "image huggingface-pytorch-tgi-inference", "environment OPTION_..."

    @property
    def frameworks(self) -> tuple[str, ...]:
        found = dict.fromkeys(f for image in self.images for f in image.frameworks)
        if self.llm_server is not None and self.llm_server is not LlmServer.UNNAMED:
            found.setdefault(self.llm_server.value)
        return tuple(found)

    @property
    def preallocates_gpu_memory(self) -> bool:
        return self.llm_server is not None

    @property
    def accelerator_build(self) -> bool:
        """The image only runs on its accelerator: never offer it a CPU type."""
        return self.build in (ImageBuild.GPU, ImageBuild.NEURON)


NO_WORKLOAD = Workload(images=(), build=ImageBuild.UNKNOWN, llm_server=None, llm_evidence="")


@lru_cache(maxsize=4096)
def workload_of(containers: tuple[ContainerInfo, ...]) -> Workload:
    """The combined reading of a variant's containers (a pipeline is as demanding as its most
    demanding container). Cached: fleets share a handful of images."""
    if not containers:
        return NO_WORKLOAD
    images = tuple(image_facts(c.image, c.repository_access_mode) for c in containers)
    builds = {image.build for image in images}
    if ImageBuild.NEURON in builds:
        build = ImageBuild.NEURON
    elif ImageBuild.GPU in builds:
        build = ImageBuild.GPU
    elif builds == {ImageBuild.CPU}:
        build = ImageBuild.CPU
    else:
        build = ImageBuild.UNKNOWN
    for image in images:
        if image.llm_server is not None:
            return Workload(images, build, image.llm_server,
                            f"image {image.repository.rsplit('/', 1)[-1]}")
    for container in containers:
        found = server_from_environment(container.environment_keys)
        if found is not None:
            server, variable = found
            return Workload(images, build, server, f"environment variable {variable}")
    return Workload(images, build, None, "")
