from typing import Any

from fastapi import APIRouter, HTTPException
from sqlalchemy import select

from app.api.deps import CurrentUser, SessionDep
from app.models import Address, Product

router = APIRouter(tags=["catalogue"])


@router.get("/products/{product_id}")
def read_product(product_id: int, session: SessionDep, current_user: CurrentUser) -> Any:
    product = session.get(Product, product_id)
    if product is None:
        raise HTTPException(status_code=404)
    return product


@router.get("/products")
def search_products(q: str, session: SessionDep) -> Any:
    return session.scalars(select(Product).where(Product.title.ilike(f"%{q}%"))).all()


@router.get("/addresses/{address_id}")
def read_address(address_id: int, session: SessionDep, current_user: CurrentUser) -> Any:
    address = session.scalars(
        select(Address).filter_by(id=address_id, user_id=current_user.id)
    ).first()
    if address is None:
        raise HTTPException(status_code=404)
    return address


@router.delete("/addresses/{address_id}")
async def delete_address(address_id: int, session: SessionDep, user: CurrentUser) -> None:
    address = session.get(Address, address_id)  # expect: BOLA002
    if address is None:
        raise HTTPException(status_code=404)
    session.delete(address)
    session.commit()


@router.get("/public/addresses/{address_id}")
def shared_address(address_id: int, session: SessionDep) -> Any:
    # Anonymous endpoint used by couriers with a signed link; no user context here.
    return session.get(Address, address_id)
