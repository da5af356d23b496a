"""The EKS add-ons' configuration values (``aws eks create-addon --configuration-values``).

amazon-cloudwatch-observability installs the CloudWatch agent operator with Application
Signals on: by default its auto-monitor annotates every Deployment a Service selects, and the
operator's pod webhook then injects the ADOT SDK as an init container. The Java one has no
security context (aws/amazon-cloudwatch-agent-operator#361, open at operator v3.6.0:
``setInitContainerSecurityContext`` is commented out for Java in pkg/instrumentation/sdk.go),
so a namespace enforcing the restricted Pod Security Standard refuses the pods. The workload
namespace is kept out of it entirely:

- ``monitorAllServices: false``: ``Monitor.isWorkloadAutoMonitored`` returns false at once
  (operator v3.6.0 pkg/instrumentation/auto/monitor.go), and the chart keeps a value that is
  set (``manager.modify-auto-monitor-config`` in templates/_helpers.tpl, chart
  amazon-cloudwatch-observability-6.4.0);
- the namespace in ``exclude.<language>.namespaces`` for every language the operator supports
  (``instrumentation.SupportedTypes``: java, nodejs, python, dotnet): ``MutateObject`` removes
  excluded languages last, after any custom selector, so nothing added later re-enables it.

The keys are the chart's values (components/vendored/amazon-cloudwatch-observability-chart-
6.4.0-values.yaml), which the add-on takes as its configuration.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

CLOUDWATCH_OBSERVABILITY: Final = "amazon-cloudwatch-observability"
# instrumentation.SupportedTypes at operator v3.6.0 (pkg/instrumentation/annotationtype.go)
AUTO_INSTRUMENTED_LANGUAGES: Final = ("java", "python", "dotnet", "nodejs")


def cloudwatch_observability_values(excluded_namespaces: Sequence[str]) -> dict[str, Any]:
    """Container Insights on (the CPU and memory rollback alarms read it); Application
    Signals' auto-monitor off and ``excluded_namespaces`` excluded for every language."""
    exclude = {
        language: {"namespaces": list(excluded_namespaces)}
        for language in AUTO_INSTRUMENTED_LANGUAGES
    }
    return {
        "manager": {
            "applicationSignals": {
                "autoMonitor": {"monitorAllServices": False, "exclude": exclude},
            }
        }
    }


def configuration_json(values: dict[str, Any]) -> str:
    """Configuration values as EKS takes them: one JSON document, keys sorted so that an
    unchanged configuration never shows as a diff."""
    return json.dumps(values, sort_keys=True)
