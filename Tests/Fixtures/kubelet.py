#!/usr/bin/env python3
"""Runs one stage of a Kubernetes manifest's Jobs on this machine, as a kubelet would.

    python3 kubelet.py MANIFEST STAGE ROOT BIN_DIR

Every Job labelled crosssim/stage=STAGE runs its pods one after another (an Indexed Job's
pods 0..completions-1, each with JOB_COMPLETION_INDEX). Each container gets its env (values,
and the completion-index annotation as fieldRef), its command and args with the kubelet's
$(VAR) expansion and $$ escape, and its volume mounts mapped onto ROOT/subPath (every path
that starts with a mountPath). BIN_DIR goes first on PATH, so that `crosssim` is the built one.
Exits non-zero, naming the pod, when one fails. Needs PyYAML.
"""
import os
import re
import subprocess
import sys

import yaml

INDEX_FIELD = "metadata.annotations['batch.kubernetes.io/job-completion-index']"

manifest, stage, root, bin_dir = sys.argv[1:5]
jobs = [d for d in yaml.safe_load_all(open(manifest)) if d and d["metadata"].get("labels", {}).get("crosssim/stage") == stage]
if not jobs:
    sys.exit(f"kubelet.py: no object labelled crosssim/stage={stage} in {manifest}")
for job in jobs:
    assert job["kind"] == "Job", job["kind"]
    spec, name = job["spec"], job["metadata"]["name"]
    pod = spec["template"]["spec"]
    indexed = spec.get("completionMode") == "Indexed"
    assert indexed or spec.get("completions", 1) == 1, name
    assert spec.get("parallelism", 1) == spec.get("completions", 1), f"{name}: parallelism ≠ completions"
    for index in range(spec.get("completions", 1)):
        for container in pod["containers"]:
            env = {"JOB_COMPLETION_INDEX": str(index)} if indexed else {}
            for entry in container.get("env", []):
                if "value" in entry:
                    env[entry["name"]] = entry["value"]
                elif entry["valueFrom"]["fieldRef"]["fieldPath"] == INDEX_FIELD and indexed:
                    env[entry["name"]] = str(index)
                else:
                    sys.exit(f"kubelet.py: {name}: env {entry['name']} has a source this runner does not know")

            def expand(text):
                return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                              lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)

            argv = [expand(a) for a in container["command"] + container.get("args", [])]
            for mount in sorted(container.get("volumeMounts", []), key=lambda m: -len(m["mountPath"])):
                target = os.path.join(root, mount.get("subPath", ""))
                os.makedirs(target, exist_ok=True)
                pattern = r"(?<![\w./-])" + re.escape(mount["mountPath"]) + r"(?=/|\s|$|\")"
                argv = [re.sub(pattern, lambda _: target, a) for a in argv]
            run = subprocess.run(argv, env={**os.environ, **env, "PATH": bin_dir + os.pathsep + os.environ["PATH"]})
            if run.returncode != 0:
                sys.exit(f"kubelet.py: job {name} pod {index} ({container['name']}) exited {run.returncode}")
