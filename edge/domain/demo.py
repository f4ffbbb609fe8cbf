"""Demo data: a realistic small Chinese e-commerce seller, generated from a seed.

Pure and deterministic (``random.Random(seed)``, a fixed clock): the same seed gives the same
catalog, stock, operators and orders. The CLI's ``seed-demo`` and the kiosk demo load it into
a station store; tests use it as a larger catalog.

    data = generate(seed=7, orders=300)
    data.skus        # store rows for Writer.upsert_skus (with "barcodes": [(code, units)])
    data.orders      # DemoOrder(order=..., receiver=..., lines=[...])
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.domain.barcodes import with_check_digit

DEMO_NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
"""The demo's "now": orders were placed in the two days before it."""


@dataclass(frozen=True, slots=True)
class DemoOperator:
    """A demo staff member; the PIN is plain here and hashed when seeded."""

    operator_id: str
    name: str
    role: str
    badge: str
    pin: str


@dataclass(frozen=True, slots=True)
class DemoOrder:
    """An order to pack: the ``orders`` row (without receiver columns), receiver and lines."""

    order: dict[str, Any]
    """``orders`` columns except ``receiver_masked`` / ``receiver_sealed``."""
    receiver: dict[str, str]
    """Full receiver: name, phone, province, city, district, address (see ``edge.domain.pii``)."""
    lines: list[dict[str, Any]]
    """``order_lines`` rows: line_no, sku, qty."""


@dataclass(slots=True)
class DemoData:
    """Everything ``seed-demo`` writes."""

    seed: int
    warehouse: dict[str, Any]
    locations: list[dict[str, Any]] = field(default_factory=list)
    skus: list[dict[str, Any]] = field(default_factory=list)
    operators: list[DemoOperator] = field(default_factory=list)
    stock: list[tuple[str, str, int]] = field(default_factory=list)
    """Opening stock: (sku, location, qty)."""
    orders: list[DemoOrder] = field(default_factory=list)


# name_zh, name_en, variant kind, weight g (lo, hi), size mm (l, w, h), cost yuan (lo, hi)
_Product = tuple[str, str, str, tuple[int, int], tuple[int, int, int], tuple[float, float]]

