"""``./packline demo``: the whole system on one machine, connected as in production.

It starts, each as its own process (as systemd would on real machines):

* the broker — Debian's mosquitto, configured by provisioning (TLS, a user per station, ACLs);
* a fake Pinduoduo and a fake Taobao shop that keep producing orders in real time;
* the cloud: ``worker`` (orders in, allocation, e-waybills, tracking write-back, stock
  push), ``ingest`` (the stations' messages) and ``serve`` (the web app) on SQLite;
* station ``st1``: its ``sync`` daemon, and the kiosk in this terminal on simulated devices.

The first run sets everything up under ``var/demo/`` (``$PACKLINE_HOME``): the broker's
CA and accounts, the cloud database with the demo catalog and opening stock, demo web
users, the station enrolled and seeded with the same catalog and stock, both shops added,
authorised and mapped, their first stock push confirmed. Later runs reuse it; delete
``var/demo/`` to start over. Quitting the kiosk stops every process it started (SIGTERM
by PID). ``--no-kiosk`` runs the rest until Ctrl-C (for a browser-only look and the test).
"""

from __future__ import annotations

import contextlib
import ctypes
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import click

from provisioning.core import read_env_file

STATION: Final = "st1"
"""The demo station's id (provisioning ids are lower case)."""
WAREHOUSE: Final = "WH1"
"""The demo warehouse (the demo catalog's opening stock is there)."""
DEMO_SEED: Final = 7
"""Seed of the demo catalog: the cloud's and the station's ``seed-demo`` must agree (the
opening moves have the same ids on both, so sync applies them once)."""
MOSQUITTO: Final = "/usr/sbin/mosquitto"
"""Debian's broker binary."""
DEFAULT_PORTS: Final = {"web": 8000, "pdd": 8700, "taobao": 8701, "broker": 18883,
                        "broker_cloud": 18893}
"""Ports tried first on the first run (another free port is chosen when one is taken)."""
ORDERS_PER_HOUR: Final = 30
"""New orders per hour on each fake shop (one every two minutes: something happens while
you look, and the kiosk's queue does not run away from one packer)."""
HISTORY_HOURS: Final = 1
"""Hours of order history each fake starts with (those orders await shipment: about 30 a
shop to pack at once; the worker's first pass reads them in seconds)."""
WORKER_INTERVAL_S: Final = 5
"""Seconds between the worker's passes."""
FAKE_SKUS: Final = 12
"""Listings each fake shop sells (``GeneratorSettings.skus``)."""
GIFTS: Final = {"pdd": ("100099999", "1000099999"), "taobao": ("600000099999", "5000000099999")}
"""Each fake's gift (赠品 钥匙扣): no listing, so mapped without stock push."""
SHOPS: Final = {
    "pdd": ("拼多多旗舰店", "demo_client_id", "demo_secret", ""),
    "taobao": ("淘宝专营店", "12345678", "helloworld", "/router/rest"),
}
"""Per platform: shop name, the fake's app key and secret, and the gateway path."""
USERS: Final = (("admin", "admin", "管理员"), ("manager", "manager", "店长"),
                ("lead", "warehouse_lead", "仓库组长"), ("buyer", "purchaser", "采购"),
                ("finance", "finance", "财务"), ("packer", "packer", "打包员"))
"""Demo web users: login, role, display name."""
DEMO_PASSWORD: Final = "packline-demo"  # noqa: S105 - the documented demo password
"""Every demo user's password (printed at start; a demo only)."""
READY_TIMEOUT_S: Final = 30.0
"""Longest wait for a started process to accept connections."""
STOP_TIMEOUT_S: Final = 10.0
"""Wait after SIGTERM before SIGKILL."""
PR_SET_PDEATHSIG: Final = 1
"""prctl option: a signal for the child when its parent dies."""


class DemoError(Exception):
    """A step failed; the message says which and what it printed."""


def say(message: str) -> None:
    """A progress line on stderr (bold, as the ``packline`` script's)."""
    click.echo(click.style(f"==> {message}", bold=True), err=True)


