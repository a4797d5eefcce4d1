"""Where and how to reach the broker, and the stage's topics: the settings `--mqtt` and `encore send` share.

    settings = MqttSettings.parse("127.0.0.1:1883", stage="main", username="encore", password_file=Path("pw"))
    settings.topics.control("tempo")  # "encore/main/control/tempo"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from encore.models.errors import EncoreError

DEFAULT_STAGE = "encore"
PLAIN_PORT = 1883
TLS_PORT = 8883
TOPIC_ROOT = "encore"
MAX_STAGE_CHARS = 64
MAX_PASSWORD_BYTES = 4096


class MqttSettingsError(EncoreError):
    """An MQTT option that cannot be used; the message names it."""


@dataclass(frozen=True)
class StageTopics:
    """The topics of one stage, all under `encore/<stage>/`.

    Attributes:
        stage: The stage name (one topic level: no `/`, `+`, `#`).
    """

    stage: str = DEFAULT_STAGE

    def __post_init__(self) -> None:
        bad = set(self.stage) & {"/", "+", "#", "\0"}
        if not self.stage or len(self.stage) > MAX_STAGE_CHARS or bad:
            raise MqttSettingsError(f"--stage: must be 1-{MAX_STAGE_CHARS} characters without / + # "
                                    f"(got {self.stage!r})")

    @property
    def prefix(self) -> str:
        """`encore/<stage>`."""
        return f"{TOPIC_ROOT}/{self.stage}"

    @property
    def control_filter(self) -> str:
        """The subscription that takes every command: `encore/<stage>/control/#`."""
        return f"{self.prefix}/control/#"

    def control(self, command: str) -> str:
        """The topic a command is published to: `encore/<stage>/control/<command>`."""
        return f"{self.prefix}/control/{command}"

    def command_name(self, topic: str) -> str:
        """The command a control topic names (all that follows `control/`, so a deeper topic is an unknown command)."""
        return topic.removeprefix(f"{self.prefix}/control/")

    @property
    def state(self) -> str:
        """Retained: the show's snapshot as JSON."""
        return f"{self.prefix}/state"

    @property
    def notes(self) -> str:
        """The notes played, for visuals."""
        return f"{self.prefix}/notes"

    @property
    def errors(self) -> str:
        """Every command refused, with the reason."""
        return f"{self.prefix}/errors"

    def replies(self, client: str) -> str:
        """Where `encore send --wait` asks (MQTT 5 response topic) for its command's result."""
        return f"{self.prefix}/replies/{client}"


@dataclass(frozen=True)
class Backoff:
    """Reconnection delays: `first_s`, doubling up to `max_s`, back to `first_s` once connected."""

    first_s: float = 1.0
    max_s: float = 30.0

    def delay(self, failures: int) -> float:
        """The wait after `failures` failed attempts in a row (1 or more)."""
        return min(self.first_s * 2.0 ** max(failures - 1, 0), self.max_s)


@dataclass(frozen=True)
class MqttSettings:
    """A broker and a stage.

    Attributes:
        host: Broker host name or address.
        port: Broker port (1883, or 8883 with TLS, unless given).
        topics: The stage's topics.
        username: Login name (None: anonymous).
        password: Its password (read from `--mqtt-password-file`, never given on the command line).
        tls_ca: A CA certificate file: connect with TLS, checking the broker's certificate against it.
        state_interval_s: The state and notes topics are published at most this often.
        backoff: Reconnection delays.
        timeout_s: How long one connection attempt or publication may take.
    """

    host: str
    port: int = PLAIN_PORT
    topics: StageTopics = field(default_factory=StageTopics)
    username: str | None = None
    password: str | None = None
    tls_ca: Path | None = None
    state_interval_s: float = 0.1
    backoff: Backoff = field(default_factory=Backoff)
    timeout_s: float = 10.0

    @classmethod
    def parse(cls, address: str, stage: str = DEFAULT_STAGE, username: str | None = None,
              password_file: Path | None = None, tls_ca: Path | None = None) -> MqttSettings:
        """Settings from the command line's words: `HOST[:PORT]` (`[v6addr]:PORT` for IPv6).

        Raises:
            MqttSettingsError: an address, stage, password file or CA file that cannot be used.
        """
        if password_file is not None and username is None:
            raise MqttSettingsError("--mqtt-password-file needs --mqtt-username")
        if tls_ca is not None and not tls_ca.is_file():
            raise MqttSettingsError(f"--mqtt-tls-ca: no such file {tls_ca}")
        host, port = parse_address(address, TLS_PORT if tls_ca is not None else PLAIN_PORT)
        password = read_password(password_file) if password_file is not None else None
        return cls(host, port, StageTopics(stage), username, password, tls_ca)

    def describe(self) -> str:
        """`mqtt://host:port encore/<stage>` (mqtts with TLS), for status lines."""
        scheme = "mqtts" if self.tls_ca is not None else "mqtt"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port} {self.topics.prefix}"


def parse_address(address: str, default_port: int = PLAIN_PORT) -> tuple[str, int]:
    """`HOST`, `HOST:PORT`, `[IPV6]` or `[IPV6]:PORT` as (host, port).

    Raises:
        MqttSettingsError: an empty host or a port that is not 1-65535.
    """
    text = address.strip()
    port_text = ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise MqttSettingsError(f"--mqtt: expected [ADDRESS]:PORT, got {address!r}")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host = text
    if not host or any(c.isspace() for c in host):
        raise MqttSettingsError(f"--mqtt: expected HOST[:PORT], got {address!r}")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise MqttSettingsError(f"--mqtt: the port must be 1-65535, got {port_text!r}")
    return host, int(port_text)


def read_password(path: Path) -> str:
    """The first line of a password file (its line break removed).

    Raises:
        MqttSettingsError: a file that cannot be read, is empty or too large.
    """
    try:
        data = path.read_bytes()[: MAX_PASSWORD_BYTES + 1]
    except OSError as error:
        raise MqttSettingsError(f"--mqtt-password-file: cannot read {path}: {error.strerror}") from None
    if len(data) > MAX_PASSWORD_BYTES:
        raise MqttSettingsError(f"--mqtt-password-file: {path} is larger than {MAX_PASSWORD_BYTES} bytes")
    try:
        password = data.decode("utf-8").splitlines()[0] if data.strip() else ""
    except UnicodeDecodeError:
        raise MqttSettingsError(f"--mqtt-password-file: {path} is not UTF-8 text") from None
    if not password:
        raise MqttSettingsError(f"--mqtt-password-file: {path} is empty")
    return password
