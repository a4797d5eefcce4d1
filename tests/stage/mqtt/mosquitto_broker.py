"""A real mosquitto broker for the MQTT tests: loopback only, a free port, a password file, no anonymous login."""

from __future__ import annotations

import getpass
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

MOSQUITTO = "/usr/sbin/mosquitto"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
USERNAME = "encore"
PASSWORD = "s3cret stage"
MISSING = "mosquitto or openssl is not installed: install the Debian packages mosquitto and openssl (`make test` does)"


@dataclass
class Broker:
    """A mosquitto process on 127.0.0.1:`port`; `kill()` and `start()` it again on the same port.

    Attributes:
        port: Its plain TCP port.
        tls_port: Its TLS port (a certificate for 127.0.0.1 signed by `ca`).
        ca: The test CA's certificate (what `--mqtt-tls-ca` takes).
        password_file: A file holding `PASSWORD` (what `--mqtt-password-file` reads).
        config: Its configuration file.
        log: Where its output goes (quoted when it fails to start).
    """

    port: int
    tls_port: int
    ca: Path
    password_file: Path
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    host: str = "127.0.0.1"
    username: str = USERNAME
    password: str = PASSWORD

    @property
    def address(self) -> str:
        """`127.0.0.1:PORT`, as `--mqtt` takes it."""
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        """Start it and return once it accepts connections; fail, quoting its log, if it does not."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"mosquitto exited with {self.process.returncode}: {self._tail()}", pytrace=False)
            try:
                for port in (self.port, self.tls_port):
                    with socket.create_connection((self.host, port), timeout=0.5):
                        pass
                return
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"mosquitto did not listen within {START_TIMEOUT_S} s: {self._tail()}", pytrace=False)
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL it (a crash: no goodbye to any client) and wait until it is gone."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM it, SIGKILL if it lingers."""
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _tail(self, lines: int = 5) -> str:
        text = self.log.read_text(errors="replace").strip() if self.log.exists() else ""
        return " | ".join(text.splitlines()[-lines:]) or "(no output)"


def configure(folder: Path) -> Broker:
    """Write a broker's files into `folder`: password file, TLS certificates, configuration.

    Two listeners on 127.0.0.1 only (plain and TLS), no anonymous login, nothing persisted.
    """
    passwords = folder / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), USERNAME, PASSWORD], check=True,
                   capture_output=True)
    password_file = folder / "password.txt"
    password_file.write_text(PASSWORD + "\n")
    ca, certificate, key = make_certificates(folder)
    port, tls_port = free_port(), free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"user {getpass.getuser()}\n"  # as root, mosquitto would switch to a user who cannot read this folder
        "per_listener_settings false\n"
        "allow_anonymous false\n"
        f"password_file {passwords}\n"
        "persistence false\n"
        "log_dest stderr\n"
        f"listener {port} 127.0.0.1\n"
        f"listener {tls_port} 127.0.0.1\n"
        f"cafile {ca}\ncertfile {certificate}\nkeyfile {key}\n"
    )
    return Broker(port, tls_port, ca, password_file, config, folder / "mosquitto.log")


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for IP 127.0.0.1 it signed: (ca, certificate, key)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca, ca_key = folder / "ca.crt", folder / "ca.key"
    certificate, key, request = folder / "server.crt", folder / "server.key", folder / "server.csr"
    extensions = folder / "san.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    for command in (
        ["req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=encore test CA"],
        ["req", *ec, "-keyout", key, "-out", request, "-subj", "/CN=127.0.0.1"],
        ["x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", certificate,
         "-days", "2", "-extfile", extensions],
    ):
        subprocess.run(["openssl", *map(str, command)], check=True, capture_output=True)
    return ca, certificate, key


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
