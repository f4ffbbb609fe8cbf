"""``packline-edge kiosk``: start the packing-station UI."""

from __future__ import annotations

from pathlib import Path

import click

from edge.errors import ConfigError


def _zone(value: str) -> str:
    """An IANA zone name, or a one-line usage error."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise click.BadParameter(f"未知时区 / unknown time zone {value!r}") from err
    return value


@click.command("kiosk")
@click.option("--fake-hardware", is_flag=True,
              help="模拟设备 / simulated devices: pty scale, socket printers, scriptable scanner.")
@click.option("--scanner", "scanner_url", metavar="URL", default=None,
              help="扫描枪 / scanner besides the keyboard, e.g. evdev:///dev/input/by-id/…")
@click.option("--scale", "scale_url", metavar="URL", default=None,
              help="电子秤 / scale, e.g. serial:///dev/ttyUSB0?baud=9600&protocol=yaohua")
@click.option("--label-printer", "label_printer_url", metavar="URL", default=None,
              help="面单打印机 / label printer, e.g. tspl+net://10.0.0.9:9100")
@click.option("--slip-printer", "slip_printer_url", metavar="URL", default=None,
              help="小票打印机 / receipt printer, e.g. escpos+usb://04b8:0202")
@click.option("--print-component", "print_component_url", metavar="URL", default=None,
              help="打印组件 / a Cainiao-protocol print component, e.g. ws://10.0.0.5:13528")
@click.option("--component-carriers", metavar="CODES", default="",
              help="用打印组件打印这些快递的面单 / carriers whose waybills print through the "
                   "component, e.g. ZTO,YTO or * (others: TSPL on the label printer)")
@click.option("--component-printer", metavar="NAME", default="",
              help="打印组件中的打印机 / the component's printer (default: its default).")
@click.option("--custom-area-template", metavar="URL", default="",
              help="自定义区模板 / the custom-area template URL sent with each waybill.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="界面语言 / language (switchable in the app).")
@click.option("--packaging-g", type=click.IntRange(0), default=30, show_default=True,
              help="包装重量 / packaging weight added to the expected weight (g).")
@click.option("--tolerance-g", type=click.IntRange(0), default=50, show_default=True,
              help="重量允差 / weight tolerance, grams part.")
@click.option("--tolerance-pct", type=click.FloatRange(0), default=5.0, show_default=True,
              help="重量允差 / weight tolerance, percent part (the larger applies).")
@click.option("--no-weigh", is_flag=True, help="不称重直接打印 / print without weighing.")
@click.option("--print-slip", is_flag=True, help="同时打印装箱单 / also print a packing slip.")
@click.option("--timezone", envvar="PACKLINE_TIMEZONE", default="Asia/Shanghai", show_default=True,
              callback=lambda _c, _p, v: _zone(v),
              help="时区 / IANA zone for printed and shown times.")
@click.pass_context
def kiosk(
    ctx: click.Context, fake_hardware: bool, scanner_url: str | None, scale_url: str | None,
    label_printer_url: str | None, slip_printer_url: str | None,
    print_component_url: str | None, component_carriers: str, component_printer: str,
    custom_area_template: str, lang: str, packaging_g: int,
    tolerance_g: int, tolerance_pct: float, no_weigh: bool, print_slip: bool, timezone: str,
) -> None:
    """启动打包工作站界面 / start the kiosk."""
    from edge.ui.app import make_app
    from edge.ui.services import KioskSettings

    db_path: Path = (ctx.obj or {}).get("db_path") or Path("edge.db")
    if not db_path.exists():
        raise ConfigError(
            f"数据库不存在 / no station database at {db_path} "
            "(先运行 / run first: python -m edge --db … seed-demo)")
    settings = KioskSettings(
        db_path=db_path, lang=lang, packaging_g=packaging_g, tolerance_g=tolerance_g,
        tolerance_pct=tolerance_pct, require_weigh=not no_weigh, print_slip=print_slip,
        scanner_url=scanner_url, scale_url=scale_url, label_printer_url=label_printer_url,
        slip_printer_url=slip_printer_url, fake_hardware=fake_hardware, timezone=timezone,
        print_component_url=print_component_url, component_printer=component_printer,
        component_carriers=frozenset(c.strip().upper() for c in component_carriers.split(",")
                                     if c.strip()),
        custom_area_template=custom_area_template,
    )
    app = make_app(settings)
    try:
        app.run()
    finally:
        app.services.close()
