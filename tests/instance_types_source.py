"""Rewrites ``delivery/config/ec2-instance-types.json`` from the installed (pinned) moto and
botocore: ``python -m tests.instance_types_source``. The configuration layer reads only the
file; this is the one place that knows where its rows come from."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

from delivery.config.instance_types import TABLE

# DescribeInstanceTypes' fields that name an accelerator, and what the table calls each.
ACCELERATORS = {
    "GpuInfo": "gpu",
    "NeuronInfo": "neuron",
    "InferenceAcceleratorInfo": "inference",
    "FpgaInfo": "fpga",
    "MediaAcceleratorInfo": "media",
}


def rows_from_moto(described: dict[str, Any]) -> dict[str, list[Any]]:
    """The table's rows from DescribeInstanceTypes items keyed by type, as moto ships them."""
    rows = {}
    for name, item in sorted(described.items()):
        if "hvm" not in item.get("SupportedVirtualizationTypes", []):
            continue  # paravirtual only: no EKS node AMI boots on it
        network = item["NetworkInfo"]
        rows[name] = [
            item["ProcessorInfo"]["SupportedArchitectures"],
            item["VCpuInfo"]["DefaultVCpus"],
            item["MemoryInfo"]["SizeInMiB"],
            network["MaximumNetworkInterfaces"],
            network["Ipv4AddressesPerInterface"],
            item.get("SupportedUsageClasses", []),
            sorted(ACCELERATORS[key] for key in ACCELERATORS if item.get(key)),
        ]
    return rows


def moto_table() -> dict[str, Any]:
    """The table as the installed moto and botocore give it (both pinned in constraints.txt)."""
    import botocore
    import moto
    from botocore.loaders import Loader

    source = Path(moto.__file__).parent / "ec2" / "resources" / "instance_types.json.gz"
    with gzip.open(source) as described:
        rows = rows_from_moto(json.load(described))
    model = Loader().load_service_model("ec2", "service-2")
    return {
        "source": f"moto {moto.__version__} moto/ec2/resources/instance_types.json.gz",
        "types": rows,
        "apiModelSource": f"botocore {botocore.__version__} ec2 service-2 shape InstanceType",
        "apiModel": sorted(model["shapes"]["InstanceType"]["enum"]),
    }


def main() -> int:
    TABLE.write_text(json.dumps(moto_table(), separators=(",", ":"), sort_keys=True) + "\n")
    print(f"wrote {TABLE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