def _die_with_parent() -> None:
    """In a child before exec: SIGTERM when this process dies, so nothing outlives it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def port_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:``port`` and it can be bound (as the servers
    bind it: SO_REUSEADDR, so a connection of a last run in TIME_WAIT does not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_ports(preferred: dict[str, int]) -> dict[str, int]:
    """The preferred port of each role when free, else a free one the kernel picks."""
    chosen: dict[str, int] = {}
    for role, port in preferred.items():
        if not port_free(port) or port in chosen.values():
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
        chosen[role] = port
    return chosen


def wait_listening(port: int, proc: subprocess.Popen[bytes], name: str, log: Path,
                   timeout: float = READY_TIMEOUT_S) -> None:
    """Wait until ``proc`` accepts TCP connections on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise DemoError(f"{name} 启动失败 / exited at start (code {proc.returncode}):\n"
                            f"{tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        if time.monotonic() > deadline:
            raise DemoError(f"{name} 未在 {timeout:.0f} 秒内就绪 / not listening on port {port} "
                            f"after {timeout:.0f} s:\n{tail(log)}")
        time.sleep(0.1)


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file (for error messages)."""
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Layout:
    """Where the demo keeps its files (all under ``home``)."""

    home: Path
    """``var/demo`` or ``$PACKLINE_HOME``."""

    @property
    def state(self) -> Path:
        """The demo's own record: ports, shops, whether set-up finished."""
        return self.home / "demo.json"

    @property
    def provision(self) -> Path:
        """Provisioning state: CA, registry, station files, cloud.env."""
        return self.home / "provision"

    @property
    def broker(self) -> Path:
        """mosquitto.conf, passwd, acl, certificates, persistence."""
        return self.home / "broker"

    @property
    def cloud(self) -> Path:
        """The cloud's data dir (cloud.db, secret.key)."""
        return self.home / "cloud"

    @property
    def station(self) -> Path:
        """The station's data dir (edge.db, its key, the captured print jobs)."""
        return self.home / "station"

    @property
    def logs(self) -> Path:
        """One log file per process."""
        return self.home / "logs"

    @property
    def station_files(self) -> Path:
        """The station's enrolment files (station.env, ca.crt)."""
        return self.provision / "stations" / STATION


@dataclass
class Demo:
    """The demo system: set-up, its processes and stopping them."""

    layout: Layout
    """Its files."""
    lang: str = "zh"
    """Language of the kiosk and the messages."""
    python: str = sys.executable
    """The interpreter that runs every Packline command."""
    ports: dict[str, int] = field(default_factory=dict)
    """Port per role (web, pdd, taobao, broker, broker_cloud)."""
    procs: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    """Started processes, in start order."""
    shops: dict[str, str] = field(default_factory=dict)
    """Shop id per platform."""

    # ------------------------------------------------------------------ environments

    def cloud_env(self) -> dict[str, str]:
        """Environment of every cloud process: data dir, language, broker account."""
        env = {**os.environ, "PACKLINE_CLOUD_DATA_DIR": str(self.layout.cloud),
               "PACKLINE_LANG": self.lang, "PYTHONUNBUFFERED": "1"}
        env.pop("PACKLINE_CLOUD_DATABASE_URL", None)
        cloud_env = self.layout.provision / "cloud.env"
        if cloud_env.exists():
            env.update(read_env_file(cloud_env))
        return env

    def station_env(self) -> dict[str, str]:
        """Environment of the station's processes: its station.env, data in ``station/``."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.update(read_env_file(self.layout.station_files / "station.env"))
        env["PACKLINE_HOME"] = str(self.layout.station)
        return env

    @property
    def cloud_db_url(self) -> str:
        """The demo's cloud database (SQLite, zero set-up)."""
        return f"sqlite:///{self.layout.cloud / 'cloud.db'}"

    # --------------------------------------------------------------------- commands

    def run(self, what: str, argv: Sequence[str], env: dict[str, str]) -> str:
        """Run one set-up command; its output, or :class:`DemoError` with it."""
        done = subprocess.run(list(argv), env=env, capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise DemoError(f"{what} 失败 / failed: {' '.join(argv[1:4])} …\n"
                            f"{(done.stdout + done.stderr).strip()[-2000:]}")
        return done.stdout

    def cloud(self, what: str, *args: str) -> str:
        """``packline-cloud ARGS`` on the demo's database."""
        return self.run(what, [self.python, "-m", "cloud", *args], self.cloud_env())

    def edge(self, what: str, *args: str) -> str:
        """``packline-edge ARGS`` on the station's database."""
        return self.run(what, [self.python, "-m", "edge", *args], self.station_env())

    def provisioning(self, what: str, *args: str) -> str:
        """``packline-provision --state provision/ ARGS``."""
        return self.run(what, [self.python, "-m", "provisioning", "--state",
                               str(self.layout.provision), *args], self.cloud_env())

    def start(self, name: str, argv: Sequence[str], env: dict[str, str],
              port: int | None = None) -> subprocess.Popen[bytes]:
        """Start a long-running process, its output to ``logs/NAME.log``; wait for its port."""
        self.layout.logs.mkdir(parents=True, exist_ok=True)
        log_path = self.layout.logs / f"{name}.log"
        with log_path.open("ab") as log:
            proc = subprocess.Popen(list(argv), env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    preexec_fn=_die_with_parent)
        self.procs.append((name, proc))
        if port is not None:
            wait_listening(port, proc, name, log_path)
        return proc

    def stop_all(self) -> None:
        """SIGTERM every started process by PID (newest first); SIGKILL what lingers."""
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()

    def check_alive(self) -> list[str]:
        """Names of started processes that have exited."""
        return [name for name, proc in self.procs if proc.poll() is not None]

    # ------------------------------------------------------------------------ set-up

    def load_state(self) -> dict[str, Any]:
        """The record of an earlier run, or an empty one."""
        if self.layout.state.exists():
            data: dict[str, Any] = json.loads(self.layout.state.read_text())
            return data
        return {}

    def save_state(self, **values: object) -> None:
        """Update the record (ports first, so a half-finished set-up keeps them)."""
        data = {**self.load_state(), **values}
        self.layout.home.mkdir(parents=True, exist_ok=True)
        self.layout.state.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    def prepare(self) -> None:
        """Set everything up on the first run; on later runs check the ports are free."""
        state = self.load_state()
        if state.get("ready"):
            self.ports = {str(k): int(v) for k, v in state["ports"].items()}
            self.shops = {str(k): str(v) for k, v in state["shops"].items()}
            busy = [f"{role} {port}" for role, port in self.ports.items() if not port_free(port)]
            if busy:
                raise DemoError("端口被占用 / ports in use: " + ", ".join(busy) +
                                " — 另一个演示在运行? 请先退出它, 或删除 var/demo 重新开始 / is "
                                "another demo running? quit it, or delete var/demo to start over")
            return
        if state:
            say("上次的准备没有完成, 重新开始 / the last set-up did not finish; starting over")
        self._clear_partial()
        self.ports = choose_ports(DEFAULT_PORTS)
        self.save_state(ports=self.ports, ready=False)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("消息服务器 / broker: CA, accounts, TLS", self._setup_broker),
            ("云端数据库与演示商品 / cloud database, demo catalog and opening stock",
             self._setup_cloud),
            ("登记工作站 / enrol station st1 (broker account, station database)",
             self._setup_station),
            ("网页用户 / web users", self._setup_users),
        ]
        for n, (title, step) in enumerate(steps, start=1):
            say(f"[{n}/{len(steps) + 1}] {title}")
            step()
        say(f"[{len(steps) + 1}/{len(steps) + 1}] 店铺: 添加, 授权, 关联商品, 确认首次推送 / "
            "shops: add, authorise, map listings, confirm the first push")
        self._start_fakes()
        try:
            self._setup_shops()
        finally:
            self.stop_all()
        self.save_state(shops=self.shops, ready=True)

    def _clear_partial(self) -> None:
        """Remove what a failed set-up left (only the demo's own sub-directories)."""
        for sub in (self.layout.provision, self.layout.broker, self.layout.cloud,
                    self.layout.station, self.layout.logs):
            shutil.rmtree(sub, ignore_errors=True)
        self.layout.state.unlink(missing_ok=True)

    def _setup_broker(self) -> None:
        user = "root" if os.geteuid() == 0 else getpass.getuser()
        self.provisioning("provisioning init", "init")
        self.provisioning(
            "broker-config", "broker-config", "--out", str(self.layout.broker),
            "--port", str(self.ports["broker"]), "--cloud-port", str(self.ports["broker_cloud"]),
            "--bind", "127.0.0.1", "--hostname", "127.0.0.1", "--hostname", "localhost",
            "--run-as-user", user, "--autosave-interval", "10")

    def _setup_cloud(self) -> None:
        self.layout.cloud.mkdir(parents=True, exist_ok=True)
        self.cloud("init-db", "init-db")
        # seed-demo also registers the station in the cloud (pending until it first reports),
        # so the enrolment below does not (it would refuse the station as already registered)
        self.cloud("seed-demo", "seed-demo", "--seed", str(DEMO_SEED), "--station", STATION,
                   "--warehouse", WAREHOUSE)

    def _setup_users(self) -> None:
        for login, role, name in USERS:
            self.cloud(f"user add {login}", "user", "add", login, "--role", role, "--name", name,
                       "--password", DEMO_PASSWORD)

    def _setup_station(self) -> None:
        self.provisioning(
            "enrol", "enrol", STATION, "--warehouse", WAREHOUSE, "--broker-host", "127.0.0.1",
            "--broker-port", str(self.ports["broker"]), "--config-dir",
            str(self.layout.station_files))
        self.layout.station.mkdir(parents=True, exist_ok=True)
        db = str(self.layout.station / "edge.db")
        self.edge("station init", "--db", db, "init", "--station", STATION, "--warehouse",
                  WAREHOUSE)
        self.edge("station seed-demo", "--db", db, "seed-demo", "--seed", str(DEMO_SEED),
                  "--orders", "0")

    def _start_fakes(self) -> None:
        env = self.cloud_env()
        for seed, platform in enumerate(("pdd", "taobao"), start=1):
            self.start(f"fake-{platform}", [
                self.python, "-m", "cloud", "fake-platform", platform, "--port",
                str(self.ports[platform]), "--seed", str(seed), "--history-hours",
                str(HISTORY_HOURS), "--orders-per-hour", str(ORDERS_PER_HOUR),
                "--outer-ids", ",".join(mapped_skus())], env,
                port=self.ports[platform])

    def authorize(self, shop_id: str, platform: str) -> None:
        """``shop authorize`` as a merchant does it: the command prints the fake's consent
        page and listens for the redirect; the demo presses 同意授权 on that page for the
        merchant (over HTTP), the fake redirects to the command's callback with a one-use
        code, and the command exchanges it."""
        import httpx

        proc = subprocess.Popen([self.python, "-m", "cloud", "shop", "authorize", shop_id,
                                 "--wait", str(READY_TIMEOUT_S)], env=self.cloud_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                stdin=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{self.ports[platform]}"
        lines: list[str] = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                lines.append(line)
                if line.startswith(base):
                    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(line.strip()).query))
                    httpx.post(f"{base}/oauth/authorize", data=query, follow_redirects=True,
                               timeout=READY_TIMEOUT_S)
                    break
            out, _ = proc.communicate(timeout=READY_TIMEOUT_S)
            lines.append(out)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            raise DemoError(f"shop authorize {shop_id} 失败 / failed:\n{''.join(lines)[-2000:]}")

    def _setup_shops(self) -> None:
        skus = mapped_skus()
        for platform, (name, key, secret, _path) in SHOPS.items():
            out = self.cloud(f"shop add {platform}", "--lang", "en", "shop", "add", "--platform",
                             platform, "--name", name, "--app-key", key, "--app-secret", secret,
                             "--gateway", f"http://127.0.0.1:{self.ports[platform]}",
                             "--warehouse", WAREHOUSE)
            shop_id = out.split("added shop ", 1)[1].split(";", 1)[0].strip() \
                if "added shop " in out else f"{platform}1"
            self.shops[platform] = shop_id
            # the fake's listings carry the demo's SKU codes as 商家编码: one download maps them
            # (reading the listings needs the merchant's authorisation)
            self.authorize(shop_id, platform)
            out = self.cloud(f"shop listings {shop_id}", "--lang", "en", "shop", "listings",
                             shop_id)
            if f"matched {len(skus)}" not in out and f"{len(skus)} matched" not in out:
                raise DemoError(f"shop listings {shop_id}: not every listing matched:\n{out}")
            gift_item, gift_sku = GIFTS[platform]
            self.cloud(f"map add {shop_id} gift", "map", "add", shop_id, "--item", gift_item,
                       "--sku-id", gift_sku, "--sku", gift_sku_code(), "--no-push")
            self.cloud(f"confirm-push {shop_id}", "shop", "confirm-push", shop_id, "--trust")

    # ------------------------------------------------------------------------ running

    def start_services(self) -> None:
        """Start the broker, the fakes, the cloud and the station's sync daemon."""
        say("启动 / starting: mosquitto, 模拟拼多多/淘宝 fake PDD/Taobao, cloud ingest, worker, "
            "web, station sync")
        if not Path(MOSQUITTO).exists():
            raise DemoError(f"{MOSQUITTO} 不存在 / is missing: apt-get install mosquitto")
        self.start("mosquitto", [MOSQUITTO, "-c", str(self.layout.broker / "mosquitto.conf")],
                   dict(os.environ), port=self.ports["broker"])
        self._start_fakes()
        # a fake keeps its tokens in memory: a restarted one has forgotten the last run's
        # authorisation, so each start authorises again (the fake approves any code)
        for platform, shop_id in self.shops.items():
            self.authorize(shop_id, platform)
        env = self.cloud_env()
        self.start("ingest", [self.python, "-m", "cloud", "ingest"], env)
        self.start("worker", [self.python, "-m", "cloud", "worker", "--interval",
                              str(WORKER_INTERVAL_S)], env)
        self.start("web", [self.python, "-m", "cloud", "serve", "--host", "127.0.0.1", "--port",
                           str(self.ports["web"])], env, port=self.ports["web"])
        self.start("station-sync", [self.python, "-m", "edge", "sync"], self.station_env())
        time.sleep(1.0)
        dead = self.check_alive()
        if dead:
            raise DemoError(f"{', '.join(dead)} 退出了 / exited:\n" + "\n".join(
                tail(self.layout.logs / f"{name}.log") for name in dead))

    def banner(self, *, kiosk: bool = True) -> str:
        """What the newcomer reads first: the web address, the logins, where things are
        (``kiosk=False``: no kiosk in this terminal, Ctrl-C stops everything)."""
        web = f"http://127.0.0.1:{self.ports['web']}/"
        users = "\n".join(f"    {login:<8} {role:<15} {name}" for login, role, name in USERS)
        barcodes = "\n".join(f"    {code}  {sku:<12} {name}" for code, sku, name in
                             barcode_sheet())
        where = ("下面的终端界面, 扫描枪 = 键盘 (输入条码回车)\n"
                 "                            the kiosk below; the keyboard is the scanner "
                 "(type, then Enter)" if kiosk else
                 "未启动终端界面 (--no-kiosk); 同步服务在运行\n"
                 "                            no kiosk here (--no-kiosk); its sync daemon runs")
        stop = ("退出工作站即停止全部 / quitting the kiosk stops everything" if kiosk else
                "Ctrl-C 停止全部 / Ctrl-C stops everything")
        return f"""
Packline 演示 / demo — 整个系统在本机运行 / the whole system on this machine

  网页管理后台 / web app:   {web}
  登录 / logins (密码 password: {DEMO_PASSWORD}):
{users}
  模拟平台 / fake shops:    拼多多 http://127.0.0.1:{self.ports['pdd']}  淘宝 http://127.0.0.1:{self.ports['taobao']}
                            每店每小时约 {ORDERS_PER_HOUR} 个新订单 / ~{ORDERS_PER_HOUR} new orders an hour each
  工作站 / station {STATION}:     {where}
                            工牌 / badges: BADGE-P01 打包员 packer, BADGE-L01 组长 lead
                            F5 = 把包裹放上模拟秤 / put the parcel on the simulated scale
  商品条码 / item barcodes (扫商品即打开等待它的订单 / scanning one opens an order waiting for it):
{barcodes}
  日志 / logs:              {self.layout.logs}/
  {stop}. 重新开始 / start over: rm -rf {self.layout.home}
"""

    def run_kiosk(self, extra: Sequence[str]) -> int:
        """The kiosk in this terminal (foreground) until the packer quits it."""
        kiosk = subprocess.run([self.python, "-m", "edge", "kiosk", "--fake-hardware", "--lang",
                                self.lang, *extra], env=self.station_env(), check=False)
        return kiosk.returncode