_CATEGORIES: dict[str, tuple[str, str, str, list[_Product]]] = {
    # prefix: (zone, 中文, English, products)
    "JJ": ("A", "家居日用", "Home", [
        ("纯棉毛巾", "Cotton towel", "颜色", (90, 130), (340, 740, 5), (4.5, 9.0)),
        ("加厚浴巾", "Thick bath towel", "颜色", (380, 520), (700, 1400, 8), (18.0, 32.0)),
        ("硅藻泥地垫", "Diatomite bath mat", "尺寸", (900, 1400), (600, 390, 9), (15.0, 28.0)),
        ("收纳盒", "Storage box", "尺寸", (250, 700), (300, 200, 150), (6.0, 16.0)),
        ("衣架(10只装)", "Hangers (10 pack)", "颜色", (300, 450), (420, 200, 30), (5.0, 9.5)),
        ("抽纸(6包)", "Facial tissue (6 packs)", "规格", (820, 980), (190, 135, 320), (9.0, 14.0)),
        ("洗衣凝珠", "Laundry pods", "容量", (400, 900), (150, 90, 180), (12.0, 26.0)),
        ("香薰蜡烛", "Scented candle", "香型", (180, 260), (80, 80, 95), (8.0, 18.0)),
        ("晾衣夹(20个)", "Clothes pegs (20)", "颜色", (150, 220), (200, 120, 60), (4.0, 8.0)),
        ("真空压缩袋", "Vacuum storage bags", "规格", (300, 600), (300, 200, 30), (9.0, 19.0)),
        ("平板拖把", "Flat mop", "规格", (700, 1100), (450, 130, 90), (25.0, 45.0)),
        ("置物架", "Shelf rack", "尺寸", (1200, 2600), (500, 300, 80), (22.0, 48.0)),
        ("靠枕", "Cushion", "颜色", (350, 500), (450, 450, 120), (12.0, 22.0)),
    ]),
    "CF": ("B", "厨房", "Kitchen", [
        ("不锈钢保温杯", "Steel vacuum cup", "容量", (280, 420), (75, 75, 230), (18.0, 35.0)),
        ("硅胶锅铲", "Silicone spatula", "颜色", (80, 130), (320, 70, 20), (4.0, 8.0)),
        ("陶瓷饭碗(4只)", "Ceramic bowls (4)", "花色", (900, 1300), (250, 130, 130), (15.0, 28.0)),
        ("保鲜盒套装", "Food container set", "规格", (500, 950), (260, 190, 120), (16.0, 30.0)),
        ("砧板", "Chopping board", "尺寸", (600, 1500), (400, 280, 20), (12.0, 30.0)),
        ("玻璃油壶", "Glass oil bottle", "容量", (300, 480), (80, 80, 260), (7.0, 14.0)),
        ("厨房剪刀", "Kitchen scissors", "颜色", (90, 140), (220, 90, 15), (5.0, 11.0)),
        ("不粘炒锅", "Non-stick wok", "尺寸", (1300, 1900), (480, 320, 110), (45.0, 85.0)),
        ("马克杯", "Mug", "颜色", (280, 360), (120, 90, 100), (6.0, 12.0)),
        ("合金筷子(10双)", "Alloy chopsticks (10 pairs)", "花色", (200, 260), (260, 60, 30), (8.0, 15.0)),
        ("玻璃密封罐", "Glass storage jar", "容量", (350, 700), (100, 100, 160), (6.0, 13.0)),
    ]),
    "FS": ("C", "服饰", "Clothing", [
        ("纯棉短袖T恤", "Cotton T-shirt", "颜色尺码", (150, 230), (300, 250, 20), (12.0, 25.0)),
        ("运动袜(5双)", "Sports socks (5 pairs)", "颜色尺码", (160, 220), (200, 150, 40), (8.0, 15.0)),
        ("加绒卫衣", "Fleece hoodie", "颜色尺码", (480, 650), (350, 300, 60), (35.0, 60.0)),
        ("棒球帽", "Baseball cap", "颜色", (90, 130), (260, 190, 120), (9.0, 18.0)),
        ("针织围巾", "Knitted scarf", "颜色", (140, 220), (300, 200, 40), (12.0, 22.0)),
        ("冰丝防晒袖套", "Cooling arm sleeves", "颜色", (30, 45), (150, 100, 10), (2.5, 6.0)),
        ("居家拖鞋", "Home slippers", "颜色尺码", (260, 380), (300, 120, 80), (8.0, 16.0)),
        ("帆布包", "Canvas tote", "颜色", (180, 260), (380, 330, 20), (9.0, 18.0)),
        ("纯棉内裤(3条)", "Cotton briefs (3)", "颜色尺码", (120, 160), (200, 160, 30), (15.0, 28.0)),
    ]),
    "SM": ("D", "数码配件", "Electronics accessories", [
        ("Type-C数据线", "USB-C cable", "长度", (40, 70), (150, 100, 20), (3.5, 9.0)),
        ("20W快充头", "20W charger", "颜色", (45, 60), (90, 60, 40), (11.0, 22.0)),
        ("手机壳", "Phone case", "型号", (30, 45), (180, 100, 20), (3.0, 8.0)),
        ("钢化膜(2片)", "Tempered glass (2)", "型号", (40, 60), (200, 110, 10), (2.0, 5.0)),
        ("蓝牙耳机", "Bluetooth earbuds", "颜色", (80, 110), (110, 90, 45), (35.0, 75.0)),
        ("充电宝10000mAh", "Power bank 10000mAh", "颜色", (210, 250), (150, 75, 25), (38.0, 58.0)),
        ("无线鼠标", "Wireless mouse", "颜色", (70, 95), (110, 65, 40), (12.0, 25.0)),
        ("笔记本支架", "Laptop stand", "颜色", (500, 800), (280, 230, 40), (25.0, 45.0)),
        ("USB集线器", "USB hub", "规格", (60, 110), (110, 35, 15), (15.0, 35.0)),
        ("手机支架", "Phone holder", "颜色", (90, 160), (120, 80, 30), (5.0, 12.0)),
    ]),
    "LS": ("E", "零食", "Snacks", [
        ("每日坚果(30包)", "Daily nuts (30 packs)", "规格", (780, 820), (300, 220, 110), (38.0, 55.0)),
        ("麻辣牛肉干", "Spicy beef jerky", "口味", (230, 260), (220, 160, 40), (18.0, 30.0)),
        ("手撕面包", "Hand-torn bread", "口味", (1000, 1100), (320, 230, 120), (14.0, 22.0)),
        ("螺蛳粉(3袋)", "Luosifen (3 bags)", "口味", (960, 1020), (250, 200, 100), (15.0, 24.0)),
        ("海苔脆片", "Seaweed crisps", "口味", (120, 160), (200, 150, 50), (6.0, 12.0)),
        ("冻干草莓", "Freeze-dried strawberries", "规格", (60, 120), (200, 140, 60), (9.0, 18.0)),
        ("辣条大礼包", "Spicy strips gift pack", "规格", (500, 900), (300, 200, 80), (12.0, 25.0)),
        ("挂耳咖啡(10包)", "Drip coffee (10 bags)", "口味", (110, 130), (180, 120, 60), (15.0, 30.0)),
        ("牛奶燕麦片", "Milk oat cereal", "口味", (480, 520), (250, 180, 70), (10.0, 18.0)),
    ]),
}

