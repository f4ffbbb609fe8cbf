"""systemd units, the station setup script and the udev rules.

``systemd-analyze verify`` also checks that every Exec* binary exists. The referenced
programs (cage, foot, /opt/packline/venv/bin/packline-*) are not installed on the test
machine, so the units are verified with ``--root`` pointing at a temporary tree holding
a copy of the host's /usr/lib/systemd/system, our units, and an executable stub at each
absolute path the units execute. That checks syntax, directives and dependencies, not
that the real programs are present (setup-station.sh installs them). A deliberately
broken unit run through the same harness proves the harness can fail.

What each unit runs is checked against the real command line instead: its ``ExecStart``
is resolved through the click groups of ``packline-edge``, ``packline-cloud`` and
``packline-provision`` (the console scripts of pyproject.toml), so a subcommand or option
that does not exist fails the test. There is no unit for the cloud web app: it does not
exist yet.
"""

from __future__ import annotations

import importlib
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import click
import pytest

from provisioning.core import DeviceDefaults

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "systemd"
SETUP = ROOT / "provisioning" / "setup-station.sh"
RULES = ROOT / "provisioning" / "udev" / "99-packline.rules"
HOST_UNITS = Path("/usr/lib/systemd/system")

UNIT_NAMES = [
    "packline-kiosk.service",
    "packline-sync.service",
    "packline-backup.service",
    "packline-cloud.service",
    "packline-cloud-ingest.service",
    "packline-cloud-worker@.service",
]


def exec_paths(text: str) -> set[str]:
    paths = set()
    for line in text.splitlines():
        m = re.match(r"^Exec\w+=[-@:+!]*(\S+)", line)
        if m and m.group(1).startswith("/"):
            paths.add(m.group(1))
    return paths


def make_root(tmp: Path, extra_units: dict[str, str] | None = None) -> Path:
    root = tmp / "root"
    shutil.copytree(HOST_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    etc = root / "etc/systemd/system"
    etc.mkdir(parents=True)
    for name in UNIT_NAMES:
        shutil.copy(UNITS / name, etc / name)
    shutil.copytree(UNITS / "mosquitto.service.d", etc / "mosquitto.service.d")
    for name, text in (extra_units or {}).items():
        (etc / name).write_text(text)
    texts = [p.read_text() for p in etc.rglob("*") if p.is_file()]
    texts.append((HOST_UNITS / "mosquitto.service").read_text())
    for path in set().union(*(exec_paths(t) for t in texts)):
        stub = root / path.lstrip("/")
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
    return root


def verify(root: Path, unit: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "--man=no", unit],
        capture_output=True, text=True, timeout=60,
    )


@pytest.fixture(scope="module")
def unit_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_root(tmp_path_factory.mktemp("units"))


@pytest.mark.parametrize(
    "unit",
    [*(n.replace("@.", "@1.") for n in UNIT_NAMES), "mosquitto.service"],
)
def test_unit_verifies_cleanly(unit_root: Path, unit: str) -> None:
    result = verify(unit_root, unit)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_harness_catches_bad_units(tmp_path: Path) -> None:
    root = make_root(tmp_path, {
        "bad-relative.service": "[Service]\nExecStart=packline-edge sync\n",
        "bad-key.service": "[Service]\nExecStart=/bin/true\nNoNewPrivilege=yes\n",
    })
    rel = verify(root, "bad-relative.service")
    assert (rel.returncode, rel.stderr) == (
        1, "bad-relative.service: Command packline-edge is not executable: No such file or directory\n"
    )
    key = verify(root, "bad-key.service")
    assert "Unknown key" in key.stderr  # rc 0, hence the empty-stderr assertion above


SCRIPTS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
"""Console script → ``module:function`` (the module's click group is ``cli``)."""

PROVISIONED = set(re.findall(r'"(PACKLINE_[A-Z0-9_]+)"', (ROOT / "provisioning" / "core.py").read_text()))
"""Environment variables the provisioning writes into station.env / cloud.env."""


def provisioned_env() -> dict[str, str]:
    """A value of the right kind for every provisioned variable (ports are numbers)."""
    return {name: "8883" if name.endswith("_PORT") else "x" for name in PROVISIONED}


