"""A real multi-node Ray cluster on this machine's loopback address, for tests and
benchmarks: each node is its own `ray start --block` process group (so that killing one
kills its raylet and workers, like losing a machine)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalRayCluster:
    """Head and worker nodes on 127.0.0.1, each with `cpus` CPUs and a small object store."""

    def __init__(self, cpus: int = 1, object_store_mb: int = 80) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.temp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Unix socket paths
        self.env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        self.env["RAY_USAGE_STATS_ENABLED"] = "0"
        # Its own token for nodes and drivers alike (the head listens on the machine's
        # address, not only on loopback; and a ~/.ray/auth_token left by an earlier private
        # Ray instance must not make the head and the drivers disagree about auth).
        self.env["RAY_AUTH_MODE"] = "token"
        self.env["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
        self.node_flags = [
            "--node-ip-address=127.0.0.1",
            f"--num-cpus={cpus}",
            "--num-gpus=0",
            f"--object-store-memory={object_store_mb * 2**20}",
        ]
        self.nodes: list[subprocess.Popen] = []
        self.logs = Path(self.temp) / "node-logs"
        self.logs.mkdir()

    def start_node(self) -> subprocess.Popen:
        """Start the head node first, then worker nodes that join it."""
        if not self.nodes:
            role = [f"--port={self.port}", "--head", "--include-dashboard=false"]
            role.append(f"--temp-dir={self.temp}")
        else:
            role = [f"--address={self.address}"]
        with open(self.logs / f"node{len(self.nodes)}.log", "w") as log:
            node = subprocess.Popen(
                [RAY, "start", "--block", *self.node_flags, *role],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,  # its own process group: raylet, workers and all
            )
        self.nodes.append(node)
        return node

    def alive_nodes(self) -> int:
        probe = (
            "import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR'); "
            "print(sum(1 for n in ray.nodes() if n['Alive']))"
        )
        out = subprocess.run(
            [sys.executable, "-c", probe, self.address],
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env,
        )
        lines = out.stdout.strip().splitlines()
        return int(lines[-1]) if out.returncode == 0 and lines else 0

    def wait_for(self, nodes: int, timeout: float = 120) -> None:
        """Block until exactly `nodes` nodes are alive; fail with the node logs otherwise."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.alive_nodes() == nodes:
                return
            time.sleep(1)
        logs = "\n".join(p.read_text()[-1500:] for p in sorted(self.logs.iterdir()))
        raise RuntimeError(f"the Ray cluster did not reach {nodes} live node(s):\n{logs}")

    def start(self, nodes: int = 2) -> LocalRayCluster:
        for count in range(1, nodes + 1):
            self.start_node()
            self.wait_for(count)
        return self

    def kill(self, node: subprocess.Popen) -> None:
        """SIGKILL a node's whole process group, as if its machine went away."""
        try:
            os.killpg(node.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        node.wait(timeout=30)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            self.kill(node)
        shutil.rmtree(self.temp, ignore_errors=True)