_VARIANTS: dict[str, list[tuple[str, str]]] = {
    # kind: [(spec text, sku suffix)]
    "颜色": [("颜色:白色", "WH"), ("颜色:灰色", "GY"), ("颜色:蓝色", "BL"), ("颜色:粉色", "PK")],
    "尺寸": [("尺寸:小号", "S"), ("尺寸:中号", "M"), ("尺寸:大号", "L")],
    "规格": [("规格:标准装", "STD"), ("规格:家庭装", "FAM")],
    "容量": [("容量:350ml", "350"), ("容量:500ml", "500"), ("容量:750ml", "750")],
    "香型": [("香型:白茶", "TEA"), ("香型:雪松", "CED"), ("香型:柑橘", "CIT")],
    "花色": [("花色:青花", "QH"), ("花色:纯白", "WH")],
    "颜色尺码": [(f"颜色:{c};尺码:{s}", f"{cc}-{s}")
                 for c, cc in (("黑色", "BK"), ("白色", "WH"), ("藏青", "NV"))
                 for s in ("M", "L", "XL")],
    "长度": [("长度:1m", "1M"), ("长度:2m", "2M")],
    "型号": [("型号:iPhone 15", "IP15"), ("型号:iPhone 16", "IP16"), ("型号:华为 Mate 60", "M60"),
             ("型号:小米 14", "MI14")],
    "口味": [("口味:原味", "OR"), ("口味:麻辣", "SP"), ("口味:五香", "WX")],
}

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉晨宇浩然欣怡子涵梓轩一诺思雨佳琪雪梅建国志强海燕晓东"
_REGIONS = [
    ("浙江省", "杭州市", "余杭区"), ("浙江省", "杭州市", "西湖区"), ("浙江省", "宁波市", "鄞州区"),
    ("浙江省", "金华市", "义乌市"), ("江苏省", "南京市", "鼓楼区"), ("江苏省", "苏州市", "工业园区"),
    ("上海市", "上海市", "浦东新区"), ("上海市", "上海市", "闵行区"), ("北京市", "北京市", "朝阳区"),
    ("北京市", "北京市", "海淀区"), ("广东省", "广州市", "天河区"), ("广东省", "深圳市", "南山区"),
    ("广东省", "东莞市", "南城街道"), ("四川省", "成都市", "武侯区"), ("湖北省", "武汉市", "洪山区"),
    ("湖南省", "长沙市", "岳麓区"), ("山东省", "青岛市", "黄岛区"), ("河南省", "郑州市", "金水区"),
    ("福建省", "厦门市", "思明区"), ("陕西省", "西安市", "雁塔区"), ("重庆市", "重庆市", "渝北区"),
    ("安徽省", "合肥市", "蜀山区"), ("辽宁省", "沈阳市", "浑南区"), ("云南省", "昆明市", "五华区"),
]
_STREETS = ["文一西路", "人民路", "解放路", "中山路", "建设路", "学府路", "科技大道", "长江路",
            "滨江大道", "幸福路", "和平路", "青年路", "新华路", "光明路", "东风路"]
_ESTATES = ["阳光小区", "锦绣花园", "翠苑一区", "金地广场", "万科城", "碧桂园", "绿城桂花园",
            "世纪华庭", "东方名都", "滨江公寓"]
_NOTES = ["请尽快发货，谢谢", "不要放发票", "送人的，请不要放价格单", "周末不在家，请放快递柜",
          "颜色别发错了", "帮忙多包一层气泡膜", "放菜鸟驿站就行"]
_SHOPS = {
    "pdd": [("pdd-1001", "拼多多·好物优选店")],
    "taobao": [("tb-2001", "淘宝·居家小铺"), ("tb-2002", "天猫·数码配件旗舰店")],
    "jd": [("jd-3001", "京东·厨房生活专营店")],
}
_CARRIERS = {
    # platform: [(carrier code, 中文名)]
    "pdd": [("ZTO", "中通快递"), ("YTO", "圆通速递"), ("YUNDA", "韵达快递"), ("JT", "极兔速递")],
    "taobao": [("ZTO", "中通快递"), ("YTO", "圆通速递"), ("YUNDA", "韵达快递"), ("STO", "申通快递")],
    "jd": [("JD", "京东快递")],
}
_SENDER = {"name": "好物仓", "phone": "0571-88886666",
           "address": "浙江省杭州市余杭区仓前街道良睦路 1399 号 3 号库"}