def demo_catalog() -> list[str]:
    """The demo catalog's SKU codes (the same generator the cloud's and the station's
    ``seed-demo`` use), in catalog order."""
    from edge.domain.demo import generate

    return [str(row["sku"]) for row in generate(DEMO_SEED, orders=0,
                                                 warehouse_id=WAREHOUSE).skus]


def mapped_skus() -> list[str]:
    """The demo SKUs the fake shops' 12 listings sell: the best stocked SKU of each of 12
    products spread over the catalog (different goods, not sizes of one; with stock, so
    most orders reach the kiosk rather than waiting out of stock)."""
    from edge.domain.demo import generate

    data = generate(DEMO_SEED, orders=0, warehouse_id=WAREHOUSE)
    stock: dict[str, int] = {}
    for sku, _location, qty in data.stock:
        stock[sku] = stock.get(sku, 0) + qty
    codes = [str(row["sku"]) for row in data.skus]
    step = max(1, len(codes) // FAKE_SKUS)
    return [max(codes[n * step:(n + 1) * step], key=lambda c: (stock.get(c, 0), c))
            for n in range(FAKE_SKUS)]


def barcode_sheet() -> list[tuple[str, str, str]]:
    """(barcode, SKU, name) of the goods the fake shops sell: what a newcomer types at the
    kiosk (scanning an item starts the oldest order waiting for it)."""
    from edge.domain.demo import generate

    rows = {str(r["sku"]): r for r in generate(DEMO_SEED, orders=0, warehouse_id=WAREHOUSE).skus}
    sheet = []
    for sku in mapped_skus():
        codes = [str(code) for code, units in rows[sku]["barcodes"] if units == 1]
        sheet.append((codes[0], sku, str(rows[sku]["name_zh"])))
    return sheet


def gift_sku_code() -> str:
    """The demo SKU that stands for the fakes' gift (the last one of the catalog)."""
    return demo_catalog()[-1]


@contextlib.contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Ctrl-C while the kiosk runs belongs to the kiosk, not to this supervisor."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _terminate(_sig: int, _frame: object) -> None:
    """SIGTERM to the supervisor: leave through ``finally``, which stops every process."""
    raise SystemExit(0)


def wait_for_signal(demo: Demo, out: IO[str]) -> None:
    """``--no-kiosk``: run until SIGINT/SIGTERM, or until a process dies."""
    stop = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop:
        dead = demo.check_alive()
        if dead:
            out.write(f"{', '.join(dead)} 退出了 / exited; stopping\n")
            return
        time.sleep(0.5)


@click.command(context_settings={"help_option_names": ["-h", "--help"],
                                 "ignore_unknown_options": True})
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="演示数据目录 / demo data (default: $PACKLINE_HOME or var/demo).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="界面语言 / language.")
@click.option("--no-kiosk", is_flag=True,
              help="不启动工作站界面, 运行到 Ctrl-C / no kiosk: run until Ctrl-C.")
@click.option("--setup-only", is_flag=True, help="只做准备 / set up, start nothing.")
@click.argument("kiosk_args", nargs=-1, type=click.UNPROCESSED)
def main(home: Path | None, lang: str, no_kiosk: bool, setup_only: bool,
         kiosk_args: tuple[str, ...]) -> None:
    """整个系统的演示 / the whole-system demo (see the module docstring)."""
    home = home or Path(os.environ.get("PACKLINE_HOME") or "var/demo")
    signal.signal(signal.SIGTERM, _terminate)
    demo = Demo(Layout(home.resolve()), lang=lang)
    try:
        demo.prepare()
        if setup_only:
            say("准备完成 / set up")
            return
        demo.start_services()
        click.echo(demo.banner(kiosk=not no_kiosk))
        if no_kiosk:
            wait_for_signal(demo, sys.stdout)
            return
        if sys.stdin.isatty():
            click.prompt("按回车启动打包工作站 / press Enter to start the kiosk", default="",
                         show_default=False, prompt_suffix="")
        with interrupts_ignored():
            code = demo.run_kiosk(kiosk_args)
        if code:
            raise DemoError(f"工作站退出码 {code} / the kiosk exited with code {code}: "
                            f"{demo.layout.logs}")
    except DemoError as err:
        click.echo(click.style(f"演示失败 / demo failed: {err}", fg="red"), err=True)
        sys.exit(1)
    finally:
        if demo.procs:
            say("停止全部 / stopping everything")
            demo.stop_all()


if __name__ == "__main__":
    main()
