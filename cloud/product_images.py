"""商品图片: one image per SKU, uploaded in the web app, kept as a file in the cloud's data
dir (``images/``), named by its content's SHA-256 so a re-upload of the same picture is the
same file, and named in ``skus.image_path``. Only JPEG, PNG and WebP that Pillow can decode
are taken, at most 2 MB and 6,000 px a side (a decompression bomb is refused, never
decoded); anything else is reported and nothing is written. The change is audited
(``product.image``: old → new)."""

from __future__ import annotations

import hashlib
import io
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from cloud import audit
from cloud.db.schema import skus
from cloud.errors import InputError, Problem

MAX_IMAGE_BYTES: Final = 2 * 1024 * 1024
"""Largest upload taken (2 MB: a product photo for a list, not a print master)."""
MAX_SIDE_PX: Final = 6000
"""Largest width or height taken."""
MEDIA_TYPES: Final = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"),
                      "WEBP": ("webp", "image/webp")}
"""Formats taken: Pillow's format name → (file suffix, media type)."""
IMAGE_DIR: Final = "images"
"""Where the files live, inside the cloud's data dir; ``image_path`` is relative to it."""
STORED_NAME: Final = re.compile(r"images/[0-9a-f]{64}\.(jpg|png|webp)")
"""The only ``image_path`` values served (nothing else on disk can be named)."""


def check(data: bytes) -> str:
    """The suffix of an acceptable image, or :class:`InputError` saying why not."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InputError([Problem("image", "请选择图片文件", "choose an image file")])
    if len(data) > MAX_IMAGE_BYTES:
        raise InputError([Problem("image", "图片不能超过 2 MB", "the image is over 2 MB")])
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (w, h) = img.format or "", img.size
            if fmt not in MEDIA_TYPES:
                raise InputError([Problem("image", "只接受 JPEG、PNG 或 WebP 图片",
                                          "only JPEG, PNG or WebP images")])
            if max(w, h) > MAX_SIDE_PX:
                raise InputError([Problem("image", f"图片边长不能超过 {MAX_SIDE_PX} 像素",
                                          f"at most {MAX_SIDE_PX} pixels a side")])
            img.verify()
    except InputError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InputError([Problem("image", "不是可用的图片文件", "not a usable image file")]) from None
    return MEDIA_TYPES[fmt][0]


def save(conn: Connection, sku: str, data: bytes, *, data_dir: Path, actor: str,
         now: datetime) -> str:
    """Store the SKU's image and name it in ``skus``; returns the new ``image_path``. The
    file is written (atomically) before the row changes, so a failed transaction leaves at
    most an unused file, never a row naming a missing one."""
    old = conn.execute(sa.select(skus.c.image_path).where(skus.c.sku == sku)).first()
    if old is None:
        raise InputError([Problem("", "没有这个商品", "no such product")])
    suffix = check(data)
    name = f"{IMAGE_DIR}/{hashlib.sha256(data).hexdigest()}.{suffix}"
    target = data_dir / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    conn.execute(sa.update(skus).where(skus.c.sku == sku).values(image_path=name))
    audit.record(conn, now, actor, "product.image", sku, {"from": old.image_path, "to": name})
    return name


def _stored_file(conn: Connection, sku: str, data_dir: Path) -> tuple[Path, str] | None:
    """The SKU's image file and its stored name, or None (no image, or a path not written
    here — the demo catalog names files that do not exist)."""
    path = conn.execute(sa.select(skus.c.image_path).where(skus.c.sku == sku)).scalar()
    if not path or not STORED_NAME.fullmatch(path):
        return None
    file = data_dir / path
    return (file, path) if file.is_file() else None


def exists(conn: Connection, sku: str, *, data_dir: Path) -> bool:
    """Whether the SKU has an image stored here (without reading it)."""
    return _stored_file(conn, sku, data_dir) is not None


def load(conn: Connection, sku: str, *, data_dir: Path) -> tuple[bytes, str] | None:
    """The SKU's stored image and its media type, or None (see ``_stored_file``)."""
    found = _stored_file(conn, sku, data_dir)
    if found is None:
        return None
    file, path = found
    media = {s: m for s, m in MEDIA_TYPES.values()}[path.rsplit(".", 1)[1]]
    return file.read_bytes(), media