INTERCEPT_REASONS = ("退款", "改地址", "取消")
"""Why the demo's intercepted orders were stopped."""


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def waybill_number(rng: random.Random, carrier: str) -> str:
    """A waybill number in the carrier's usual shape (not a real one)."""
    if carrier == "ZTO":
        return "7" + rng.choice("3578") + _digits(rng, 10)  # 12 digits starting 7
    if carrier == "YTO":
        return "YT" + rng.choice("2345678") + _digits(rng, 12)  # YT + 13 digits
    if carrier == "YUNDA":
        return rng.choice(("43", "46", "31")) + _digits(rng, 11)  # 13 digits
    if carrier == "JT":
        return "JT" + rng.choice("0345") + _digits(rng, 12)  # JT + 13 digits
    if carrier == "STO":
        return "77" + _digits(rng, 13)  # 15 digits starting 77
    if carrier == "JD":
        return "JDV" + rng.choice("0123") + _digits(rng, 11)  # JDV + 12 digits
    raise ValueError(f"unknown carrier {carrier}")


def platform_order_no(rng: random.Random, platform: str, at: datetime) -> str:
    """PDD ``yymmdd-`` + 15 digits, Taobao 19 digits, JD 12 digits."""
    if platform == "pdd":
        return at.strftime("%y%m%d") + "-" + _digits(rng, 15)
    if platform == "taobao":
        return rng.choice("1234") + _digits(rng, 18)
    return rng.choice("23") + _digits(rng, 11)


def _receiver(rng: random.Random) -> dict[str, str]:
    province, city, district = rng.choice(_REGIONS)
    given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.7 else "")
    return {
        "name": rng.choice(_SURNAMES) + given,
        "phone": "1" + rng.choice("3456789") + _digits(rng, 9),
        "province": province, "city": city, "district": district,
        "address": f"{rng.choice(_STREETS)}{rng.randint(1, 999)}号{rng.choice(_ESTATES)}"
                   f"{rng.randint(1, 30)}幢{rng.randint(1, 3)}单元{rng.randint(1, 33)}0{rng.randint(1, 4)}室",
    }