def resolve(argv: list[str], env: dict[str, str]) -> list[str]:
    """The command path click resolves for ``argv`` (a console script and its arguments),
    parsing every level's options as the real program does with ``env`` set (each group's
    own code runs, as it does before its subcommand; no subcommand runs). Raises
    ``click.UsageError`` for an unknown command or option or a missing required value."""
    script = Path(argv[0]).name
    group = importlib.import_module(SCRIPTS[script].split(":")[0]).cli
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        ctx = group.make_context(script, list(argv[1:]), resilient_parsing=False)
        path, cmd = [script], group
        while isinstance(cmd, click.Group):
            if cmd.callback is not None:  # as click does: the group runs before its subcommand parses
                ctx.invoke(cmd.callback, **ctx.params)
            name, sub, rest = cmd.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
            assert name is not None and sub is not None
            ctx = sub.make_context(name, rest, parent=ctx)
            path, cmd = [*path, name], sub
        return path
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def packline_command(unit_text: str) -> list[str]:
    """The Packline program and its arguments in a unit's ExecStart (after any wrapper)."""
    start = next(ln for ln in unit_text.splitlines() if ln.startswith("ExecStart="))
    words = shlex.split(start.removeprefix("ExecStart="))
    first = next(i for i, w in enumerate(words) if Path(w).name in SCRIPTS)
    return words[first:]


def test_every_unit_runs_a_command_that_exists() -> None:
    """Each ExecStart resolves through the real click groups, with the required values a
    unit does not pass taken from variables the provisioning writes."""
    env = provisioned_env()
    seen = {}
    for unit in sorted(UNITS.glob("*.service")):
        argv = packline_command(unit.read_text())
        assert argv[0] == f"/opt/packline/venv/bin/{Path(argv[0]).name}", unit.name
        seen[unit.name] = " ".join(resolve(argv, env))
    assert seen == {
        "packline-backup.service": "packline-edge backup run",
        "packline-cloud.service": "packline-cloud serve",
        "packline-cloud-ingest.service": "packline-cloud ingest",
        "packline-cloud-worker@.service": "packline-cloud worker",
        "packline-kiosk.service": "packline-edge kiosk",
        "packline-sync.service": "packline-edge sync",
    }


def test_the_command_check_refuses_what_does_not_exist() -> None:
    env = provisioned_env()
    with pytest.raises(click.UsageError, match="No such command 'dashboards'"):
        resolve(["/opt/packline/venv/bin/packline-cloud", "dashboards"], env)
    with pytest.raises(click.NoSuchOption):
        resolve(["/opt/packline/venv/bin/packline-edge", "sync", "--hots", "h"], env)
    with pytest.raises(click.MissingParameter):  # the broker host comes from station.env
        resolve(["/opt/packline/venv/bin/packline-edge", "sync"], {})


def test_units_run_packline_from_the_venv_with_hardening() -> None:
    for name in UNIT_NAMES:
        text = (UNITS / name).read_text()
        for directive in ("NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectSystem=strict", "Restart=always"):
            assert f"\n{directive}\n" in text, (name, directive)
        assert re.search(r"\n(User=|DynamicUser=yes)", text), name
    kiosk = (UNITS / "packline-kiosk.service").read_text()
    assert "\nSupplementaryGroups=packline input dialout lp video render\n" in kiosk
    assert "/usr/bin/cage -d -- /usr/bin/foot" in kiosk and "Conflicts=getty@tty1.service" in kiosk


