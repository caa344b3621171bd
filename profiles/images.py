"""What a container image URI says about a model: its framework and who builds the image.

The registry accounts are AWS's published image registries (SageMaker Python SDK,
`image_uri_config/*.json`): the Deep Learning Containers account 763104351884 and its opt-in-region
and partition siblings, and the per-region accounts of the SageMaker algorithm images (XGBoost,
scikit-learn, built-in algorithms). An image elsewhere is the customer's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from profiles.model import ContainerSource

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


@dataclass(frozen=True)
class ImageFacts:
    image: str
    account: str | None  # None when the image is not in ECR
    repository: str
    frameworks: tuple[str, ...]
    source: ContainerSource


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


def frameworks_of(repository: str) -> tuple[str, ...]:
    """Frameworks named by a repository: words of the last path segment, in a fixed order."""
    name = repository.rsplit("/", 1)[-1].lower()
    words = set(re.split(r"[-_.]", name))
    found = [framework for fragments, framework in _FRAMEWORK_WORDS
             if any(fragment in words for fragment in fragments)]
    return tuple(found)


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
    return ImageFacts(image, account, repository, frameworks, source)


# When containers of one endpoint differ, the profile reports the one that asks the most of the
# team: an own image must be patched by its owner, a third-party registry also needs the network
# path to it.
_SOURCE_BURDEN = {
    ContainerSource.AWS_PREBUILT: 0,
    ContainerSource.OWN_IMAGE: 1,
    ContainerSource.THIRD_PARTY_REGISTRY: 2,
}


def heaviest_source(sources: list[ContainerSource]) -> ContainerSource | None:
    return max(sources, key=_SOURCE_BURDEN.__getitem__) if sources else None