def generate(
    seed: int = 7,
    *,
    orders: int = 300,
    warehouse_id: str = "WH1",
    warehouse_name: str = "杭州主仓",
    now: datetime = DEMO_NOW,
) -> DemoData:
    """Generate a demo seller: ~200 SKUs, bins, operators, opening stock and ``orders`` orders."""
    rng = random.Random(seed)
    data = DemoData(seed=seed, warehouse={"warehouse_id": warehouse_id, "name": warehouse_name,
                                          "policy": "refuse"})
    # Locations: zone A..E per category, 4 aisles x 6 levels.
    for prefix, (zone, cat_zh, _cat_en, _products) in _CATEGORIES.items():
        del prefix
        for aisle in range(1, 5):
            for level in range(1, 7):
                code = f"{zone}-{aisle:02d}-{level:02d}"
                data.locations.append({"code": code, "warehouse_id": warehouse_id, "zone": zone,
                                       "bin": f"{aisle:02d}-{level:02d}", "name": f"{cat_zh}{code}"})
    # Where damaged returns go (退货入库: edge.store.returns.DAMAGE_ZONE).
    data.locations.append({"code": "DMG-01", "warehouse_id": warehouse_id, "zone": "DMG",
                           "bin": "01", "name": "残次品区"})
    # SKUs
    company = {prefix: 1000 + 137 * i for i, prefix in enumerate(_CATEGORIES)}
    item_no = 0
    for prefix, (zone, _cat_zh, _cat_en, products) in _CATEGORIES.items():
        bins = [loc["code"] for loc in data.locations if loc["zone"] == zone]
        for p_index, (name_zh, name_en, kind, (w_lo, w_hi), (ln, wd, ht), (c_lo, c_hi)) in enumerate(
            products, start=1
        ):
            base_cost = rng.uniform(c_lo, c_hi)
            weight = rng.randint(w_lo, w_hi)
            for v_index, (spec, suffix) in enumerate(_VARIANTS[kind], start=1):
                item_no += 1
                sku = f"{prefix}{p_index:03d}-{suffix}"
                ean = with_check_digit(f"69{(item_no % 3) + 2}{company[prefix]:04d}{item_no:05d}")
                barcodes: list[tuple[str, int]] = [(ean, 1)]
                if rng.random() < 0.25:
                    barcodes.append((with_check_digit("1" + ean[:12]), rng.choice((6, 12, 24))))
                cost_fen = int(round(base_cost * (1 + 0.05 * (v_index - 1)), 1) * 100)
                data.skus.append({
                    "sku": sku, "name_zh": f"{name_zh} {spec.split(':', 1)[1].split(';')[0]}",
                    "name_en": name_en, "spec": spec,
                    "unit_weight_g": weight + rng.randint(-5, 5) if weight > 20 else weight,
                    "length_mm": ln, "width_mm": wd, "height_mm": ht, "cost_fen": cost_fen,
                    "image_path": f"images/{sku}.jpg",
                    "default_location": bins[(p_index * 7 + v_index) % len(bins)],
                    "barcodes": barcodes,
                })
    # Operators
    staff = [("P01", "王芳", "packer"), ("P02", "李娜", "packer"), ("P03", "张伟", "packer"),
             ("L01", "陈强", "warehouse_lead"), ("M01", "刘敏", "manager")]
    for n, (op_id, name, role) in enumerate(staff, start=1):
        data.operators.append(DemoOperator(op_id, name, role, badge=f"BADGE-{op_id}",
                                           pin=f"{n}{n}{n}{n}"))
    # Opening stock: most SKUs well stocked, a few nearly out.
    for row in data.skus:
        qty = rng.randint(1, 5) if rng.random() < 0.08 else rng.randint(30, 400)
        data.stock.append((row["sku"], row["default_location"], qty))
    # Orders
    weights = {row["sku"]: row["unit_weight_g"] for row in data.skus}
    sku_codes = [row["sku"] for row in data.skus]
    popular = rng.sample(sku_codes, 40)
    used_waybills: set[str] = set()
    for n in range(orders):
        platform = rng.choices(("pdd", "taobao", "jd"), weights=(5, 3, 2))[0]
        shop_id, shop_name = rng.choice(_SHOPS[platform])
        carrier, carrier_name = rng.choice(_CARRIERS[platform])
        at = now - timedelta(seconds=rng.randint(600, 2 * 86400))
        waybill = waybill_number(rng, carrier)
        while waybill in used_waybills:
            waybill = waybill_number(rng, carrier)
        used_waybills.add(waybill)
        if rng.random() < 0.6:
            picks = [rng.choice(popular if rng.random() < 0.7 else sku_codes)]
        else:
            picks = rng.sample(sku_codes, rng.choices((2, 3, 4), weights=(6, 3, 1))[0])
        lines = [
            {"line_no": i, "sku": s, "qty": rng.choice((1, 1, 1, 1, 1, 2, 2, 3)) if rng.random() < 0.4 else 1}
            for i, s in enumerate(picks, start=1)
        ]
        item_g = sum(weights[ln["sku"]] * ln["qty"] for ln in lines)
        packaging = 25 if item_g < 300 else (60 if item_g < 1000 else 120)
        receiver = _receiver(rng)
        intercepted = rng.random() < 0.04
        order_id = f"DEMO-{seed}-{n + 1:05d}"
        order = {
            "order_id": order_id, "platform": platform, "shop_id": shop_id,
            "platform_order_no": platform_order_no(rng, platform, at),
            "status": "intercepted" if intercepted else "waiting",
            "intercept_reason": rng.choice(INTERCEPT_REASONS) if intercepted else None,
            "waybill_no": waybill, "carrier": carrier,
            "print_data": {
                "carrier": carrier, "carrier_name": carrier_name, "waybill_no": waybill,
                "shop_name": shop_name, "sender": dict(_SENDER),
                "sort_code": f"{receiver['province'][:1]}-{receiver['city'][:-1]} {rng.randint(100, 899)}",
                "items": [f"{ln['sku']}×{ln['qty']}" for ln in lines],
            },
            "buyer_note": rng.choice(_NOTES) if rng.random() < 0.12 else None,
            "packaging_weight_g": packaging,
            "ordered_at": at.isoformat(),
        }
        data.orders.append(DemoOrder(order=order, receiver=receiver, lines=lines))
    return data


def opening_move_id(seed: int, warehouse_id: str, sku: str, location: str) -> str:
    """A stable id for a demo opening-stock move, so a station and the cloud seeded from the
    same demo data record the same move (and sync applies it once)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"packline-demo:{seed}:{warehouse_id}:{sku}:{location}"))