def test_setup_script_parses_and_dry_run_installs_files(tmp_path: Path) -> None:
    assert subprocess.run(["bash", "-n", str(SETUP)], capture_output=True, timeout=30).returncode == 0
    env_file, ca = tmp_path / "station.env", tmp_path / "ca.crt"
    env_file.write_text('PACKLINE_STATION_ID="st-01"\n')
    ca.write_text("CA\n")
    key = tmp_path / "client.key"
    key.write_text("KEY\n")
    root = tmp_path / "root"
    out = subprocess.run(
        ["bash", str(SETUP), "--config", str(env_file), "--ca", str(ca), "--client-cert", str(ca),
         "--client-key", str(key), "--dry-run", "--root", str(root)],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    commands = [ln[2:] for ln in out.stdout.splitlines() if ln.startswith("+ ")]
    assert "usermod -aG packline,input,dialout,lp,video,render packer" in commands
    assert f"/opt/packline/venv/bin/pip install {ROOT}[edge,edge-hw]" in commands
    assert "systemctl enable packline-sync.service packline-backup.service packline-kiosk.service" in commands
    install_line = next(c for c in commands if "apt-get install" in c)
    for pkg in ("cage", "foot", "fonts-noto-cjk", "python3-venv"):
        assert f" {pkg} " in install_line + " "
    modes = {
        "etc/packline/station.env": 0o600, "etc/packline/ca.crt": 0o644, "etc/packline/client.key": 0o640,
        "etc/udev/rules.d/99-packline.rules": 0o644, "etc/pam.d/packline-kiosk": 0o644,
        "etc/systemd/system/packline-kiosk.service": 0o644,
    }
    for rel, mode in modes.items():
        assert (root / rel).stat().st_mode & 0o7777 == mode, rel
    assert (root / "etc/packline/station.env").read_text() == 'PACKLINE_STATION_ID="st-01"\n'
    assert (root / "var/lib/packline").stat().st_mode & 0o7777 == 0o2770


def test_setup_script_refuses_missing_config(tmp_path: Path) -> None:
    out = subprocess.run(["bash", str(SETUP), "--dry-run"], capture_output=True, text=True, timeout=30)
    assert (out.returncode, out.stderr) == (1, "setup-station: --config station.env is required\n")


RULE_KEY = re.compile(
    r'^(?P<key>[A-Z_]+)(\{(?P<attr>[^}]+)\})?(?P<op>==|!=|\+=|-=|:=|=)"(?P<value>[^"]*)"$'
)
MATCH_KEYS = {"SUBSYSTEM", "KERNEL", "ATTRS", "ATTR", "ENV", "ACTION", "DRIVERS", "SUBSYSTEMS"}
ASSIGN_KEYS = {"SYMLINK", "GROUP", "MODE", "OWNER", "ENV", "TAG", "RUN"}


def test_udev_rules_are_well_formed_and_name_the_default_devices() -> None:
    symlinks = set()
    rules = 0
    for number, line in enumerate(RULES.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        rules += 1
        parts = [p.strip() for p in line.split(", ")]
        matches = assigns = 0
        for part in parts:
            m = RULE_KEY.match(part)
            assert m, f"line {number}: cannot parse {part!r}"
            if m["op"] in ("==", "!="):
                assert m["key"] in MATCH_KEYS, f"line {number}: {m['key']} is not a match key"
                matches += 1
            else:
                assert m["key"] in ASSIGN_KEYS, f"line {number}: {m['key']} is not assignable"
                assigns += 1
            if m["key"] in ("ATTRS", "ATTR") and m["attr"] in ("idVendor", "idProduct"):
                assert re.fullmatch(r"[0-9a-f]{4}", m["value"]), f"line {number}: bad id {m['value']}"
            if m["key"] == "SYMLINK":
                symlinks.add("/dev/" + m["value"])
            if m["key"] == "MODE":
                assert m["value"] == "0660"
        assert matches >= 2 and assigns >= 1, f"line {number}"
    assert rules >= 5
    defaults = DeviceDefaults()
    for url in (defaults.scanner_url, defaults.scale_url, defaults.label_printer_url, defaults.receipt_printer_url):
        path = re.sub(r"^[a-z+]+://", "", url).split("?")[0]
        assert path in symlinks, url


def test_udev_rules_file_is_plain_ascii_and_setup_is_executable() -> None:
    """systemd 252's udevadm has no ``verify`` (it arrives in 253), so the parse check
    above stands in for it."""
    data = RULES.read_bytes()
    assert data.isascii() and data.endswith(b"\n") and b"\r" not in data
    assert os.access(SETUP, os.X_OK)
