"""The walking path, the pick list and short orders of a wave, hand-computed."""

from __future__ import annotations

from edge.domain.waves import PickLine, pick_list, short_orders, split_location, walk


def test_location_codes_split_into_zone_aisle_bay_level() -> None:
    assert split_location("A-03-12-2") == ("A", 3, 12, 2)
    assert split_location("B-01-02") == ("B", 1, 2, 0)
    assert split_location("B-01") == ("B", 1, 0, 0)
    assert split_location("DAMAGED") == ("DAMAGED", 0, 0, 0)
    assert split_location("A-x-1") is None
    assert split_location("A-1-2-3-4") is None


def test_serpentine_walk() -> None:
    codes = ["B-01-02", "A-02-01", "A-01-05", "A-03-02", "A-02-03", "A-01-01", "A-03-01",
             "A-01-01-2", "A-02-03-1", "odd/place"]
    # zone A: aisle 1 bays up (01 level 0, 01 level 2, 05); aisle 2 bays down (03 levels 0
    # then 1, then 01); aisle 3 bays up (01, 02); zone B; the code that does not split last
    assert walk(codes) == ["A-01-01", "A-01-01-2", "A-01-05", "A-02-03", "A-02-03-1",
                           "A-02-01", "A-03-01", "A-03-02", "B-01-02", "odd/place"]


def test_pick_list_takes_stock_in_walking_order_and_sums_per_sku() -> None:
    need = {"CUP": 7, "BAG": 2, "PEN": 1, "INK": 3}
    stock = {
        "CUP": [("A-02-05", 4), ("A-02-01", 10), ("A-01-09", 0)],  # walk: A-02-05, A-02-01
        "BAG": [("A-01-03", 1)],  # only 1: the other unit is added there (short to come)
        "PEN": [("B-01-01", 5)],
        "INK": [],  # held nowhere: its default location
    }
    lines = pick_list(need, stock, {"INK": "C-01-01"})
    assert lines == [PickLine("A-01-03", "BAG", 2), PickLine("A-02-05", "CUP", 4),
                     PickLine("A-02-01", "CUP", 3), PickLine("B-01-01", "PEN", 1),
                     PickLine("C-01-01", "INK", 3)]
    assert pick_list({"INK": 1}, {}) == [PickLine("-", "INK", 1)]


def test_short_orders_in_slot_order() -> None:
    orders = [("o1", {"CUP": 2}), ("o2", {"CUP": 1, "BAG": 1}), ("o3", {"CUP": 1}),
              ("o4", {"BAG": 1})]
    # 3 cups, 1 bag picked: o1 takes 2 cups, o2 takes 1 cup and the bag, o3 finds no cup,
    # o4 no bag
    assert short_orders(orders, {"CUP": 3, "BAG": 1}) == ["o3", "o4"]
    # 2 cups: o1 takes both; o2 and o3 short; o4 takes the bag
    assert short_orders(orders, {"CUP": 2, "BAG": 1}) == ["o2", "o3"]
    assert short_orders(orders, {"CUP": 4, "BAG": 2}) == []
