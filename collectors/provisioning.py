"""The provisioning matrix: instance types and counts per region, per kind of workload.

Training and transform jobs in progress, notebook instances in service, and the fleet's endpoints.
Job resources never change while a job runs, so each job is described once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from collectors.aws import AwsContext
from collectors.failures import RECOVERABLE, collector_error
from ground.domain import CollectorError, DeploymentOption, EndpointSnapshot, ProvisioningRow


@dataclass
class ProvisioningPass:
    rows: list[ProvisioningRow] = field(default_factory=list)
    errors: list[CollectorError] = field(default_factory=list)


class ProvisioningCollector:
    def __init__(self, aws: AwsContext, region: str) -> None:
        self.aws = aws
        self.region = region
        self._jobs: dict[str, list[tuple[str, int]]] = {}  # job name -> [(type, count)]
        self._semaphore = asyncio.Semaphore(aws.settings.describe_concurrency)

    async def collect(self, endpoints: list[EndpointSnapshot], now: dt.datetime
                      ) -> ProvisioningPass:
        result = ProvisioningPass()
        tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])

        def add(workload: str, instance_type: str, count: int) -> None:
            cell = tally[(workload, instance_type)]
            cell[0] += count
            cell[1] += 1

        for endpoint in endpoints:
            if endpoint.region != self.region:
                continue
            workload = "async" if endpoint.deployment is DeploymentOption.ASYNC else "real-time"
            for variant in endpoint.variants:
                if variant.instance_type:
                    add(workload, variant.instance_type, variant.current_instance_count)
        sagemaker = await self.aws.client("sagemaker", self.region)
        for workload, lister, describer in (
            ("training", "list_training_jobs", self._training),
            ("batch-transform", "list_transform_jobs", self._transform),
        ):
            try:
                names = await self._in_progress(sagemaker, lister)
                running = {f"{workload}:{n}" for n in names}
                for key in [k for k in self._jobs if k.startswith(f"{workload}:")]:
                    if key not in running:
                        del self._jobs[key]  # finished jobs leave the matrix
                await asyncio.gather(*(describer(sagemaker, n) for n in names
                                       if f"{workload}:{n}" not in self._jobs))
                for name in names:
                    for instance_type, count in self._jobs.get(f"{workload}:{name}", []):
                        add(workload, instance_type, count)
            except RECOVERABLE as exc:
                operation = "ListTrainingJobs" if workload == "training" else "ListTransformJobs"
                result.errors.append(collector_error(exc, "provisioning", self.region,
                                                     "sagemaker", operation, now))
        try:
            paginator = sagemaker.get_paginator("list_notebook_instances")
            async for page in paginator.paginate(StatusEquals="InService"):
                for notebook in page.get("NotebookInstances", []):
                    if notebook.get("InstanceType"):
                        add("notebook", notebook["InstanceType"], 1)
        except RECOVERABLE as exc:
            result.errors.append(collector_error(exc, "provisioning", self.region, "sagemaker",
                                                 "ListNotebookInstances", now))
        result.rows = [
            ProvisioningRow(region=self.region, workload=w, instance_type=t, instance_count=c,
                            jobs=j)
            for (w, t), (c, j) in sorted(tally.items())
        ]
        return result

    async def _in_progress(self, sagemaker: Any, lister: str) -> list[str]:
        key = "TrainingJobSummaries" if "training" in lister else "TransformJobSummaries"
        name_key = "TrainingJobName" if "training" in lister else "TransformJobName"
        names: list[str] = []
        paginator = sagemaker.get_paginator(lister)
        async for page in paginator.paginate(StatusEquals="InProgress"):
            names.extend(job[name_key] for job in page.get(key, []))
        return names

    async def _training(self, sagemaker: Any, name: str) -> None:
        async with self._semaphore:
            job = await sagemaker.describe_training_job(TrainingJobName=name)
        resources = job.get("ResourceConfig") or {}
        groups = resources.get("InstanceGroups") or []
        if groups:
            shapes = [(g["InstanceType"], int(g["InstanceCount"])) for g in groups]
        else:
            shapes = [(resources.get("InstanceType", "unknown"),
                       int(resources.get("InstanceCount", 1)))]
        self._jobs[f"training:{name}"] = shapes

    async def _transform(self, sagemaker: Any, name: str) -> None:
        async with self._semaphore:
            job = await sagemaker.describe_transform_job(TransformJobName=name)
        resources = job.get("TransformResources") or {}
        self._jobs[f"batch-transform:{name}"] = [
            (resources.get("InstanceType", "unknown"), int(resources.get("InstanceCount", 1)))]
