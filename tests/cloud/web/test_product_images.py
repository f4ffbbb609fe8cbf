"""商品图片: an editor uploads a picture for a SKU and it is served on the product's page;
a file that is not an image, an image of another kind, one too large or a decompression
bomb is reported next to the field and nothing changes; a reader may see it, not replace it."""

from __future__ import annotations

import io

import httpx
import sqlalchemy as sa
from PIL import Image
from sqlalchemy.engine import Engine

from cloud.db.schema import audit_log, skus
from edge.domain.models import Role
from tests.cloud.web.support import csrf_of, field_errors, login, signed_in, username


def picture(fmt: str, size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt)
    return out.getvalue()


async def upload(client: httpx.AsyncClient, csrf: str, data: bytes,
                 name: str = "a.png") -> httpx.Response:
    return await client.post("/products/image/SKU-1", data={"csrf_token": csrf},
                             files={"image": (name, data, "application/octet-stream")})


async def test_upload_serve_and_refuse(client: httpx.AsyncClient, cloud_engine: Engine) -> None:
    await signed_in(client, cloud_engine, Role.PURCHASER)
    page = (await client.get("/products/sku/SKU-1")).text
    assert 'id="no-image"' in page and 'id="image-form"' in page
    placeholder = await client.get("/products/image/SKU-1")
    assert placeholder.headers["content-type"] == "image/svg+xml"
    csrf = csrf_of(page)
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    bomb = picture("PNG", (6001, 10))
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024)
    for bad in (b"", b"not an image at all", gif.getvalue(), bomb, big,
                picture("PNG")[:60]):  # truncated
        r = await upload(client, csrf, bad)
        assert r.status_code == 400 and "image" in field_errors(r.text), bad[:20]
    with cloud_engine.connect() as conn:
        assert conn.execute(sa.select(skus.c.image_path).where(skus.c.sku == "SKU-1")
                            ).scalar() is None
    png = picture("PNG")
    assert (await upload(client, csrf, png)).status_code == 303
    r = await client.get("/products/image/SKU-1")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content == png
    assert 'id="product-image-img"' in (await client.get("/products/sku/SKU-1")).text
    jpeg = picture("JPEG")
    assert (await upload(client, csrf, jpeg, "b.jpg")).status_code == 303
    r = await client.get("/products/image/SKU-1")
    assert r.headers["content-type"] == "image/jpeg" and r.content == jpeg
    with cloud_engine.connect() as conn:
        changes = conn.execute(sa.select(audit_log.c.detail).where(
            audit_log.c.action == "product.image").order_by(audit_log.c.id)).scalars().all()
    assert [c["from"] is None for c in changes] == [True, False]
    assert changes[1]["from"] == changes[0]["to"] and changes[1]["to"].endswith(".jpg")
    # a finance user sees the picture but may not replace it
    client.cookies.clear()
    await login(client, username(Role.FINANCE))
    page = (await client.get("/products/sku/SKU-1")).text
    assert 'id="product-image-img"' in page and 'id="image-form"' not in page
    assert (await client.get("/products/image/SKU-1")).status_code == 200
    assert (await upload(client, csrf_of(page), png)).status_code == 403
